"""The build trigger against the Cloudflare Pages stand-in and moto's DynamoDB and Secrets Manager.

Each test starts an empty stand-in (`pages_sandbox`) and, where idempotency is involved, creates the table
with the template's key schema (hash key `id`, TTL attribute `expiration`) in moto. Builds are counted in the
stand-in's store and its request log, so "one build" means one deployment created and one POST received.
"""

from __future__ import annotations

import importlib
import io
import json
import logging
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import ModuleType
from typing import Any

import boto3  # type: ignore[import-untyped, unused-ignore]
import pytest

from pages_ops import runtime
from pages_ops.client import PagesClient
from pages_ops.config import Settings
from pages_ops.credentials import SecretSource
from pages_ops.errors import InvalidEventError, RunFailedError
from pages_ops.idempotency import RECORD_TTL_SECONDS, TickLedger, forget_ledgers
from pages_ops.trigger import UNCERTAIN_SETTLE_SECONDS, TriggerRun, trigger_builds
from sandbox.cloudflare_pages import SANDBOX_ACCOUNT_ID, SANDBOX_API_TOKEN, PagesSandbox
from tests.conftest import load_event

pytestmark = pytest.mark.integration

TICK = "2026-03-02T06:00:00Z"
NEXT_TICK = "2026-03-02T07:00:00Z"
TABLE = "cf-pages-ops-idempotency-test"


def tick_event(tick: str = TICK, **keys: str) -> dict[str, str]:
    return {"scheduled_time": tick, "execution_id": "d32c5kddcf5bb8c3", **keys}


@dataclass
class ShrinkingContext:
    """A Lambda context whose remaining time runs down with the real clock, as Lambda's does."""

    budget_ms: int = 20_000
    started: float = field(default_factory=time.monotonic)
    function_name: str = "cf-pages-ops-TriggerBuildFunction"
    memory_limit_in_mb: int = 128
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:cf-pages-ops-TriggerBuild"
    aws_request_id: str = "0b1c2d3e-0000-4000-8000-0000000itest"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self.budget_ms - int((time.monotonic() - self.started) * 1000))


class Clock:
    """A clock that follows real time plus an offset that tests can move forward."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += timedelta(seconds=seconds)


class LambdaKilledError(BaseException):
    """Stands in for Lambda ending the process: no `except Exception` catches it, so nothing is cleaned up."""


@dataclass
class StaticSecrets:
    deploy_hooks: dict[str, str] = field(default_factory=dict)

    def get(self) -> Any:
        from pages_ops.credentials import Credentials, SecretDocument

        return SecretDocument(
            credentials=Credentials(api_token=SANDBOX_API_TOKEN), deploy_hooks=self.deploy_hooks
        )


@pytest.fixture(autouse=True)
def _fresh_ledgers() -> Iterator[None]:
    forget_ledgers()
    yield
    forget_ledgers()


@pytest.fixture
def table(aws: str) -> str:
    """The idempotency table, created in moto with the template's key schema and TTL attribute."""
    dynamodb = boto3.client("dynamodb", endpoint_url=aws)
    dynamodb.create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    dynamodb.update_time_to_live(
        TableName=TABLE, TimeToLiveSpecification={"Enabled": True, "AttributeName": "expiration"}
    )
    return TABLE


@pytest.fixture
def docs(pages_sandbox: PagesSandbox) -> PagesSandbox:
    """The stand-in with project `docs` and one finished production deployment."""
    pages_sandbox.store.add_project("docs")
    pages_sandbox.store.add_deployment(
        "docs", status="success", created_on=datetime.now(UTC) - timedelta(days=1)
    )
    return pages_sandbox


def run(
    event: object,
    settings: Settings,
    client: PagesClient,
    *,
    context: ShrinkingContext | None = None,
    secrets: Any = None,
    ledger: TickLedger | None = None,
    clock: Callable[[], datetime] | None = None,
) -> TriggerRun:
    return trigger_builds(
        event,
        context or ShrinkingContext(),
        settings=settings,
        client=client,
        secrets=secrets or StaticSecrets(),
        ledger=ledger,
        clock=clock,
    )


