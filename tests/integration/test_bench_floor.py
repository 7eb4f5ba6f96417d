"""The cold-start benchmark's dependency floor (bench/child.py `floor` mode) against the stand-in and moto.

`run_floor` runs here in the test interpreter, which has the same packages as the layer.
"""

from __future__ import annotations

from typing import Any

import boto3  # type: ignore[import-untyped, unused-ignore]
import pytest

from bench import child
from bench.coldstart import floor_imports
from sandbox.cloudflare_pages import SANDBOX_ACCOUNT_ID, SANDBOX_API_TOKEN, PagesSandbox

pytestmark = pytest.mark.integration

SECRET = "cf-pages-ops/bench-floor"
TABLE = "cf-pages-ops-bench-floor"
PROJECT_PATH = f"/client/v4/accounts/{SANDBOX_ACCOUNT_ID}/pages/projects/docs"


@pytest.fixture
def floor_env(
    aws: str, create_secret: Any, pages_sandbox: PagesSandbox, monkeypatch: pytest.MonkeyPatch
) -> PagesSandbox:
    create_secret(SECRET, {"api_token": SANDBOX_API_TOKEN})
    boto3.client("dynamodb", endpoint_url=aws).create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    monkeypatch.setenv("CLOUDFLARE_SECRET_ID", SECRET)
    monkeypatch.setenv("IDEMPOTENCY_TABLE", TABLE)
    pages_sandbox.store.add_project("docs")
    return pages_sandbox


def origin(sandbox: PagesSandbox) -> str:
    return sandbox.base_url.removesuffix("/client/v4")


def test_floor_replays_requests_in_order(floor_env: PagesSandbox, aws: str) -> None:
    old = floor_env.store.add_deployment("docs", status="success")["id"]
    floor_env.store.add_deployment("docs", status="success")
    requests = [
        ["GET", PROJECT_PATH, {}],
        ["GET", f"{PROJECT_PATH}/deployments", {"page": "1", "per_page": "25"}],
        ["DELETE", f"{PROJECT_PATH}/deployments/{old}", {}],
    ]
    config = {
        "imports": floor_imports("trigger_build"),
        "dynamodb_writes": 2,
        "origin": origin(floor_env),
        "requests": requests,
    }

    result = child.run_floor(config)

    assert "error" not in result
    assert result["done"] >= result["imported"]
    log = floor_env.request_log
    assert [[record.method, record.path, record.query] for record in log] == requests
    assert [record.auth for record in log] == ["bearer"] * 3
    assert old not in floor_env.store.deployment_ids("docs")
    items = boto3.client("dynamodb", endpoint_url=aws).scan(TableName=TABLE)["Items"]
    assert sorted(item["status"]["S"] for item in items) == ["COMPLETED", "COMPLETED"]


def test_floor_reports_failed_request(floor_env: PagesSandbox) -> None:
    missing = f"/client/v4/accounts/{SANDBOX_ACCOUNT_ID}/pages/projects/absent"
    config = {"imports": [], "origin": origin(floor_env), "requests": [["GET", missing, {}]]}

    result = child.run_floor(config)

    assert result["error"] == f"GET {missing} returned 404"
    assert "done" not in result
