"""JSON shapes of projects, deployments and build logs, field for field as the real API returns them.

Field names, their order and their null-or-empty conventions follow bodies captured from the API. A Direct
Upload deployment has no `source` key and an all-null `build_config`. `aliases` is null rather than `[]`
when a deployment has no alias. Timestamps are formatted by `format_timestamp`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Final

from sandbox.cloudflare_pages.model import (
    DeploymentRecord,
    DeploymentState,
    ProjectRecord,
    StageView,
    format_timestamp,
)

COMPATIBILITY_DATE: Final = "2024-09-23"

# The log lines each stage writes, in order, for a Git build. Cloudflare's real logs are longer; these keep
# their first and last lines so a reader recognises the stage.
_STAGE_LOG_LINES: Final[dict[str, tuple[str, ...]]] = {
    "initialize": (
        "Initializing build environment...",
        "Success: Finished initializing build environment",
    ),
    "clone_repo": (
        "Cloning repository...",
        "HEAD is now at {short_hash} {subject}",
        "Success: Finished cloning repository files",
    ),
    "build": (
        "Installing project dependencies: npm clean-install --progress=false",
        "Executing user command: npm run build",
        "Finished",
    ),
    "deploy": (
        "Validating asset output directory",
        "Deploying your site to Cloudflare's global network...",
        "Success: Your site was deployed!",
    ),
}
_FAILURE_LINES: Final[dict[str, str]] = {
    "initialize": "Failed: an internal error occurred while initializing the build environment",
    "clone_repo": "Failed: unable to clone repository; check that the branch still exists",
    "build": "Failed: Error while executing user command. Exited with error code: 1",
    "deploy": "Failed: error occurred while deploying your site",
}


def _timestamp(moment: datetime | None) -> str | None:
    return None if moment is None else format_timestamp(moment)


def stage_json(stage: StageView) -> dict[str, Any]:
    return {
        "name": stage.name,
        "started_on": _timestamp(stage.started_on),
        "ended_on": _timestamp(stage.ended_on),
        "status": stage.status,
    }


def source_json(project: ProjectRecord) -> dict[str, Any] | None:
    if project.source_type is None:
        return None
    return {
        "type": project.source_type,
        "config": {
            "owner": project.repo_owner,
            "repo_name": project.repo_name,
            "production_branch": project.production_branch,
            "pr_comments_enabled": True,
            "deployments_enabled": True,
            "production_deployments_enabled": True,
            "preview_deployment_setting": "all",
            "preview_branch_includes": ["*"],
            "preview_branch_excludes": [],
            "path_includes": ["*"],
            "path_excludes": [],
        },
    }


def build_config_json(project: ProjectRecord) -> dict[str, Any]:
    if project.direct_upload:
        return {
            "build_command": None,
            "destination_dir": None,
            "root_dir": None,
            "web_analytics_tag": None,
            "web_analytics_token": None,
        }
    return {
        "build_caching": True,
        "build_command": "npm run build",
        "destination_dir": "dist",
        "root_dir": "",
        "web_analytics_tag": None,
        "web_analytics_token": None,
    }


def _env_vars(project: ProjectRecord, environment: str) -> dict[str, Any]:
    if project.direct_upload:
        return {}
    return {
        "NODE_VERSION": {"type": "plain_text", "value": "20"},
        "SITE_ENV": {"type": "plain_text", "value": environment},
    }


def deployment_configs_json(project: ProjectRecord) -> dict[str, Any]:
    return {
        environment: {
            "env_vars": _env_vars(project, environment),
            "compatibility_date": COMPATIBILITY_DATE,
            "compatibility_flags": [],
            "fail_open": True,
            "always_use_latest_compatibility_date": False,
            "usage_model": "standard",
        }
        for environment in ("preview", "production")
    }


def deployment_json(
    project: ProjectRecord,
    deployment: DeploymentRecord,
    state: DeploymentState,
    aliases: list[str] | None,
) -> dict[str, Any]:
    """Render one deployment. `aliases` is None when the deployment has none, as the API sends it."""
    body: dict[str, Any] = {
        "id": deployment.id,
        "short_id": deployment.short_id,
        "project_id": project.id,
        "project_name": project.name,
        "environment": deployment.environment,
        "url": f"https://{deployment.short_id}.{project.subdomain}",
        "created_on": format_timestamp(deployment.created_on),
        "modified_on": format_timestamp(state.modified_on),
        "latest_stage": stage_json(state.latest),
        "deployment_trigger": {
            "type": deployment.trigger_type,
            "metadata": {
                "branch": deployment.branch,
                "commit_hash": deployment.commit_hash,
                "commit_message": deployment.commit_message,
                "commit_dirty": deployment.commit_dirty,
            },
        },
        "stages": [stage_json(stage) for stage in state.stages],
        "build_config": build_config_json(project),
    }
    source = source_json(project)
    if source is not None:
        body["source"] = source
    body.update(
        {
            "env_vars": _env_vars(project, deployment.environment),
            "compatibility_date": COMPATIBILITY_DATE,
            "compatibility_flags": [],
            "build_image_major_version": 1 if project.direct_upload else 2,
            "usage_model": None if project.direct_upload else "standard",
            "aliases": aliases,
            "is_skipped": deployment.is_skipped,
            "skip_reason": deployment.skip_reason,
            "production_branch": project.production_branch,
        }
    )
    return body


def project_json(
    project: ProjectRecord,
    *,
    latest: dict[str, Any] | None,
    canonical: dict[str, Any] | None,
) -> dict[str, Any]:
    return {
        "name": project.name,
        "id": project.id,
        "created_on": format_timestamp(project.created_on),
        "subdomain": project.subdomain,
        "domains": list(project.domains),
        "production_branch": project.production_branch,
        "source": source_json(project),
        "build_config": build_config_json(project),
        "deployment_configs": deployment_configs_json(project),
        "latest_deployment": latest,
        "canonical_deployment": canonical,
    }


def logs_json(deployment: DeploymentRecord, state: DeploymentState, now: datetime) -> dict[str, Any]:
    """Render the build log up to `now`: a few lines per stage that has started, spread over the stage.

    A Direct Upload runs no build, so its log is empty; so is the log of a skipped build.
    """
    lines: list[dict[str, str]] = []
    if not deployment.direct_upload and not deployment.is_skipped:
        for index, stage in enumerate(state.stages):
            if stage.started_on is None or stage.name not in _STAGE_LOG_LINES:
                continue
            subject = deployment.commit_message.split("\n")[0]
            texts = [
                text.format(short_hash=deployment.commit_hash[:7], subject=subject)
                for text in _STAGE_LOG_LINES[stage.name]
            ]
            if stage.status in ("failure", "canceled"):
                texts[-1] = _FAILURE_LINES[stage.name] if stage.status == "failure" else "Build canceled"
            start = stage.started_on
            step = deployment.durations[index] / len(texts)
            for position, text in enumerate(texts):
                moment = start + timedelta(seconds=step * position)
                if moment <= now:
                    lines.append({"ts": format_timestamp(moment), "line": text})
    return {"total": len(lines), "includes_container_logs": True, "data": lines}