def settled_log(sandbox: PagesSandbox, quiet_seconds: float = 0.05, timeout: float = 2.0) -> list[Any]:
    """The stand-in's request log once no record has been added for `quiet_seconds`.

    The stand-in appends a request's record after it sent the response, so a client can hold the response a
    moment before the record exists.
    """
    deadline = time.monotonic() + timeout
    log = sandbox.request_log
    while time.monotonic() < deadline:
        time.sleep(quiet_seconds)
        latest = sandbox.request_log
        if len(latest) == len(log):
            return latest
        log = latest
    return log


def posts(sandbox: PagesSandbox, project: str = "docs") -> list[Any]:
    path = f"/client/v4/accounts/{SANDBOX_ACCOUNT_ID}/pages/projects/{project}/deployments"
    return [record for record in settled_log(sandbox) if record.method == "POST" and record.path == path]


def deployments(sandbox: PagesSandbox, project: str = "docs") -> list[str]:
    return sandbox.store.deployment_ids(project)


def stored_items() -> list[dict[str, Any]]:
    dynamodb = boto3.client("dynamodb")
    return list(dynamodb.scan(TableName=TABLE)["Items"])


# Deduplication of ticks


def test_same_tick_twice_builds_once(
    docs: PagesSandbox, make_settings: Any, sandbox_client: PagesClient, table: str
) -> None:
    settings = make_settings(idempotency_table=table)
    ledger = TickLedger(table)

    first = run(tick_event(), settings, sandbox_client, ledger=ledger)
    second = run(tick_event(), settings, sandbox_client, ledger=ledger)

    assert len(posts(docs)) == 1
    assert len(deployments(docs)) == 2
    assert first.results[0].action == "triggered"
    assert second.results[0].action == "triggered"
    assert second.results[0].deployment_id == first.results[0].deployment_id
    assert second.results[0].url == first.results[0].url
    assert second.results[0].reason == f"tick {TICK} was already handled by an earlier delivery"
    assert second.results[0].replayed
    items = stored_items()
    assert len(items) == 1
    assert items[0]["status"] == {"S": "COMPLETED"}
    assert items[0]["id"]["S"].startswith("cf-pages-ops.trigger_build#")


class DynamoDbCalls:
    """Records the operation name of every DynamoDB call a client sends, through botocore's event hooks."""

    def __init__(self) -> None:
        self.operations: list[str] = []

    def __call__(self, model: Any, **kwargs: Any) -> None:
        self.operations.append(model.name)


def test_tick_costs_two_writes_no_read(
    docs: PagesSandbox, make_settings: Any, sandbox_client: PagesClient, table: str, aws: str
) -> None:
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

    settings = make_settings(idempotency_table=table)
    dynamodb = boto3.client("dynamodb", endpoint_url=aws)
    calls = DynamoDbCalls()
    dynamodb.meta.events.register("before-call.dynamodb", calls)
    ledger = TickLedger(table, persistence_store=DynamoDBPersistenceLayer(table, boto3_client=dynamodb))

    run(tick_event(), settings, sandbox_client, ledger=ledger)
    first = list(calls.operations)
    calls.operations.clear()
    replay = run(tick_event(), settings, sandbox_client, ledger=ledger)

    assert first == ["PutItem", "UpdateItem"]
    # The failed conditional PutItem returns the stored record, so the replay needs no GetItem either.
    assert calls.operations == ["PutItem"]
    assert replay.results[0].replayed
    assert len(posts(docs)) == 1


def test_two_ticks_build_twice(
    docs: PagesSandbox, make_settings: Any, sandbox_client: PagesClient, table: str
) -> None:
    settings = make_settings(idempotency_table=table, skip_if_building=False)
    ledger = TickLedger(table)

    first = run(tick_event(TICK), settings, sandbox_client, ledger=ledger)
    second = run(tick_event(NEXT_TICK), settings, sandbox_client, ledger=ledger)

    assert len(posts(docs)) == 2
    assert len(deployments(docs)) == 3
    assert first.results[0].deployment_id != second.results[0].deployment_id
    assert len(stored_items()) == 2


