"""The Cloudflare Pages stand-in over real HTTP on 127.0.0.1: each rule it promises, as a client sees it."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import pytest
import requests

from sandbox.cloudflare_pages import (
    SANDBOX_ACCOUNT_ID,
    SANDBOX_API_KEY,
    SANDBOX_API_TOKEN,
    SANDBOX_EMAIL,
    PagesSandbox,
)
from tests.integration.sandbox_fixtures import (
    BEARER,
    GLOBAL_KEY,
    START,
    TIMEOUT,
    FakeClock,
    PagesHttp,
    load_fixture,
)

pytestmark = pytest.mark.integration

REPO_ROOT = Path(__file__).resolve().parents[2]
MISSING_AUTH_BODY = {
    "success": False,
    "errors": [{"code": 9106, "message": "Missing X-Auth-Key, X-Auth-Email or Authorization headers"}],
}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def stand_in(clock: FakeClock) -> Iterator[PagesSandbox]:
    with PagesSandbox(clock=clock, stage_seconds=2.0) as sandbox:
        yield sandbox


@pytest.fixture
def api(stand_in: PagesSandbox) -> Iterator[PagesHttp]:
    http = PagesHttp(stand_in)
    yield http
    http.close()


@pytest.fixture
def docs(stand_in: PagesSandbox) -> PagesSandbox:
    """The sandbox with a Git project `docs` holding one live production deployment."""
    stand_in.store.add_project("docs", subdomain="docs-4kd.pages.dev", created_on=START - timedelta(days=30))
    stand_in.store.add_deployment(
        "docs",
        branch="main",
        commit_hash="a" * 40,
        commit_message="Initial site",
        created_on=START - timedelta(days=2),
    )
    return stand_in


def add(sandbox: PagesSandbox, hours_ago: float, branch: str = "main", **options: Any) -> str:
    """Add a deployment to `docs` created `hours_ago` before START and return its id."""
    created = sandbox.store.add_deployment(
        "docs", branch=branch, created_on=START - timedelta(hours=hours_ago), **options
    )
    return str(created["id"])


def error_codes(response: requests.Response) -> list[int]:
    return [error["code"] for error in response.json()["errors"]]


# -- authentication ---------------------------------------------------------------------------------------


def test_auth_bearer_token_accepted(docs: PagesSandbox, api: PagesHttp) -> None:
    response = api.get("/docs")

    assert response.status_code == 200
    assert response.json()["success"] is True
    assert response.headers["x-ratelimit-limit"] == "1200"
    assert response.headers["x-ratelimit-remaining"] == "1199"


def test_auth_global_key_accepted(docs: PagesSandbox, api: PagesHttp) -> None:
    response = api.get("/docs", headers=GLOBAL_KEY)

    assert response.status_code == 200


def test_auth_missing_headers_rejected(docs: PagesSandbox, api: PagesHttp) -> None:
    response = api.get("/docs", headers={})

    assert response.status_code == 400
    assert response.json() == MISSING_AUTH_BODY


def test_auth_wrong_token_rejected(docs: PagesSandbox, api: PagesHttp) -> None:
    response = api.get("/docs", headers={"Authorization": "Bearer wrong-token-not-a-real-secret"})

    assert response.status_code == 403
    assert response.json() == load_fixture("andykenward_error_unauthorized_10000.json")


def test_auth_global_key_as_bearer_rejected(docs: PagesSandbox, api: PagesHttp) -> None:
    response = api.get("/docs", headers={"Authorization": f"Bearer {SANDBOX_API_KEY}"})

    assert response.status_code == 403
    assert response.json() == load_fixture("cloudflare-docs-issue-16094_error_authentication_10000.json")


def test_auth_wrong_global_key_rejected(docs: PagesSandbox, api: PagesHttp) -> None:
    headers = {"X-Auth-Email": SANDBOX_EMAIL, "X-Auth-Key": "0123456789abcdef0123456789abcdef01234"}

    response = api.get("/docs", headers=headers)

    assert response.status_code == 403
    assert error_codes(response) == [10000]


def test_auth_malformed_global_key_rejected(docs: PagesSandbox, api: PagesHttp) -> None:
    response = api.get("/docs", headers={"X-Auth-Email": SANDBOX_EMAIL, "X-Auth-Key": SANDBOX_API_TOKEN})

    assert response.status_code == 400
    assert response.json()["errors"] == [
        {
            "code": 6003,
            "message": "Invalid request headers",
            "error_chain": [{"code": 6103, "message": "Invalid format for X-Auth-Key header"}],
        }
    ]


def test_auth_malformed_email_rejected(docs: PagesSandbox, api: PagesHttp) -> None:
    response = api.get("/docs", headers={"X-Auth-Email": "not-an-email", "X-Auth-Key": SANDBOX_API_KEY})

    assert response.status_code == 400
    assert response.json()["errors"][0]["error_chain"] == [
        {"code": 6102, "message": "Invalid format for X-Auth-Email header"}
    ]


def test_auth_email_without_key_rejected(docs: PagesSandbox, api: PagesHttp) -> None:
    response = api.get("/docs", headers={"X-Auth-Email": SANDBOX_EMAIL, **BEARER})

    assert response.status_code == 400
    assert response.json() == MISSING_AUTH_BODY


def test_auth_basic_scheme_counts_as_missing(docs: PagesSandbox, api: PagesHttp) -> None:
    response = api.get("/docs", headers={"Authorization": f"Basic {SANDBOX_API_TOKEN}"})

    assert response.status_code == 400
    assert response.json() == MISSING_AUTH_BODY


def test_auth_empty_bearer_rejected(docs: PagesSandbox, api: PagesHttp) -> None:
    response = api.get("/docs", headers={"Authorization": "Bearer   "})

    assert response.status_code == 400
    assert response.json()["errors"][0]["error_chain"] == [
        {"code": 6111, "message": "Invalid format for Authorization header"}
    ]


def test_auth_rotation_rejects_old_token(docs: PagesSandbox, api: PagesHttp) -> None:
    docs.store.set_credentials(api_token="rotated-token-not-a-real-secret")

    old = api.get("/docs")
    new = api.get("/docs", headers={"Authorization": "Bearer rotated-token-not-a-real-secret"})

    assert old.status_code == 403
    assert new.status_code == 200


def test_auth_disabled_global_key_rejected(docs: PagesSandbox, api: PagesHttp) -> None:
    docs.store.set_credentials(api_key="")

    response = api.get("/docs", headers=GLOBAL_KEY)

    assert response.status_code == 403
    assert error_codes(response) == [10000]


def test_account_wrong_id_rejected(docs: PagesSandbox, api: PagesHttp) -> None:
    url = f"{docs.base_url}/accounts/{'f' * 32}/pages/projects/docs"

    response = api.session.get(url, headers=BEARER, timeout=TIMEOUT)

    assert response.status_code == 403
    assert response.json() == load_fixture("andykenward_error_unauthorized_10000.json")


def test_account_malformed_id_rejected(docs: PagesSandbox, api: PagesHttp) -> None:
    url = f"{docs.base_url}/accounts/not-an-account/pages/projects/docs"

    response = api.session.get(url, headers=BEARER, timeout=TIMEOUT)

    assert response.status_code == 400
    assert error_codes(response) == [7003, 7000]


# -- routing ----------------------------------------------------------------------------------------------


def test_route_unknown_path(docs: PagesSandbox, api: PagesHttp) -> None:
    response = api.session.get(f"{docs.base_url}/zones", headers=BEARER, timeout=TIMEOUT)

    assert response.status_code == 404
    assert response.json() == {
        "result": None,
        "success": False,
        "errors": [
            {
                "code": 7003,
                "message": "Could not route to /client/v4/zones, perhaps your object identifier is invalid?",
            },
            {"code": 7000, "message": "No route for that URI"},
        ],
        "messages": [],
    }


def test_route_outside_api_prefix(docs: PagesSandbox, api: PagesHttp) -> None:
    response = api.session.get(f"http://127.0.0.1:{docs.port}/accounts", timeout=TIMEOUT)

    assert response.status_code == 404
    assert error_codes(response) == [7003, 7000]


def test_route_head_request(docs: PagesSandbox, api: PagesHttp) -> None:
    response = api.request("HEAD", "/docs")

    assert response.status_code == 404
    assert response.content == b""
    assert int(response.headers["Content-Length"]) > 0


def test_route_unsupported_method(docs: PagesSandbox, api: PagesHttp) -> None:
    response = api.request("PUT", "/docs/deployments")

    assert response.status_code == 404
    assert error_codes(response) == [7003, 7000]


@pytest.mark.parametrize("name", ["Docs", "docs%2Fdeployments", "-docs", "a" * 59, "docs%20"])
def test_route_malformed_project_name(docs: PagesSandbox, api: PagesHttp, name: str) -> None:
    response = api.get(f"/{name}/deployments")

    assert response.status_code == 400
    assert error_codes(response) == [7003, 7000]


@pytest.mark.parametrize(
    "deployment_id",
    ["not-a-uuid", "7E4F0D5C-9B1A-4C3E-8F2D-1A2B3C4D5E6F", "7e4f0d5c9b1a4c3e8f2d1a2b3c4d5e6f", "%2E%2E"],
)
def test_route_malformed_deployment_id(docs: PagesSandbox, api: PagesHttp, deployment_id: str) -> None:
    response = api.get(f"/docs/deployments/{deployment_id}")

    assert response.status_code == 400
    assert error_codes(response) == [7003, 7000]


def test_delete_empty_id_rejected(docs: PagesSandbox, api: PagesHttp) -> None:
    before = docs.store.deployment_ids("docs")

    response = api.delete("/docs/deployments/")

    assert response.status_code == 400
    assert error_codes(response) == [7003, 7000]
    assert docs.store.deployment_ids("docs") == before


def test_project_unknown(docs: PagesSandbox, api: PagesHttp) -> None:
    project = api.get("/blog")
    deployments = api.get("/blog/deployments")

    assert project.status_code == 404
    assert project.json() == load_fixture("andykenward_error_project_not_found_8000007.json")
    assert deployments.status_code == 404
    assert deployments.json() == load_fixture(
        "andykenward_error_project_not_found_8000007_on_deployments.json"
    )


# -- listing ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("total", "page_one_count", "total_pages"),
    [(0, 0, 0), (1, 1, 1), (25, 25, 1), (26, 25, 2)],
)
def test_list_page_sizes(
    stand_in: PagesSandbox, api: PagesHttp, total: int, page_one_count: int, total_pages: int
) -> None:
    stand_in.store.add_project("docs")
    for index in range(total):
        stand_in.store.add_deployment("docs", branch="preview", created_on=START - timedelta(minutes=index))

    page_one = api.get("/docs/deployments")
    page_two = api.get("/docs/deployments", params={"page": 2, "per_page": 25})

    assert page_one.status_code == 200
    assert page_one.json()["result_info"] == {
        "page": 1,
        "per_page": 25,
        "count": page_one_count,
        "total_count": total,
        "total_pages": total_pages,
    }
    assert len(page_one.json()["result"]) == page_one_count
    if total > 25:
        assert page_two.status_code == 200
        assert page_two.json()["result_info"]["count"] == total - 25
    else:
        assert page_two.status_code == 400
        assert page_two.json() == load_fixture("reconstructed/error_invalid_list_options_8000024.json")


def test_list_per_page_above_max(docs: PagesSandbox, api: PagesHttp) -> None:
    response = api.get("/docs/deployments", params={"per_page": 26})

    assert response.status_code == 400
    assert response.json() == load_fixture("reconstructed/error_invalid_list_options_8000024.json")


@pytest.mark.parametrize(
    "params",
    [
        {"per_page": "0"},
        {"per_page": "-1"},
        {"per_page": "ten"},
        {"per_page": ""},
        {"page": "1"},
        {"page": "0", "per_page": "10"},
        {"page": "1.5", "per_page": "10"},
    ],
)
def test_list_invalid_options(docs: PagesSandbox, api: PagesHttp, params: dict[str, str]) -> None:
    response = api.get("/docs/deployments", params=params)

    assert response.status_code == 400
    assert error_codes(response) == [8000024]


def test_list_env_filter(docs: PagesSandbox, api: PagesHttp) -> None:
    add(docs, 5, "feature/a")
    add(docs, 4, "main")
    add(docs, 3, "feature/b")

    production = api.result("/docs/deployments", params={"env": "production"})
    preview = api.result("/docs/deployments", params={"env": "preview"})

    assert [item["environment"] for item in production] == ["production", "production"]
    assert [item["deployment_trigger"]["metadata"]["branch"] for item in preview] == [
        "feature/b",
        "feature/a",
    ]


@pytest.mark.parametrize("env", ["staging", "", "Production"])
def test_list_env_invalid(docs: PagesSandbox, api: PagesHttp, env: str) -> None:
    response = api.get("/docs/deployments", params={"env": env})

    assert response.status_code == 400
    assert error_codes(response) == [8000024]


def test_list_newest_first(docs: PagesSandbox, api: PagesHttp) -> None:
    docs.store.generate_history(
        "docs", count=40, start=START - timedelta(days=20), end=START - timedelta(days=3), rng_seed=7
    )

    seen: list[dict[str, Any]] = []
    for page in (1, 2, 3, 4, 5):
        seen += api.result("/docs/deployments", params={"page": page, "per_page": 10})

    created = [item["created_on"] for item in seen]
    assert len(seen) == 41
    assert created == sorted(created, reverse=True)
    assert [item["id"] for item in seen] == docs.store.deployment_ids("docs")


def test_list_projects_pages(stand_in: PagesSandbox, api: PagesHttp) -> None:
    for index in range(26):
        stand_in.store.add_project(f"site-{index:02d}", created_on=START - timedelta(days=index))

    first = api.get("", params={"page": 1, "per_page": 25})
    second = api.get("", params={"page": 2, "per_page": 25})
    beyond = api.get("", params={"page": 3, "per_page": 25})

    assert first.json()["result_info"] == {
        "page": 1,
        "per_page": 25,
        "count": 25,
        "total_count": 26,
        "total_pages": 2,
    }
    assert first.json()["result"][0]["name"] == "site-00"
    assert [project["name"] for project in second.json()["result"]] == ["site-25"]
    assert beyond.status_code == 400


def test_list_projects_empty(stand_in: PagesSandbox, api: PagesHttp) -> None:
    response = api.get("")

    assert response.json() == {
        "result": [],
        "success": True,
        "errors": [],
        "messages": [],
        "result_info": {"page": 1, "per_page": 25, "count": 0, "total_count": 0, "total_pages": 0},
    }


# -- creating deployments ---------------------------------------------------------------------------------


def stage_statuses(deployment: dict[str, Any]) -> list[str]:
    return [stage["status"] for stage in deployment["stages"]]


def test_create_progresses_through_stages(docs: PagesSandbox, api: PagesHttp, clock: FakeClock) -> None:
    created = api.post("/docs/deployments", files={"branch": (None, "feature/login")})
    deployment_id = created.json()["result"]["id"]
    path = f"/docs/deployments/{deployment_id}"

    assert created.status_code == 200
    result = created.json()["result"]
    assert result["environment"] == "preview"
    assert result["deployment_trigger"]["type"] == "github:push"
    assert result["deployment_trigger"]["metadata"]["branch"] == "feature/login"
    assert stage_statuses(result) == ["active", "idle", "idle", "idle", "idle"]
    assert result["latest_stage"] == {
        "name": "queued",
        "started_on": "2026-03-02T12:00:00Z",
        "ended_on": None,
        "status": "active",
    }
    assert result["aliases"] is None

    expected = [
        (2.0, "initialize", ["success", "active", "idle", "idle", "idle"]),
        (4.0, "clone_repo", ["success", "success", "active", "idle", "idle"]),
        (6.0, "build", ["success", "success", "success", "active", "idle"]),
        (8.0, "deploy", ["success", "success", "success", "success", "active"]),
    ]
    for seconds, latest, statuses in expected:
        clock.advance(2.0)
        current = api.result(path)
        assert current["latest_stage"]["name"] == latest, seconds
        assert current["latest_stage"]["status"] == "active", seconds
        assert stage_statuses(current) == statuses, seconds

    clock.advance(2.0)
    finished = api.result(path)
    assert stage_statuses(finished) == ["success"] * 5
    assert finished["latest_stage"] == {
        "name": "deploy",
        "started_on": "2026-03-02T12:00:08Z",
        "ended_on": "2026-03-02T12:00:10Z",
        "status": "success",
    }
    assert finished["modified_on"] == "2026-03-02T12:00:10Z"
    assert finished["aliases"] == ["https://feature-login.docs-4kd.pages.dev"]


def test_create_bare_post_builds_production(docs: PagesSandbox, api: PagesHttp, clock: FakeClock) -> None:
    live_before = docs.store.canonical_id("docs")

    created = api.post("/docs/deployments").json()["result"]
    building = api.result("/docs")
    clock.advance(10.0)
    finished = api.result("/docs")

    assert created["environment"] == "production"
    assert created["deployment_trigger"]["metadata"]["branch"] == "main"
    assert created["deployment_trigger"]["metadata"]["commit_hash"] == "a" * 40
    assert building["latest_deployment"]["id"] == created["id"]
    assert building["canonical_deployment"]["id"] == live_before
    assert finished["canonical_deployment"]["id"] == created["id"]
    assert finished["canonical_deployment"]["aliases"] == ["https://main.docs-4kd.pages.dev"]


def test_create_fail_branch_fails_in_build(docs: PagesSandbox, api: PagesHttp, clock: FakeClock) -> None:
    created = api.post("/docs/deployments", files={"branch": (None, "fail-on-purpose")}).json()["result"]

    clock.advance(7.9)
    building = api.result(f"/docs/deployments/{created['id']}")
    clock.advance(0.1)
    failed = api.result(f"/docs/deployments/{created['id']}")

    assert building["latest_stage"]["name"] == "build"
    assert building["latest_stage"]["status"] == "active"
    assert stage_statuses(failed) == ["success", "success", "success", "failure", "idle"]
    assert failed["latest_stage"]["status"] == "failure"
    assert failed["aliases"] is None


def test_create_fail_next_builds(docs: PagesSandbox, api: PagesHttp, clock: FakeClock) -> None:
    docs.store.fail_next_builds(1)

    first = api.post("/docs/deployments").json()["result"]
    second = api.post("/docs/deployments").json()["result"]
    clock.advance(10.0)

    assert api.result(f"/docs/deployments/{first['id']}")["latest_stage"]["status"] == "failure"
    assert api.result(f"/docs/deployments/{second['id']}")["latest_stage"]["status"] == "success"
    assert docs.store.canonical_id("docs") == second["id"]


def test_create_direct_upload_without_manifest(stand_in: PagesSandbox, api: PagesHttp) -> None:
    stand_in.store.add_project("shop", source_type=None)

    response = api.post("/shop/deployments", files={"branch": (None, "main")})

    assert response.status_code == 400
    assert response.json() == {
        "result": None,
        "success": False,
        "errors": [
            {
                "code": 8000096,
                "message": 'A "manifest" field was expected in the request body but was not provided.',
            }
        ],
        "messages": [],
    }


def test_create_direct_upload_with_manifest(stand_in: PagesSandbox, api: PagesHttp) -> None:
    stand_in.store.add_project("shop", source_type=None)
    fields = {
        "manifest": (None, '{"/index.html": "0123456789abcdef0123456789abcdef"}'),
        "branch": (None, "staging"),
        "commit_hash": (None, "b" * 40),
        "commit_message": (None, "Upload from CI"),
        "commit_dirty": (None, "true"),
    }

    response = api.post("/shop/deployments", files=fields)

    result = response.json()["result"]
    assert response.status_code == 200
    assert "source" not in result
    assert result["deployment_trigger"] == {
        "type": "ad_hoc",
        "metadata": {
            "branch": "staging",
            "commit_hash": "b" * 40,
            "commit_message": "Upload from CI",
            "commit_dirty": True,
        },
    }


@pytest.mark.parametrize(
    "options",
    [
        {"json": {"branch": "feature/x"}},
        {"data": {"branch": "feature/x"}},
    ],
)
def test_create_non_multipart_body_rejected(
    docs: PagesSandbox, api: PagesHttp, options: dict[str, Any]
) -> None:
    before = docs.store.deployment_ids("docs")

    response = api.post("/docs/deployments", **options)

    assert response.status_code == 400
    assert response.json()["errors"] == [
        {
            "code": 6003,
            "message": "Invalid request headers",
            "error_chain": [
                {"code": 6105, "message": "Invalid Content-Type header, valid values are multipart/form-data"}
            ],
        }
    ]
    assert docs.store.deployment_ids("docs") == before


def test_create_broken_multipart_rejected(docs: PagesSandbox, api: PagesHttp) -> None:
    response = api.post(
        "/docs/deployments", data=b"branch=main", headers={**BEARER, "Content-Type": "multipart/form-data"}
    )

    assert response.status_code == 400
    assert error_codes(response) == [9207]


def test_create_unknown_project(docs: PagesSandbox, api: PagesHttp) -> None:
    response = api.post("/blog/deployments")

    assert response.status_code == 404
    assert error_codes(response) == [8000007]


def test_retry_builds_same_commit(docs: PagesSandbox, api: PagesHttp) -> None:
    original = add(docs, 3, "feature/a", commit_hash="c" * 40, commit_message="feat: a", status="failure")

    response = api.post(f"/docs/deployments/{original}/retry")

    result = response.json()["result"]
    assert response.status_code == 200
    assert result["id"] != original
    assert result["deployment_trigger"]["metadata"]["commit_hash"] == "c" * 40
    assert result["deployment_trigger"]["metadata"]["branch"] == "feature/a"
    assert result["latest_stage"]["name"] == "queued"


# -- deploy hooks -----------------------------------------------------------------------------------------


def test_hook_starts_build_without_auth(docs: PagesSandbox) -> None:
    url = docs.deploy_hook_url("docs", "staging")

    response = requests.post(url, timeout=TIMEOUT)

    body = response.json()
    assert response.status_code == 200
    assert body["success"] is True
    assert list(body["result"]) == ["id"]
    created = docs.store.get_deployment("docs", body["result"]["id"])
    assert created["deployment_trigger"]["type"] == "deploy_hook"
    assert created["deployment_trigger"]["metadata"]["branch"] == "staging"
    assert created["environment"] == "preview"
    assert docs.request_log[-1].auth is None


def test_hook_unknown_id(docs: PagesSandbox) -> None:
    unknown = requests.post(
        f"{docs.base_url}/pages/webhooks/deploy_hooks/00000000-0000-4000-8000-000000000000", timeout=TIMEOUT
    )
    malformed = requests.post(f"{docs.base_url}/pages/webhooks/deploy_hooks/not-a-hook", timeout=TIMEOUT)

    assert unknown.status_code == 404
    assert error_codes(unknown) == [7003, 7000]
    assert malformed.status_code == 400


def test_hook_get_not_routed(docs: PagesSandbox) -> None:
    url = docs.deploy_hook_url("docs", "main")

    response = requests.get(url, timeout=TIMEOUT)

    assert response.status_code == 404
    assert len(docs.store.deployment_ids("docs")) == 1


def test_hook_id_kept_out_of_logs(docs: PagesSandbox, caplog: pytest.LogCaptureFixture) -> None:
    url = docs.deploy_hook_url("docs", "staging")
    hook_id = url.rsplit("/", 1)[1]

    with caplog.at_level(logging.DEBUG, logger="sandbox.cloudflare_pages"):
        requests.post(url, timeout=TIMEOUT)
        requests.get(url, timeout=TIMEOUT)

    assert any("<hook id>" in record.getMessage() for record in caplog.records)
    assert not any(hook_id in record.getMessage() for record in caplog.records)
    assert not any(SANDBOX_API_TOKEN in record.getMessage() for record in caplog.records)


def test_hook_for_direct_upload_refused(stand_in: PagesSandbox) -> None:
    stand_in.store.add_project("shop", source_type=None)

    with pytest.raises(ValueError, match="Direct Upload"):
        stand_in.deploy_hook_url("shop", "main")


# -- aliases ----------------------------------------------------------------------------------------------


def aliases_by_id(api: PagesHttp) -> dict[str, Any]:
    return {item["id"]: item["aliases"] for item in api.result("/docs/deployments")}


def test_alias_on_newest_successful_preview(docs: PagesSandbox, api: PagesHttp) -> None:
    older = add(docs, 5, "feature/a")
    newer = add(docs, 4, "feature/a")
    other = add(docs, 3, "fix/b")

    aliases = aliases_by_id(api)

    assert aliases[newer] == ["https://feature-a.docs-4kd.pages.dev"]
    assert aliases[older] is None
    assert aliases[other] == ["https://fix-b.docs-4kd.pages.dev"]


def test_alias_stays_when_newest_failed(docs: PagesSandbox, api: PagesHttp) -> None:
    success = add(docs, 5, "feature/a")
    failure = add(docs, 4, "feature/a", status="failure")
    skipped = add(docs, 3, "feature/a", status="skipped")

    aliases = aliases_by_id(api)

    assert aliases[success] == ["https://feature-a.docs-4kd.pages.dev"]
    assert aliases[failure] is None
    assert aliases[skipped] is None


@pytest.mark.parametrize(
    ("branch", "slug"),
    [
        ("Feature/Spring_Campaign--Landing.Page-With-Video", "feature-spring-campaign--lan"),
        ("Release/2026-03-Spring-Sale/Hotfix", "release-2026-03-spring-sale"),
    ],
)
def test_alias_slug_of_branch(docs: PagesSandbox, api: PagesHttp, branch: str, slug: str) -> None:
    deployment = add(docs, 2, branch)

    aliases = aliases_by_id(api)

    assert aliases[deployment] == [f"https://{slug}.docs-4kd.pages.dev"]


def test_alias_only_on_live_production(docs: PagesSandbox, api: PagesHttp) -> None:
    first = docs.store.deployment_ids("docs")[0]
    newer = add(docs, 2, "main")

    aliases = aliases_by_id(api)

    assert aliases[newer] == ["https://main.docs-4kd.pages.dev"]
    assert aliases[first] is None


# -- deleting ---------------------------------------------------------------------------------------------


def test_delete_unknown_id(docs: PagesSandbox, api: PagesHttp) -> None:
    response = api.delete("/docs/deployments/00000000-0000-4000-8000-000000000000")

    assert response.status_code == 404
    assert response.json() == load_fixture("reconstructed/error_deployment_not_found_8000009.json")
    assert response.json()["errors"][0]["message"].endswith("try again. ")


def test_delete_twice(docs: PagesSandbox, api: PagesHttp) -> None:
    old = add(docs, 60, "main")

    first = api.delete(f"/docs/deployments/{old}")
    second = api.delete(f"/docs/deployments/{old}")
    fetched = api.get(f"/docs/deployments/{old}")

    assert first.status_code == 200
    assert first.json() == load_fixture("andykenward_delete_deployment.json")
    assert second.status_code == 404
    assert error_codes(second) == [8000009]
    assert fetched.status_code == 404
    assert docs.store.deleted_ids("docs") == [old]
    assert old not in [item["id"] for item in api.result("/docs/deployments")]


def test_delete_aliased_requires_force(docs: PagesSandbox, api: PagesHttp) -> None:
    aliased = add(docs, 3, "feature/a")

    refused = api.delete(f"/docs/deployments/{aliased}")
    not_forced = api.delete(f"/docs/deployments/{aliased}", params={"force": "1"})
    forced = api.delete(f"/docs/deployments/{aliased}", params={"force": "true"})

    assert refused.status_code == 400
    assert refused.json() == load_fixture("reconstructed/error_aliased_delete_without_force_8000035.json")
    assert not_forced.status_code == 400
    assert forced.status_code == 200
    assert forced.json()["result"] is None


def test_delete_live_production_refused(docs: PagesSandbox, api: PagesHttp) -> None:
    live = docs.store.canonical_id("docs")

    without_force = api.delete(f"/docs/deployments/{live}")
    with_force = api.delete(f"/docs/deployments/{live}", params={"force": "true"})

    assert without_force.status_code == 400
    assert error_codes(without_force) == [8000035]
    assert with_force.status_code == 400
    assert error_codes(with_force) == [8000034]
    assert docs.store.canonical_id("docs") == live
    assert live in docs.store.deployment_ids("docs")


def test_delete_in_progress_refused(docs: PagesSandbox, api: PagesHttp) -> None:
    building = add(docs, 0.01, "feature/a", status="active", stage="build")

    response = api.delete(f"/docs/deployments/{building}", params={"force": "true"})

    assert response.status_code == 400
    assert error_codes(response) == [8000036]


def test_delete_old_preview_without_force(docs: PagesSandbox, api: PagesHttp) -> None:
    older = add(docs, 5, "feature/a")
    add(docs, 4, "feature/a")

    response = api.delete(f"/docs/deployments/{older}")

    assert response.status_code == 200


# -- rollback ---------------------------------------------------------------------------------------------


def test_rollback_changes_canonical(docs: PagesSandbox, api: PagesHttp) -> None:
    first = docs.store.deployment_ids("docs")[0]
    newer = add(docs, 2, "main")

    docs.store.rollback("docs", first)
    project = api.result("/docs")
    aliases = aliases_by_id(api)

    assert project["canonical_deployment"]["id"] == first
    assert project["latest_deployment"]["id"] == newer
    assert aliases[first] == ["https://main.docs-4kd.pages.dev"]
    assert aliases[newer] is None
    assert api.delete(f"/docs/deployments/{newer}").status_code == 200


def test_rollback_endpoint(docs: PagesSandbox, api: PagesHttp) -> None:
    first = docs.store.deployment_ids("docs")[0]
    add(docs, 2, "main")

    response = api.post(f"/docs/deployments/{first}/rollback")

    assert response.status_code == 200
    assert response.json()["result"]["id"] == first
    assert docs.store.canonical_id("docs") == first


@pytest.mark.parametrize(
    ("branch", "status"),
    [("feature/a", "success"), ("main", "failure"), ("main", "skipped")],
)
def test_rollback_invalid_target(docs: PagesSandbox, api: PagesHttp, branch: str, status: str) -> None:
    target = add(docs, 2, branch, status=status)

    response = api.post(f"/docs/deployments/{target}/rollback")

    assert response.status_code == 400
    assert error_codes(response) == [8000013]


def test_build_after_rollback_goes_live(docs: PagesSandbox, api: PagesHttp, clock: FakeClock) -> None:
    first = docs.store.deployment_ids("docs")[0]
    add(docs, 2, "main")
    docs.store.rollback("docs", first)

    created = api.post("/docs/deployments").json()["result"]
    clock.advance(10.0)

    assert api.result("/docs")["canonical_deployment"]["id"] == created["id"]


# -- build logs -------------------------------------------------------------------------------------------


def test_logs_finished_build(docs: PagesSandbox, api: PagesHttp) -> None:
    deployment = docs.store.deployment_ids("docs")[0]

    logs = api.result(f"/docs/deployments/{deployment}/history/logs")

    assert logs["includes_container_logs"] is True
    assert logs["total"] == len(logs["data"]) == 11
    assert logs["data"][0]["line"] == "Initializing build environment..."
    assert logs["data"][3]["line"] == "HEAD is now at aaaaaaa Initial site"
    assert logs["data"][-1]["line"] == "Success: Your site was deployed!"
    stamps = [line["ts"] for line in logs["data"]]
    assert stamps == sorted(stamps)


def test_logs_grow_while_building(docs: PagesSandbox, api: PagesHttp, clock: FakeClock) -> None:
    created = api.post("/docs/deployments").json()["result"]
    path = f"/docs/deployments/{created['id']}/history/logs"

    queued = api.result(path)
    clock.advance(5.0)
    cloning = api.result(path)

    assert queued == {"total": 0, "includes_container_logs": True, "data": []}
    assert [line["line"] for line in cloning["data"]] == [
        "Initializing build environment...",
        "Success: Finished initializing build environment",
        "Cloning repository...",
        "HEAD is now at aaaaaaa Initial site",
    ]


def test_logs_failed_build(docs: PagesSandbox, api: PagesHttp) -> None:
    failed = add(docs, 2, "feature/a", status="failure")

    logs = api.result(f"/docs/deployments/{failed}/history/logs")

    assert logs["data"][-1]["line"] == "Failed: Error while executing user command. Exited with error code: 1"


def test_logs_unknown_deployment(docs: PagesSandbox, api: PagesHttp) -> None:
    response = api.get("/docs/deployments/00000000-0000-4000-8000-000000000000/history/logs")

    assert response.status_code == 404
    assert error_codes(response) == [8000009]


# -- rate limit -------------------------------------------------------------------------------------------


@pytest.fixture
def limited(clock: FakeClock) -> Iterator[PagesSandbox]:
    with PagesSandbox(clock=clock, rate_limit=3, rate_window_seconds=0.5) as sandbox:
        sandbox.store.add_project("docs")
        yield sandbox


def test_rate_limit_blocks_every_call(limited: PagesSandbox) -> None:
    hook = limited.deploy_hook_url("docs", "main")

    with PagesHttp(limited) as api:
        allowed = [api.get("/docs") for _ in range(3)]
        refused = api.get("/docs")
        hook_refused = requests.post(hook, timeout=TIMEOUT)
        time.sleep(0.6)
        after_block = api.get("/docs")

    assert [response.headers["x-ratelimit-remaining"] for response in allowed] == ["2", "1", "0"]
    assert refused.status_code == 429
    assert refused.json() == load_fixture("reconstructed/error_rate_limited_971.json")
    assert refused.headers["Retry-After"] == "1"
    assert refused.headers["x-ratelimit-remaining"] == "0"
    assert hook_refused.status_code == 429
    assert after_block.status_code == 200


def test_rate_limit_without_retry_after(clock: FakeClock) -> None:
    with (
        PagesSandbox(
            clock=clock, rate_limit=1, rate_window_seconds=0.5, retry_after_on_rate_limit=False
        ) as sb,
        PagesHttp(sb) as api,
    ):
        api.get("")
        refused = api.get("")

    assert refused.status_code == 429
    assert "Retry-After" not in refused.headers
    assert "x-ratelimit-reset" not in refused.headers


def test_rate_limit_ignores_unauthenticated(limited: PagesSandbox) -> None:
    with PagesHttp(limited) as api:
        rejected = [api.get("/docs", headers={}) for _ in range(5)]
        accepted = api.get("/docs")

    assert {response.status_code for response in rejected} == {400}
    assert accepted.headers["x-ratelimit-remaining"] == "2"


def test_rate_limit_counts_hooks(limited: PagesSandbox) -> None:
    hook = limited.deploy_hook_url("docs", "main")

    with PagesHttp(limited) as api:
        hooks = [requests.post(hook, timeout=TIMEOUT) for _ in range(3)]
        refused = api.get("/docs")

    assert [response.headers["x-ratelimit-remaining"] for response in hooks] == ["2", "1", "0"]
    assert refused.status_code == 429


# -- faults -----------------------------------------------------------------------------------------------


def test_fault_latency(docs: PagesSandbox, api: PagesHttp) -> None:
    fault = docs.faults.add_latency(0.3, method="GET", path=r"/deployments$", count=1)

    started = time.monotonic()
    api.get("/docs/deployments")
    slow = time.monotonic() - started
    started = time.monotonic()
    api.get("/docs/deployments")
    fast = time.monotonic() - started

    assert slow >= 0.3
    assert fast < 0.2
    assert fault.hits == 1
    assert docs.faults.active == []


def test_fault_global_latency(docs: PagesSandbox, api: PagesHttp) -> None:
    docs.faults.global_latency = 0.1

    durations = []
    for _ in range(3):
        started = time.monotonic()
        api.get("/docs")
        durations.append(time.monotonic() - started)

    assert min(durations) >= 0.1


def test_fault_server_error(docs: PagesSandbox, api: PagesHttp) -> None:
    docs.faults.server_error(status=503, count=1)

    failed = api.get("/docs")
    recovered = api.get("/docs")

    assert failed.status_code == 503
    assert failed.json() == {
        "result": None,
        "success": False,
        "errors": [
            {
                "code": 8000000,
                "message": "An unknown error occurred. Contact your account team or Cloudflare support",
            }
        ],
        "messages": [],
    }
    assert recovered.status_code == 200


@pytest.mark.parametrize(
    ("retry_after", "header"),
    [
        (7, "7"),
        (2.5, "3"),
        (datetime(2026, 3, 2, 12, 5, tzinfo=UTC), "Mon, 02 Mar 2026 12:05:00 GMT"),
        (None, None),
    ],
)
def test_fault_rate_limited(
    docs: PagesSandbox, api: PagesHttp, retry_after: float | datetime | None, header: str | None
) -> None:
    docs.faults.rate_limited(retry_after=retry_after, count=1)

    response = api.get("/docs")

    assert response.status_code == 429
    assert error_codes(response) == [971]
    assert response.headers.get("Retry-After") == header
    if isinstance(retry_after, datetime):
        assert parsedate_to_datetime(response.headers["Retry-After"]) == retry_after


def test_fault_hang_until_cleared(docs: PagesSandbox, api: PagesHttp) -> None:
    fault = docs.faults.hang(path="/docs$", count=1)
    results: list[requests.Response] = []
    worker = threading.Thread(target=lambda: results.append(api.get("/docs", timeout=5)))

    worker.start()
    worker.join(0.3)
    held = worker.is_alive()
    fault.clear()
    worker.join(5)

    assert held
    assert [response.status_code for response in results] == [200]


def test_fault_hang_times_out_client(docs: PagesSandbox, api: PagesHttp) -> None:
    docs.faults.hang(method="DELETE")

    with pytest.raises(requests.ReadTimeout):
        api.delete(f"/docs/deployments/{docs.store.deployment_ids('docs')[0]}", timeout=0.3)
    docs.faults.clear()

    assert api.get("/docs").status_code == 200


def test_fault_hang_does_not_block_stop(clock: FakeClock) -> None:
    sandbox = PagesSandbox(clock=clock).start()
    sandbox.faults.hang()
    errors: list[Exception] = []

    def call() -> None:
        try:
            requests.get(f"{sandbox.base_url}/accounts", headers=BEARER, timeout=10)
        except requests.RequestException as error:
            errors.append(error)

    worker = threading.Thread(target=call)
    worker.start()
    time.sleep(0.2)
    started = time.monotonic()
    sandbox.stop()
    stop_seconds = time.monotonic() - started
    worker.join(5)

    assert stop_seconds < 2.0
    assert not worker.is_alive()
    assert len(errors) == 1
    assert isinstance(errors[0], requests.ConnectionError)


def test_fault_truncated_json(docs: PagesSandbox, api: PagesHttp) -> None:
    docs.faults.malformed_body(count=1)

    response = api.get("/docs")

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    with pytest.raises(requests.JSONDecodeError):
        response.json()


def test_fault_html_error_page(docs: PagesSandbox, api: PagesHttp) -> None:
    docs.faults.malformed_body(kind="html", count=1)

    response = api.get("/docs")

    assert response.status_code == 502
    assert response.headers["Content-Type"].startswith("text/html")
    assert response.text.startswith("<!DOCTYPE html>")


def test_fault_connection_reset(docs: PagesSandbox, api: PagesHttp) -> None:
    docs.faults.reset_connection(count=1)

    with pytest.raises(requests.ConnectionError):
        api.get("/docs")
    recovered = api.get("/docs")

    assert recovered.status_code == 200
    assert [record.status for record in docs.request_log] == [None, 200]


def test_fault_method_and_path_filter(docs: PagesSandbox, api: PagesHttp) -> None:
    deployment = add(docs, 60, "main")
    docs.faults.server_error(method="DELETE", path=r"/deployments/[0-9a-f-]+$")

    listed = api.get("/docs/deployments")
    deleted = api.delete(f"/docs/deployments/{deployment}")

    assert listed.status_code == 200
    assert deleted.status_code == 500
    assert deployment in docs.store.deployment_ids("docs")


def test_faults_clear(docs: PagesSandbox, api: PagesHttp) -> None:
    docs.faults.server_error()
    docs.faults.global_latency = 1.0

    docs.faults.clear()

    assert docs.faults.active == []
    assert docs.faults.global_latency == 0.0
    assert api.get("/docs").status_code == 200


def test_fault_invalid_arguments(docs: PagesSandbox) -> None:
    with pytest.raises(ValueError, match="5xx"):
        docs.faults.server_error(status=404)
    with pytest.raises(ValueError, match="count"):
        docs.faults.hang(count=0)
    with pytest.raises(ValueError, match="kind"):
        docs.faults.malformed_body(kind="xml")


# -- concurrency and the request log ----------------------------------------------------------------------


def max_overlap(sandbox: PagesSandbox) -> int:
    events = sorted(
        [(record.started, 1) for record in sandbox.request_log]
        + [(record.ended, -1) for record in sandbox.request_log]
    )
    current = peak = 0
    for _, change in events:
        current += change
        peak = max(peak, current)
    return peak


def test_concurrent_requests_with_latency(docs: PagesSandbox) -> None:
    docs.faults.global_latency = 0.05
    docs.reset_request_log()

    def worker(_: int) -> list[int]:
        with PagesHttp(docs) as http:
            return [http.get("/docs/deployments", params={"per_page": 5}).status_code for _ in range(20)]

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = [status for batch in pool.map(worker, range(8)) for status in batch]
    elapsed = time.monotonic() - started

    assert statuses == [200] * 160
    assert len(docs.request_log) == 160
    assert elapsed < 160 * 0.05 / 3
    assert max_overlap(docs) >= 4


def test_concurrent_deletes_of_one_id(docs: PagesSandbox) -> None:
    target = add(docs, 60, "main")

    def delete(_: int) -> requests.Response:
        with PagesHttp(docs) as http:
            return http.delete(f"/docs/deployments/{target}")

    with ThreadPoolExecutor(max_workers=8) as pool:
        responses = list(pool.map(delete, range(8)))

    assert sorted(response.status_code for response in responses) == [200] + [404] * 7
    assert docs.store.deleted_ids("docs") == [target]


def test_concurrent_deletes_of_many_ids(docs: PagesSandbox) -> None:
    targets = [add(docs, 60 + index, "main") for index in range(24)]

    def delete(deployment_id: str) -> int:
        with PagesHttp(docs) as http:
            return http.delete(f"/docs/deployments/{deployment_id}").status_code

    with ThreadPoolExecutor(max_workers=4) as pool:
        statuses = list(pool.map(delete, targets))

    assert statuses == [200] * 24
    assert sorted(docs.store.deleted_ids("docs")) == sorted(targets)


def test_request_log_records_requests(docs: PagesSandbox, api: PagesHttp) -> None:
    docs.reset_request_log()

    api.get("/docs/deployments", params={"env": "preview", "per_page": "5"})
    api.post("/docs/deployments", files={"branch": (None, "feature/a")}, headers=GLOBAL_KEY)
    log = docs.request_log

    assert [(record.method, record.status, record.auth) for record in log] == [
        ("GET", 200, "bearer"),
        ("POST", 200, "global_key"),
    ]
    prefix = f"/client/v4/accounts/{SANDBOX_ACCOUNT_ID}/pages/projects/docs/deployments"
    assert log[0].path == prefix
    assert log[0].query == {"env": "preview", "per_page": "5"}
    assert b'name="branch"' in log[1].body
    assert log[0].started <= log[0].ended <= log[1].started
    docs.reset_request_log()
    assert docs.request_log == []


def test_sandbox_port_before_start() -> None:
    sandbox = PagesSandbox()

    with pytest.raises(RuntimeError, match="not running"):
        _ = sandbox.base_url


def test_sandbox_restart_serves_again(clock: FakeClock) -> None:
    sandbox = PagesSandbox(clock=clock)
    sandbox.start()
    sandbox.stop()
    sandbox.start()
    try:
        response = requests.get(
            f"{sandbox.base_url}/accounts/{SANDBOX_ACCOUNT_ID}/pages/projects",
            headers=BEARER,
            timeout=TIMEOUT,
        )
    finally:
        sandbox.stop()

    assert response.status_code == 200


# -- command line -----------------------------------------------------------------------------------------


def test_cli_serves_until_interrupted() -> None:
    environment = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    process = subprocess.Popen(
        [sys.executable, "-m", "sandbox.cloudflare_pages", "--port", "0", "--seed", "none"],
        cwd=REPO_ROOT,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline() for _ in range(6)]
        base_url = next(
            line.split("=", 1)[1].strip() for line in lines if line.startswith("CLOUDFLARE_API_BASE")
        )
        response = requests.get(
            f"{base_url}/accounts/{SANDBOX_ACCOUNT_ID}/pages/projects", headers=BEARER, timeout=TIMEOUT
        )
        process.send_signal(signal.SIGINT)
        output, errors = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()

    assert base_url.startswith("http://127.0.0.1:")
    assert base_url.endswith("/client/v4")
    assert f"CLOUDFLARE_ACCOUNT_ID={SANDBOX_ACCOUNT_ID}\n" in lines
    assert response.json()["result"] == []
    assert process.returncode == 0
    assert "Cloudflare Pages sandbox stopped." in output
    assert errors == ""
