"""Unit tests for pages_ops.status.document: the JSON keys of a project page."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from pages_ops.models import Deployment, DeploymentPage, Project
from pages_ops.status.document import dumps, error_document, project_document
from pages_ops.status.mount import Links
from pages_ops.status.service import ProjectView

NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)


def deployment(deployment_id: str, *, status: str = "success", message: str = "Release") -> dict[str, object]:
    return {
        "id": deployment_id,
        "short_id": deployment_id[:8],
        "environment": "production",
        "url": f"https://{deployment_id[:8]}.docs.pages.dev",
        "created_on": "2024-05-01T09:00:00.123456Z",
        "latest_stage": {"name": "deploy" if status == "success" else "build", "status": status},
        "aliases": None,
        "deployment_trigger": {
            "type": "github:push",
            "metadata": {"branch": "main", "commit_hash": "a" * 40, "commit_message": message},
        },
        "is_skipped": False,
    }


LIVE = deployment("aaaaaaaa-1111-4111-8111-111111111111")
FAILED = deployment("bbbbbbbb-2222-4222-8222-222222222222", status="failure", message="</script><b>x</b> & y")


def view(*, has_next: bool) -> ProjectView:
    target = Project.from_api(
        {
            "name": "docs",
            "subdomain": "docs.pages.dev",
            "domains": ["docs.example.com"],
            "production_branch": "main",
            "source": {"type": "github"},
            "created_on": "2023-01-01T00:00:00Z",
            "canonical_deployment": LIVE,
            "latest_deployment": FAILED,
        }
    )
    listing = DeploymentPage(
        deployments=(Deployment.from_api(FAILED), Deployment.from_api(LIVE)),
        page=2,
        per_page=25,
        total_count=52 if has_next else 27,
        total_pages=3 if has_next else 2,
    )
    return ProjectView(
        project=target,
        deployments=listing,
        fetched_at=NOW - timedelta(seconds=12),
        age=12.4,
        stale=False,
        versions=(1, 2),
    )


def test_project_document_keys() -> None:
    document = project_document(view(has_next=True), links=Links("/status"), cache_seconds=30)
    assert set(document) == {
        "project",
        "live_deployment",
        "latest_deployment",
        "latest_is_live",
        "deployments",
        "links",
        "data",
    }
    assert document["project"] == {
        "name": "docs",
        "subdomain": "docs.pages.dev",
        "domains": ["docs.example.com"],
        "production_branch": "main",
        "source_type": "github",
        "created_on": "2023-01-01T00:00:00Z",
    }
    assert document["latest_is_live"] is False
    assert document["live_deployment"]["id"] == LIVE["id"]
    assert document["latest_deployment"]["status"] == "failure"
    assert document["latest_deployment"]["stage"] == {"name": "build", "status": "failure"}
    assert document["deployments"]["page"] == 2
    assert document["deployments"]["next_page"] == 3
    assert document["deployments"]["total_count"] == 52
    assert [item["id"] for item in document["deployments"]["items"]] == [FAILED["id"], LIVE["id"]]
    assert document["links"] == {
        "html": "/status/projects/docs?page=2",
        "badge": "/status/projects/docs/badge.svg",
        "next": "/status/api/projects/docs?page=3",
    }
    assert document["data"] == {
        "fetched_at": "2024-05-01T11:59:48Z",
        "age_seconds": 12,
        "stale": False,
        "cache_seconds": 30,
    }


def test_deployment_document_keys() -> None:
    document = project_document(view(has_next=False), links=Links(""), cache_seconds=30)
    item = document["live_deployment"]
    assert item == {
        "id": LIVE["id"],
        "short_id": "aaaaaaaa",
        "environment": "production",
        "status": "success",
        "stage": {"name": "deploy", "status": "success"},
        "url": "https://aaaaaaaa.docs.pages.dev",
        "aliases": [],
        "branch": "main",
        "commit_hash": "a" * 40,
        "commit_message": "Release",
        "trigger_type": "github:push",
        "created_on": "2024-05-01T09:00:00Z",
        "is_skipped": False,
        "skip_reason": None,
    }
    assert document["deployments"]["next_page"] is None
    assert document["links"]["next"] is None


def test_dumps_escapes_markup_characters() -> None:
    document = project_document(view(has_next=False), links=Links(""), cache_seconds=30)
    text = dumps(document)
    assert "<" not in text
    assert ">" not in text
    assert "&" not in text
    assert json.loads(text)["latest_deployment"]["commit_message"] == "</script><b>x</b> & y"


def test_error_document() -> None:
    assert json.loads(dumps(error_document(404, "Not found"))) == {
        "error": {"status": 404, "message": "Not found"}
    }