def test_retry_after_other_project_failed(
    docs: PagesSandbox, make_settings: Any, sandbox_client: PagesClient, table: str
) -> None:
    settings = make_settings(idempotency_table=table, projects=("docs", "blog"))
    ledger = TickLedger(table)

    with pytest.raises(RunFailedError, match="8000007") as raised:
        run(tick_event(), settings, sandbox_client, ledger=ledger)
    docs.store.add_project("blog")
    retry = run(tick_event(), settings, sandbox_client, ledger=ledger)

    assert [result["action"] for result in raised.value.results] == ["triggered", "failed"]
    assert len(posts(docs, "docs")) == 1
    assert len(posts(docs, "blog")) == 1
    assert [result.action for result in retry.results] == ["triggered", "triggered"]
    assert retry.results[0].replayed
    assert retry.results[0].deployment_id == raised.value.results[0]["deployment_id"]
    assert not retry.results[1].replayed


def test_lost_response_still_one_build(
    docs: PagesSandbox, make_settings: Any, sandbox_client: PagesClient, table: str
) -> None:
    settings = make_settings(idempotency_table=table)
    ledger = TickLedger(table)
    before = set(deployments(docs))
    hang = docs.faults.hang(method="POST", path=r"/pages/projects/docs/deployments$", count=1)

    started = time.monotonic()
    with pytest.raises(RunFailedError, match="whether a build started is unknown") as raised:
        # 4 s of Lambda time leave 2 s for requests: the held POST times out within them.
        run(tick_event(), settings, sandbox_client, ledger=ledger, context=ShrinkingContext(4_000))
    elapsed = time.monotonic() - started
    # Cloudflare receives the request after all and creates the deployment: only the response was lost.
    hang.clear()
    created = wait_for_new_deployment(docs, before)
    retry = run(tick_event(), settings, sandbox_client, ledger=ledger)

    assert elapsed < 4.0
    assert "timed out" in str(raised.value)
    assert len(posts(docs)) == 1
    assert set(deployments(docs)) - before == {created}
    assert retry.results[0].action == "triggered"
    assert retry.results[0].deployment_id == created
    assert retry.results[0].reason is not None
    assert retry.results[0].reason.startswith("an earlier attempt's build request got no response")
    # The resolved result replaces the unknown one, so a later delivery replays it without a lookup.
    settled_log(docs)
    docs.reset_request_log()
    again = run(tick_event(), settings, sandbox_client, ledger=ledger)
    assert again.results[0].deployment_id == created
    assert settled_log(docs) == []


def test_server_error_retry_builds_once(
    docs: PagesSandbox, make_settings: Any, sandbox_client: PagesClient, table: str
) -> None:
    settings = make_settings(idempotency_table=table)
    ledger = TickLedger(table)
    clock = Clock()
    before = set(deployments(docs))
    docs.faults.server_error(method="POST", path=r"/pages/projects/docs/deployments$", count=1)

    with pytest.raises(RunFailedError, match=r"\[8000000\]"):
        run(tick_event(), settings, sandbox_client, ledger=ledger, clock=clock)
    with pytest.raises(RunFailedError, match="no build from it shows yet, so none is started now"):
        run(tick_event(), settings, sandbox_client, ledger=ledger, clock=clock)
    clock.advance(UNCERTAIN_SETTLE_SECONDS + 1)
    retry = run(tick_event(), settings, sandbox_client, ledger=ledger, clock=clock)

    new = set(deployments(docs)) - before
    assert len(new) == 1
    assert retry.results[0].action == "triggered"
    assert retry.results[0].deployment_id in new
    # The injected 5xx kept the first POST from reaching the API, so only attempt 2's POST created a build.
    assert len(posts(docs)) == 2
    assert len(stored_items()) == 2


