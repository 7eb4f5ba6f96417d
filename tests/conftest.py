"""Shared pytest fixtures: local stand-ins for Cloudflare and AWS, settings and clients pointed at them.

The environment is set before any handler module is imported: fake AWS credentials, a region, and an AWS
endpoint on a closed loopback port, so no test can reach a real AWS endpoint even by mistake. Tests that need
AWS start moto's server on 127.0.0.1 through the `aws` fixture, which points AWS_ENDPOINT_URL at it.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from pages_ops.client import PagesClient
    from pages_ops.config import Settings
    from sandbox.cloudflare_pages import PagesSandbox

FAKE_ENV = {
    "AWS_ACCESS_KEY_ID": "testing-not-a-real-key",
    "AWS_SECRET_ACCESS_KEY": "testing-not-a-real-secret",
    "AWS_SESSION_TOKEN": "testing-not-a-real-token",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    # Port 9 (discard) on loopback: any AWS call that a test forgot to point at moto fails fast, locally.
    "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
    "AWS_EC2_METADATA_DISABLED": "true",
    "POWERTOOLS_SERVICE_NAME": "cf-pages-ops-test",
    "POWERTOOLS_METRICS_NAMESPACE": "CfPagesOpsTest",
    "POWERTOOLS_DEV": "false",
}
os.environ.update(FAKE_ENV)

REPO_ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
EVENTS = REPO_ROOT / "events"

# A fake account id in Cloudflare's format, used where no sandbox is involved.
FAKE_ACCOUNT_ID = "0123456789abcdef0123456789abcdef"
FAKE_API_TOKEN = "test-api-token-not-a-real-secret"


def load_fixture(name: str) -> Any:
    """Load a JSON body from tests/fixtures/cloudflare (see SOURCES.txt there for where each came from)."""
    return json.loads((FIXTURES / "cloudflare" / name).read_text(encoding="utf-8"))


def refused_connection() -> Exception:
    """Return what requests raises when the TCP connection is refused, so nothing of the request was sent.

    That is a ConnectionError around urllib3's MaxRetryError, whose reason is a NewConnectionError.
    """
    import requests
    import urllib3

    reason = urllib3.exceptions.NewConnectionError(None, "Connection refused")  # type: ignore[arg-type]
    cause = urllib3.exceptions.MaxRetryError(None, "/client/v4", reason)  # type: ignore[arg-type]
    return requests.exceptions.ConnectionError(cause)


def load_event(relative_path: str) -> Any:
    """Load a sample event from events/, the same files the README and the demo use."""
    return json.loads((EVENTS / relative_path).read_text(encoding="utf-8"))


@pytest.fixture(autouse=True)
def _fresh_runtime() -> Iterator[None]:
    """Give every test a fresh container: no cached settings, clients or secrets."""
    from aws_lambda_powertools.utilities import parameters

    from pages_ops import runtime
    from pages_ops.idempotency import forget_ledgers

    runtime.reset()
    forget_ledgers()
    parameters.clear_caches()
    yield
    runtime.reset()
    forget_ledgers()
    parameters.clear_caches()


@pytest.fixture(autouse=True)
def _layer_logs_reach_caplog() -> Iterator[None]:
    """Let `pages_ops` records propagate to the root logger, where caplog listens, during each test.

    Importing a handler routes the `pages_ops` loggers through Powertools without propagation, which is
    what Lambda needs but would hide their records from caplog in every later test.
    """
    layer_logger = logging.getLogger("pages_ops")
    saved = (list(layer_logger.handlers), layer_logger.propagate, layer_logger.level)
    layer_logger.propagate = True
    yield
    layer_logger.handlers, layer_logger.propagate, layer_logger.level = saved


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """moto's server on 127.0.0.1 and an OS-chosen port, for the whole session."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def aws(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Point AWS_ENDPOINT_URL at moto, and wipe moto's state after the test."""
    import requests

    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    yield moto_endpoint
    requests.post(f"{moto_endpoint}/moto-api/reset", timeout=5)


@pytest.fixture
def create_secret(aws: str) -> Callable[[str, dict[str, Any] | str], str]:
    """Create a Secrets Manager secret in moto and return its ARN. A str value is stored as is."""
    import boto3

    def create(name: str, value: dict[str, Any] | str) -> str:
        client = boto3.client("secretsmanager", endpoint_url=aws)
        text = value if isinstance(value, str) else json.dumps(value)
        return str(client.create_secret(Name=name, SecretString=text)["ARN"])

    return create


@pytest.fixture
def pages_sandbox() -> Iterator[PagesSandbox]:
    """An empty Cloudflare Pages stand-in on 127.0.0.1; tests add the projects they need to its store."""
    from sandbox.cloudflare_pages import PagesSandbox

    with PagesSandbox(port=0, seed=None) as sandbox:
        yield sandbox


@pytest.fixture
def make_settings(pages_sandbox: PagesSandbox) -> Callable[..., Settings]:
    """Build Settings pointed at the sandbox; keyword arguments override any field."""
    from pages_ops.config import Settings
    from sandbox.cloudflare_pages import SANDBOX_ACCOUNT_ID

    def build(**overrides: Any) -> Settings:
        fields: dict[str, Any] = {
            "account_id": SANDBOX_ACCOUNT_ID,
            "secret_id": "cf-pages-ops/test",
            "projects": ("docs",),
            "api_base_url": pages_sandbox.base_url,
            # Fast enough that rate limiting never slows a test, unless a test sets its own.
            "rate_limit_per_minute": 240.0,
        }
        fields.update(overrides)
        return Settings(**fields)

    return build


@pytest.fixture
def sandbox_client(pages_sandbox: PagesSandbox) -> PagesClient:
    """A client authenticated with the sandbox's fake API token, with short retry delays."""
    from pages_ops.client import PagesClient
    from pages_ops.credentials import Credentials, StaticCredentials
    from pages_ops.timing import RetryPolicy
    from sandbox.cloudflare_pages import SANDBOX_ACCOUNT_ID, SANDBOX_API_TOKEN

    return PagesClient(
        SANDBOX_ACCOUNT_ID,
        StaticCredentials(Credentials(api_token=SANDBOX_API_TOKEN)),
        base_url=pages_sandbox.base_url,
        retry=RetryPolicy(base_delay=0.01, max_delay=0.05),
    )
