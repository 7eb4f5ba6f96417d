"""Smoke test of `sam build` output: each built function runs as Lambda lays it out, against the stand-ins.

Lambda puts the function's code in /var/task and the layer's `python/` folder in /opt/python, and its
python3.13 runtime brings boto3. Each test starts a fresh python3.13 process whose `sys.path` is exactly
that: `.aws-sam/build/<Function>`, then `.aws-sam/build/PagesOpsLayer/python`, then the site-packages of a
python3.13 environment holding only boto3. A layer built into the wrong folder, a missing dependency or
bytecode for another Python version fails here instead of after a deploy.

Run by `make smoke` (part of `make test`) after `make build`, with RUNTIME_PYTHON set to that environment's
interpreter.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from sandbox.aws import LocalAws
from sandbox.cloudflare_pages import SANDBOX_ACCOUNT_ID, SANDBOX_API_TOKEN, PagesSandbox
from tests.conftest import REPO_ROOT, load_event

pytestmark = pytest.mark.sam

BUILD = REPO_ROOT / ".aws-sam" / "build"
LAYER = BUILD / "PagesOpsLayer"
SECRET_NAME = "cf-pages-ops/smoke"
TABLE_NAME = "cf-pages-ops-smoke-idempotency"

# Runs in the child: lay out sys.path as Lambda does, invoke the handler once, write the result as JSON.
CHILD = """
import json, sys, time
config = json.loads(sys.argv[1])
sys.path[0:0] = config["path"]

class Context:
    function_name = config["function_name"]
    function_version = "$LATEST"
    memory_limit_in_mb = 128
    aws_request_id = "00000000-0000-4000-8000-000000000000"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:" + function_name
    log_group_name = "/aws/lambda/" + function_name
    log_stream_name = "2026/01/01/[$LATEST]smoke"
    _deadline = time.monotonic() + config["timeout"]
    def get_remaining_time_in_millis(self):
        return max(0, int((self._deadline - time.monotonic()) * 1000))

import importlib
module = importlib.import_module("app")
result = module.lambda_handler(config["event"], Context())
layer_file = sys.modules["pages_ops"].__file__
with open(config["output"], "w", encoding="utf-8") as output:
    json.dump({"result": result, "pages_ops": layer_file, "version": list(sys.version_info[:2])}, output)
"""


@pytest.fixture(scope="module")
def runtime_python() -> str:
    interpreter = os.environ.get("RUNTIME_PYTHON", "")
    if not interpreter:
        pytest.fail("RUNTIME_PYTHON is not set: run this test through `make smoke`, which sets it")
    if not (LAYER / "python" / "pages_ops").is_dir():
        pytest.fail(f"{LAYER}/python/pages_ops is missing: run `make build` first")
    return interpreter


@pytest.fixture(scope="module")
def stand_ins() -> Iterator[dict[str, str]]:
    """The Pages stand-in with one project, and moto with the secret and table, as function environment."""
    with PagesSandbox(port=0, seed=None) as sandbox, LocalAws() as aws:
        now = datetime.now(UTC)
        sandbox.store.add_project("docs")
        for days in (40, 30, 20, 10, 5, 1):
            sandbox.store.add_deployment(
                "docs",
                environment="production",
                branch="main",
                commit_hash=f"{days:040x}",
                commit_message=f"release from {days} days ago",
                created_on=now - timedelta(days=days),
            )
        aws.put_secret(SECRET_NAME, {"api_token": SANDBOX_API_TOKEN})
        aws.create_idempotency_table(TABLE_NAME)
        yield {
            **aws.environment(),
            "CLOUDFLARE_ACCOUNT_ID": SANDBOX_ACCOUNT_ID,
            "CLOUDFLARE_SECRET_ID": SECRET_NAME,
            "CLOUDFLARE_API_BASE_URL": sandbox.base_url,
            "PAGES_PROJECTS": "docs",
            "IDEMPOTENCY_TABLE": TABLE_NAME,
            "CLOUDFLARE_RATE_LIMIT_PER_MINUTE": "240",
            "POWERTOOLS_SERVICE_NAME": "cf-pages-ops-smoke",
            "POWERTOOLS_METRICS_NAMESPACE": "CfPagesOpsSmoke",
        }


def invoke_built(
    interpreter: str,
    environment: dict[str, str],
    function_dir: str,
    event: dict[str, Any],
    tmp_path: Path,
    *,
    layer_path: Path = LAYER / "python",
) -> subprocess.CompletedProcess[str]:
    output = tmp_path / f"{function_dir}.json"
    config = {
        "path": [str(BUILD / function_dir), str(layer_path)],
        "function_name": function_dir,
        "timeout": 30,
        "event": event,
        "output": str(output),
    }
    # -I keeps PYTHONPATH and the user's site-packages off sys.path, -B writes no bytecode (Lambda's file
    # systems are read-only). Only PATH is inherited, so nothing from the test process leaks in.
    return subprocess.run(
        [interpreter, "-I", "-B", "-c", CHILD, json.dumps(config)],
        env={"PATH": os.environ.get("PATH", ""), **environment},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def read_result(tmp_path: Path, function_dir: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((tmp_path / f"{function_dir}.json").read_text(encoding="utf-8"))
    return data


def test_built_trigger_starts_build(runtime_python: str, stand_ins: dict[str, str], tmp_path: Path) -> None:
    event = load_event("trigger_build/scheduler.json")

    completed = invoke_built(runtime_python, stand_ins, "TriggerBuildFunction", event, tmp_path)

    assert completed.returncode == 0, completed.stderr
    output = read_result(tmp_path, "TriggerBuildFunction")
    assert output["version"] == [3, 13]
    assert output["pages_ops"].startswith(str(LAYER / "python"))
    assert [item["action"] for item in output["result"]["results"]] == ["triggered"]


def test_built_pruner_dry_run(runtime_python: str, stand_ins: dict[str, str], tmp_path: Path) -> None:
    event = {**load_event("prune_deployments/scheduler.json"), "dry_run": True}

    completed = invoke_built(runtime_python, stand_ins, "PruneDeploymentsFunction", event, tmp_path)

    assert completed.returncode == 0, completed.stderr
    result = read_result(tmp_path, "PruneDeploymentsFunction")["result"]["results"][0]
    assert result["project"] == "docs"
    assert result["dry_run"] is True
    assert result["deleted"] == []
    assert len(result["selected"]) >= 1


def test_built_status_page_serves_index(
    runtime_python: str, stand_ins: dict[str, str], tmp_path: Path
) -> None:
    event = load_event("status_page/http_api_index.json")

    completed = invoke_built(runtime_python, stand_ins, "StatusPageFunction", event, tmp_path)

    assert completed.returncode == 0, completed.stderr
    response = read_result(tmp_path, "StatusPageFunction")["result"]
    assert response["statusCode"] == 200
    assert response["headers"]["Content-Type"] == "text/html; charset=utf-8"


def test_layer_in_wrong_folder_fails(runtime_python: str, stand_ins: dict[str, str], tmp_path: Path) -> None:
    # Lambda mounts the layer's root at /opt; without the python/ folder nothing of the layer is importable.
    event = load_event("status_page/http_api_index.json")

    completed = invoke_built(
        runtime_python, stand_ins, "StatusPageFunction", event, tmp_path, layer_path=LAYER
    )

    assert completed.returncode != 0
    assert "ModuleNotFoundError" in completed.stderr