def test_killed_invocation_record_expires(
    docs: PagesSandbox,
    make_settings: Any,
    sandbox_client: PagesClient,
    table: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = make_settings(idempotency_table=table)
    ledger = TickLedger(table)
    create = sandbox_client.create_deployment

    def create_then_die(project: str, *, branch: str | None = None) -> Any:
        create(project, branch=branch)
        raise LambdaKilledError

    budget_ms = 4_000
    context = ShrinkingContext(budget_ms)
    with monkeypatch.context() as patch:
        patch.setattr(sandbox_client, "create_deployment", create_then_die)
        with pytest.raises(LambdaKilledError):
            run(tick_event(), settings, sandbox_client, ledger=ledger, context=context)

    items = stored_items()
    assert len(items) == 1
    item = items[0]
    assert item["status"] == {"S": "INPROGRESS"}
    # register_lambda_context makes the in-progress state end with the invocation's time, in milliseconds.
    in_progress_until = int(item["in_progress_expiration"]["N"]) / 1000
    expected = time.time() - (time.monotonic() - context.started) + budget_ms / 1000
    assert abs(in_progress_until - expected) < 1.0
    assert abs(int(item["expiration"]["N"]) - (time.time() + RECORD_TTL_SECONDS)) < 10

    while_held = run(tick_event(), settings, sandbox_client, ledger=ledger)
    time.sleep(max(0.0, in_progress_until - time.time()) + 0.1)
    after_expiry = run(tick_event(), settings, sandbox_client, ledger=ledger)

    assert while_held.results[0].action == "skipped"
    assert while_held.results[0].reason == f"another invocation is starting the build of docs for tick {TICK}"
    assert len(posts(docs)) == 1
    assert after_expiry.results[0].action == "triggered"
    assert after_expiry.results[0].reason is not None
    assert after_expiry.results[0].reason.startswith(
        "an earlier invocation for this tick ended without a result"
    )
    assert after_expiry.results[0].deployment_id == deployments(docs)[0]


def test_killed_before_post_builds_on_retry(
    docs: PagesSandbox,
    make_settings: Any,
    sandbox_client: PagesClient,
    table: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = make_settings(idempotency_table=table)
    ledger = TickLedger(table)

    def die(project: str, *, branch: str | None = None) -> Any:
        raise LambdaKilledError

    with monkeypatch.context() as patch:
        patch.setattr(sandbox_client, "create_deployment", die)
        with pytest.raises(LambdaKilledError):
            run(tick_event(), settings, sandbox_client, ledger=ledger, context=ShrinkingContext(3_000))
    time.sleep(3.1)
    retry = run(tick_event(), settings, sandbox_client, ledger=ledger)

    assert retry.results[0].action == "triggered"
    assert len(posts(docs)) == 1


def test_manual_invocation_not_deduplicated(
    docs: PagesSandbox,
    make_settings: Any,
    sandbox_client: PagesClient,
    table: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="pages_ops.trigger")
    settings = make_settings(idempotency_table=table, skip_if_building=False)

    run({}, settings, sandbox_client)
    run({}, settings, sandbox_client)

    assert len(posts(docs)) == 2
    assert stored_items() == []
    assert sum("not deduplicated" in record.getMessage() for record in caplog.records) == 2


# Builds in progress


def test_build_in_progress_skips(docs: PagesSandbox, make_settings: Any, sandbox_client: PagesClient) -> None:
    running = docs.store.add_deployment("docs", status="active", stage="build")

    result = run(tick_event(), make_settings(), sandbox_client).results[0]

    assert result.action == "skipped"
    assert result.reason == f"deployment {running['short_id']} is still building (stage build is active)"
    assert posts(docs) == []


def test_skip_disabled_builds_anyway(
    docs: PagesSandbox, make_settings: Any, sandbox_client: PagesClient
) -> None:
    docs.store.add_deployment("docs", status="active", stage="queued")

    result = run(tick_event(), make_settings(skip_if_building=False), sandbox_client).results[0]

    assert result.action == "triggered"
    assert len(posts(docs)) == 1


def test_new_build_makes_next_tick_skip(
    docs: PagesSandbox, make_settings: Any, sandbox_client: PagesClient
) -> None:
    first = run(tick_event(TICK), make_settings(), sandbox_client).results[0]
    second = run(tick_event(NEXT_TICK), make_settings(), sandbox_client).results[0]

    assert first.action == "triggered"
    assert second.action == "skipped"
    assert second.reason is not None
    assert first.deployment_id is not None
    assert second.reason.startswith(f"deployment {first.deployment_id[:8]} is still queued")


# Deploy hooks and branches


def test_deploy_hook_mode(
    docs: PagesSandbox,
    make_settings: Any,
    create_secret: Callable[[str, Any], str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="pages_ops")
    hook_url = docs.deploy_hook_url("docs", "main")
    hook_id = hook_url.rsplit("/", 1)[1]
    arn = create_secret(
        "cf-pages-ops/trigger", {"api_token": SANDBOX_API_TOKEN, "deploy_hooks": {"docs": hook_url}}
    )
    settings = make_settings(secret_id=arn)
    secrets = SecretSource(arn)
    client = PagesClient.from_settings(settings, secrets)

    result = run(tick_event(), settings, client, secrets=secrets).results[0]

    assert result.action == "triggered"
    assert result.url is None
    assert result.deployment_id is not None
    created = docs.store.get_deployment("docs", result.deployment_id)
    assert created["deployment_trigger"]["type"] == "deploy_hook"
    hook_requests = [record for record in settled_log(docs) if record.path.endswith(hook_id)]
    assert len(hook_requests) == 1
    assert hook_requests[0].auth is None
    assert posts(docs) == []
    product_records = [record for record in caplog.records if record.name.startswith("pages_ops")]
    assert product_records
    for record in product_records:
        assert hook_id not in record.getMessage()
        assert hook_id not in str(record.__dict__)


def test_deploy_hook_rejects_branch(
    docs: PagesSandbox, make_settings: Any, sandbox_client: PagesClient
) -> None:
    secrets = StaticSecrets({"docs": docs.deploy_hook_url("docs", "main")})

    with pytest.raises(RunFailedError, match="builds through a deploy hook") as raised:
        run(tick_event(branch="staging"), make_settings(), sandbox_client, secrets=secrets)

    assert raised.value.results[0]["action"] == "failed"
    assert settled_log(docs) == []


def multipart_branch(body: bytes) -> str | None:
    match = re.search(rb'Content-Disposition: form-data; name="branch"\r\n\r\n(.*?)\r\n--', body, re.S)
    return match.group(1).decode() if match else None


def test_branch_from_env(docs: PagesSandbox, make_settings: Any, sandbox_client: PagesClient) -> None:
    result = run(tick_event(), make_settings(trigger_branch="staging"), sandbox_client).results[0]

    assert multipart_branch(posts(docs)[0].body) == "staging"
    assert result.branch == "staging"
    assert result.deployment_id is not None
    assert docs.store.get_deployment("docs", result.deployment_id)["deployment_trigger"]["metadata"][
        "branch"
    ] == ("staging")


def test_branch_from_event_wins(docs: PagesSandbox, make_settings: Any, sandbox_client: PagesClient) -> None:
    settings = make_settings(trigger_branch="staging")

    result = run(tick_event(branch="release/2026-03"), settings, sandbox_client).results[0]

    assert multipart_branch(posts(docs)[0].body) == "release/2026-03"
    assert result.branch == "release/2026-03"


def test_no_branch_sends_bare_post(
    docs: PagesSandbox, make_settings: Any, sandbox_client: PagesClient
) -> None:
    result = run(tick_event(), make_settings(), sandbox_client).results[0]

    assert posts(docs)[0].body == b""
    assert result.branch == "main"


# Failures


def test_api_refusal_raises_with_codes(
    pages_sandbox: PagesSandbox, make_settings: Any, sandbox_client: PagesClient
) -> None:
    pages_sandbox.store.add_project("uploads", source_type=None)

    with pytest.raises(RunFailedError) as raised:
        run(tick_event(), make_settings(projects=("uploads",), skip_if_building=False), sandbox_client)

    message = str(raised.value)
    assert "failed with HTTP 400: [8000096]" in message
    assert "[error codes 8000096]" in message
    assert raised.value.results[0]["error_codes"] == [8000096]
    assert SANDBOX_API_TOKEN not in message
    assert SANDBOX_ACCOUNT_ID not in message


def test_server_error_without_table(
    docs: PagesSandbox, make_settings: Any, sandbox_client: PagesClient
) -> None:
    docs.faults.server_error(method="POST", path=r"/deployments$", count=1)

    with pytest.raises(RunFailedError) as raised:
        run(tick_event(), make_settings(), sandbox_client)

    assert "[error codes 8000000]" in str(raised.value)
    assert len(posts(docs)) == 1


def test_hung_api_times_out(docs: PagesSandbox, make_settings: Any, sandbox_client: PagesClient) -> None:
    hang = docs.faults.hang(method="GET", path=r"/pages/projects/docs$")
    budget_ms = 5_000

    started = time.monotonic()
    try:
        with pytest.raises(RunFailedError) as raised:
            run(tick_event(), make_settings(), sandbox_client, context=ShrinkingContext(budget_ms))
    finally:
        hang.clear()
    elapsed = time.monotonic() - started

    # The deadline keeps 2 s of the 5 s back: the request gives up after about 3 s, within the budget.
    assert 2.5 < elapsed < budget_ms / 1000
    assert "GET /pages/projects/docs timed out waiting" in str(raised.value)
    assert posts(docs) == []


def test_several_projects_one_failing(
    pages_sandbox: PagesSandbox, make_settings: Any, sandbox_client: PagesClient
) -> None:
    for name in ("docs", "blog", "shop"):
        pages_sandbox.store.add_project(name)
    pages_sandbox.faults.server_error(path=r"/pages/projects/blog$")
    settings = make_settings(projects=("docs", "blog", "shop"))

    with pytest.raises(RunFailedError) as raised:
        run(tick_event(), settings, sandbox_client)

    assert [(item["project"], item["action"]) for item in raised.value.results] == [
        ("docs", "triggered"),
        ("blog", "failed"),
        ("shop", "triggered"),
    ]
    assert str(raised.value).startswith(
        "build trigger failed for 1 of 3 projects: blog: GET /pages/projects/blog"
    )
    assert len(posts(pages_sandbox, "docs")) == 1
    assert posts(pages_sandbox, "blog") == []
    assert len(posts(pages_sandbox, "shop")) == 1


def test_unmanaged_project_rejected(
    docs: PagesSandbox, make_settings: Any, sandbox_client: PagesClient
) -> None:
    docs.store.add_project("internal-tools")

    with pytest.raises(InvalidEventError, match="internal-tools"):
        run(tick_event(project="internal-tools"), make_settings(), sandbox_client)

    assert settled_log(docs) == []


# The Lambda handler, configured from the environment as on Lambda


@pytest.fixture
def handler_env(
    docs: PagesSandbox,
    table: str,
    create_secret: Callable[[str, Any], str],
    monkeypatch: pytest.MonkeyPatch,
) -> PagesSandbox:
    arn = create_secret("cf-pages-ops/handler", {"api_token": SANDBOX_API_TOKEN})
    environment = {
        "CLOUDFLARE_ACCOUNT_ID": SANDBOX_ACCOUNT_ID,
        "CLOUDFLARE_SECRET_ID": arn,
        "CLOUDFLARE_API_BASE_URL": docs.base_url,
        "CLOUDFLARE_RATE_LIMIT_PER_MINUTE": "240",
        "PAGES_PROJECTS": "docs",
        "IDEMPOTENCY_TABLE": table,
    }
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    runtime.reset()
    return docs


@dataclass
class Handler:
    """The handler module, and what its Powertools logger wrote during the test."""

    module: ModuleType
    logs: io.StringIO

    def __call__(self, event: object, context: ShrinkingContext) -> dict[str, Any]:
        result: dict[str, Any] = self.module.lambda_handler(event, context)
        return result

    def log_lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.logs.getvalue().splitlines()]


@pytest.fixture
def app() -> Iterator[Handler]:
    """The handler module, imported after `handler_env` set the environment it parses at cold start."""
    module = importlib.import_module("trigger_build.app")
    stream_handler = module.logger.registered_handler
    assert isinstance(stream_handler, logging.StreamHandler)
    buffer = io.StringIO()
    # The handler is shared by every Powertools Logger of the service, and another test may have left it a
    # closed capture stream, which setStream() would try to flush: swap the attribute instead.
    previous = stream_handler.stream
    stream_handler.stream = buffer
    yield Handler(module, buffer)
    stream_handler.stream = previous


def emitted_metrics(output: str) -> dict[str, float]:
    for line in output.splitlines():
        if line.startswith("{") and '"_aws"' in line:
            document = json.loads(line)
            names = [metric["Name"] for metric in document["_aws"]["CloudWatchMetrics"][0]["Metrics"]]
            # Embedded metric format keeps each metric's values in a list.
            return {name: document[name][0] for name in names}
    return {}


@pytest.mark.parametrize("event_file", ["scheduler.json", "scheduled_event.json"])
def test_handler_with_schedule_events(
    handler_env: PagesSandbox, app: Handler, event_file: str, capsys: pytest.CaptureFixture[str]
) -> None:
    event = load_event(f"trigger_build/{event_file}")

    first = app(event, ShrinkingContext())
    metrics_output = capsys.readouterr().out
    second = app(event, ShrinkingContext())

    assert first["results"][0]["action"] == "triggered"
    assert set(first["results"][0]) == {"project", "action", "deployment_id", "url", "reason"}
    assert first["results"][0]["url"].startswith("https://")
    assert second["results"][0]["deployment_id"] == first["results"][0]["deployment_id"]
    assert len(posts(handler_env)) == 1
    assert emitted_metrics(metrics_output) == {
        "BuildsTriggered": 1.0,
        "BuildsSkipped": 0.0,
        "BuildsFailed": 0.0,
        "BuildsReplayed": 0.0,
    }
    lines = app.log_lines()
    triggered = [line for line in lines if line["message"].startswith("build triggered for docs")]
    assert len(triggered) == 1
    assert triggered[0]["level"] == "INFO"
    assert triggered[0]["project"] == "docs"
    assert triggered[0]["deployment_id"] == first["results"][0]["deployment_id"]
    assert triggered[0]["tick"] == event.get("scheduled_time", event.get("time"))
    assert triggered[0]["function_request_id"] == ShrinkingContext().aws_request_id
    assert SANDBOX_API_TOKEN not in app.logs.getvalue()


def test_handler_one_project_event(handler_env: PagesSandbox, app: Handler) -> None:
    event = load_event("trigger_build/scheduler_one_project.json")

    result = app(event, ShrinkingContext())

    assert [item["project"] for item in result["results"]] == [event["project"]]
    assert multipart_branch(posts(handler_env)[0].body) == event["branch"]


# An invalid event fails before any project, so the handler has no metric to flush and Powertools warns.
@pytest.mark.filterwarnings("ignore:No application metrics to publish:UserWarning")
def test_handler_malformed_event(handler_env: PagesSandbox, app: Handler) -> None:
    with pytest.raises(InvalidEventError, match="event must be a JSON object"):
        app(["not", "an", "object"], ShrinkingContext())
    with pytest.raises(InvalidEventError, match="not in PAGES_PROJECTS"):
        app({"project": "internal-tools"}, ShrinkingContext())

    assert settled_log(handler_env) == []


def test_handler_failure_raises(
    handler_env: PagesSandbox, app: Handler, capsys: pytest.CaptureFixture[str]
) -> None:
    handler_env.faults.server_error(path=r"/pages/projects/docs$")

    with pytest.raises(RunFailedError, match=r"\[error codes 8000000\]"):
        app(load_event("trigger_build/scheduler.json"), ShrinkingContext())

    assert emitted_metrics(capsys.readouterr().out)["BuildsFailed"] == 1.0
    failed = [line for line in app.log_lines() if line["message"].startswith("build failed for docs")]
    assert len(failed) == 1
    assert failed[0]["level"] == "ERROR"


def wait_for_new_deployment(sandbox: PagesSandbox, before: set[str], timeout: float = 5.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        new = set(deployments(sandbox)) - before
        if new:
            assert len(new) == 1
            return new.pop()
        time.sleep(0.02)
    raise AssertionError("the held POST never reached the stand-in's API")
