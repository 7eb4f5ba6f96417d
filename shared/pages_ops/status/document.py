"""The JSON form of a project page (`GET /api/projects/{name}`), with stable keys.

Values are the API's own, unshortened (consumers must treat commit messages, branch names and URLs as
untrusted text, as the HTML page does). Timestamps are RFC 3339 UTC strings; absent values are null.

    {
      "project": {"name", "subdomain", "domains": [...], "production_branch", "source_type", "created_on"},
      "live_deployment": <deployment> | null,      # the live production deployment
      "latest_deployment": <deployment> | null,    # the newest deployment of any environment
      "latest_is_live": bool,
      "deployments": {"page", "per_page", "total_count", "total_pages", "next_page", "items": [<deployment>]},
      "links": {"html", "badge", "next"},          # paths under the page's mount prefix; next may be null
      "data": {"fetched_at", "age_seconds", "stale", "cache_seconds"}
    }
    <deployment> = {"id", "short_id", "environment", "status", "stage": {"name", "status"} | null, "url",
                    "aliases": [...], "branch", "commit_hash", "commit_message", "trigger_type", "created_on",
                    "is_skipped", "skip_reason"}

`status` is one of success, failure, canceled, skipped, building, queued, unknown. Errors are
`{"error": {"status": int, "message": str}}`.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Final

from pages_ops.models import Deployment, Project
from pages_ops.status.display import utc_iso
from pages_ops.status.mount import Links
from pages_ops.status.service import ProjectView

# Escaping these keeps the document inert even if some consumer pastes it into HTML.
_HTML_SENSITIVE: Final = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026"})


def project_document(view: ProjectView, *, links: Links, cache_seconds: int) -> dict[str, Any]:
    """Build the JSON document of one project page."""
    project = view.project
    live = project.canonical_deployment
    latest = project.latest_deployment
    listing = view.deployments
    next_page = listing.page + 1 if listing.has_next else None
    return {
        "project": _project(project),
        "live_deployment": deployment_document(live) if live is not None else None,
        "latest_deployment": deployment_document(latest) if latest is not None else None,
        "latest_is_live": latest is not None and live is not None and latest.id == live.id,
        "deployments": {
            "page": listing.page,
            "per_page": listing.per_page,
            "total_count": listing.total_count,
            "total_pages": listing.total_pages,
            "next_page": next_page,
            "items": [deployment_document(item) for item in listing.deployments],
        },
        "links": {
            "html": links.project(project.name, listing.page),
            "badge": links.badge(project.name),
            "next": f"{links.api(project.name)}?page={next_page}" if next_page is not None else None,
        },
        "data": {
            "fetched_at": utc_iso(view.fetched_at),
            "age_seconds": round(view.age),
            "stale": view.stale,
            "cache_seconds": cache_seconds,
        },
    }


def deployment_document(deployment: Deployment) -> dict[str, Any]:
    stage = deployment.latest_stage
    return {
        "id": deployment.id,
        "short_id": deployment.short_id,
        "environment": deployment.environment,
        "status": deployment.status,
        "stage": {"name": stage.name, "status": stage.status} if stage is not None else None,
        "url": deployment.url,
        "aliases": list(deployment.aliases),
        "branch": deployment.branch,
        "commit_hash": deployment.commit_hash,
        "commit_message": deployment.commit_message,
        "trigger_type": deployment.trigger_type,
        "created_on": _timestamp(deployment.created_on),
        "is_skipped": deployment.is_skipped,
        "skip_reason": deployment.skip_reason,
    }


def error_document(status: int, message: str) -> dict[str, Any]:
    return {"error": {"status": status, "message": message}}


def dumps(document: dict[str, Any]) -> str:
    """Serialize compactly as UTF-8 JSON text with `<`, `>` and `&` escaped."""
    text = json.dumps(document, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return text.translate(_HTML_SENSITIVE)


def _project(project: Project) -> dict[str, Any]:
    return {
        "name": project.name,
        "subdomain": project.subdomain,
        "domains": list(project.domains),
        "production_branch": project.production_branch,
        "source_type": project.source_type,
        "created_on": _timestamp(project.created_on),
    }


def _timestamp(value: datetime | None) -> str | None:
    return utc_iso(value) if value is not None else None
