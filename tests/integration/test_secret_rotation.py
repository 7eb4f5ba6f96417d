"""Secret rotation end to end: the secret in Secrets Manager (moto), a real SecretSource reading it through
Powertools, and the Cloudflare stand-in switched to new credentials.

GetSecretValue calls are counted on the boto3 client that Powertools uses, and forced refetches by wrapping
the fetcher.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities.parameters.secrets import SecretsProvider

from pages_ops import aws as pages_ops_aws
from pages_ops import credentials as credentials_module
from pages_ops.client import PagesClient
from pages_ops.credentials import Credentials, SecretSource, fetch_with_powertools
from pages_ops.errors import AuthenticationError, SecretError
from pages_ops.timing import RetryPolicy
from sandbox.cloudflare_pages import (
    SANDBOX_ACCOUNT_ID,
    SANDBOX_API_KEY,
    SANDBOX_API_TOKEN,
    SANDBOX_EMAIL,
    PagesSandbox,
)

pytestmark = pytest.mark.integration

SECRET_NAME = "cf-pages-ops/cloudflare"
ROTATED_TOKEN = "rotated-sandbox-token-not-a-real-secret"
PROJECT_PATH = f"/client/v4/accounts/{SANDBOX_ACCOUNT_ID}/pages/projects/docs"


class CountingFetcher:
    """Wraps the real Powertools fetcher and records each call's force_fetch flag."""

    def __init__(self) -> None:
        self.calls: list[bool] = []

    def __call__(self, secret_id: str, force_fetch: bool) -> str | bytes:
        self.calls.append(force_fetch)
        return fetch_with_powertools(secret_id, force_fetch)

    @property
    def forced(self) -> int:
        return self.calls.count(True)


class ApiCallCounter:
    """Counts GetSecretValue calls that reach Secrets Manager, through botocore's event hooks."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, **kwargs: Any) -> None:
        self.count += 1


@pytest.fixture
def get_secret_value_calls(aws: str) -> Iterator[ApiCallCounter]:
    """Install the container's secrets provider with a counter on its boto3 client."""
    counter = ApiCallCounter()
    client = boto3.client("secretsmanager", endpoint_url=aws)
    client.meta.events.register("before-call.secrets-manager.GetSecretValue", counter)
    pages_ops_aws.override(secrets_provider_value=SecretsProvider(boto3_client=client))
    yield counter
    pages_ops_aws.reset()


@pytest.fixture
def secrets_manager(aws: str) -> Any:
    return boto3.client("secretsmanager", endpoint_url=aws)


@pytest.fixture
def sandbox() -> Iterator[PagesSandbox]:
    with PagesSandbox(port=0) as running:
        running.store.add_project("docs")
        yield running


def make_client(sandbox: PagesSandbox, source: SecretSource) -> PagesClient:
    return PagesClient(
        SANDBOX_ACCOUNT_ID,
        source,
        base_url=sandbox.base_url,
        retry=RetryPolicy(base_delay=0.01, max_delay=0.05),
    )


def statuses(sandbox: PagesSandbox) -> list[int | None]:
    return [record.status for record in sandbox.request_log]


def test_rotation_refetches_once(
    sandbox: PagesSandbox,
    create_secret: Callable[[str, dict[str, Any] | str], str],
    secrets_manager: Any,
    get_secret_value_calls: ApiCallCounter,
) -> None:
    arn = create_secret(SECRET_NAME, {"api_token": SANDBOX_API_TOKEN})
    fetcher = CountingFetcher()
    source = SecretSource(arn, fetcher)
    client = make_client(sandbox, source)
    client.get_project("docs")
    assert get_secret_value_calls.count == 1

    secrets_manager.put_secret_value(SecretId=arn, SecretString=json.dumps({"api_token": ROTATED_TOKEN}))
    sandbox.store.set_credentials(api_token=ROTATED_TOKEN)
    sandbox.reset_request_log()

    # The cached old token is rejected; one forced refetch brings the new one, and the request is repeated.
    assert client.get_project("docs").name == "docs"
    assert fetcher.forced == 1
    assert get_secret_value_calls.count == 2
    assert statuses(sandbox) == [403, 200]
    assert source.credentials() == Credentials(api_token=ROTATED_TOKEN)

    # The next call sends the new token at once, from the refreshed cache.
    sandbox.reset_request_log()
    assert client.get_project("docs").name == "docs"
    assert fetcher.forced == 1
    assert get_secret_value_calls.count == 2
    assert statuses(sandbox) == [200]


def test_rotation_to_key_pair(
    sandbox: PagesSandbox,
    create_secret: Callable[[str, dict[str, Any] | str], str],
    secrets_manager: Any,
    get_secret_value_calls: ApiCallCounter,
) -> None:
    arn = create_secret(SECRET_NAME, {"api_token": SANDBOX_API_TOKEN})
    source = SecretSource(arn, CountingFetcher())
    client = make_client(sandbox, source)
    client.get_project("docs")

    secrets_manager.put_secret_value(
        SecretId=arn, SecretString=json.dumps({"email": SANDBOX_EMAIL, "api_key": SANDBOX_API_KEY})
    )
    sandbox.store.set_credentials(api_token="")
    sandbox.reset_request_log()

    assert client.get_project("docs").name == "docs"
    assert [record.auth for record in sandbox.request_log] == ["bearer", "global_key"]
    assert statuses(sandbox) == [403, 200]


def test_rotation_secret_not_updated(
    sandbox: PagesSandbox,
    create_secret: Callable[[str, dict[str, Any] | str], str],
    get_secret_value_calls: ApiCallCounter,
) -> None:
    # Cloudflare revoked the token but the secret still contains it: one refetch, no second request.
    arn = create_secret(SECRET_NAME, {"api_token": SANDBOX_API_TOKEN})
    fetcher = CountingFetcher()
    client = make_client(sandbox, SecretSource(arn, fetcher))
    sandbox.store.set_credentials(api_token=ROTATED_TOKEN)

    with pytest.raises(AuthenticationError) as caught:
        client.get_project("docs")

    assert caught.value.codes == (10000,)
    assert fetcher.forced == 1
    assert get_secret_value_calls.count == 2
    assert statuses(sandbox) == [403]


def test_revoked_token_read_once_per_interval(
    sandbox: PagesSandbox,
    create_secret: Callable[[str, dict[str, Any] | str], str],
    get_secret_value_calls: ApiCallCounter,
) -> None:
    # Every call is rejected, but only the first reads the unchanged secret again.
    arn = create_secret(SECRET_NAME, {"api_token": SANDBOX_API_TOKEN})
    fetcher = CountingFetcher()
    client = make_client(sandbox, SecretSource(arn, fetcher))
    sandbox.store.set_credentials(api_token=ROTATED_TOKEN)

    for _ in range(3):
        with pytest.raises(AuthenticationError):
            client.get_project("docs")

    assert fetcher.forced == 1
    assert get_secret_value_calls.count == 2
    assert statuses(sandbox) == [403, 403, 403]


def test_rotation_to_malformed_secret(
    sandbox: PagesSandbox,
    create_secret: Callable[[str, dict[str, Any] | str], str],
    secrets_manager: Any,
    get_secret_value_calls: ApiCallCounter,
) -> None:
    arn = create_secret(SECRET_NAME, {"api_token": SANDBOX_API_TOKEN})
    client = make_client(sandbox, SecretSource(arn, CountingFetcher()))
    client.get_project("docs")
    secrets_manager.put_secret_value(SecretId=arn, SecretString=json.dumps({"api_token": " "}))
    sandbox.store.set_credentials(api_token=ROTATED_TOKEN)

    with pytest.raises(SecretError) as caught:
        client.get_project("docs")

    assert str(caught.value) == f"secret {arn}: 'api_token' must be a non-empty string"
    assert isinstance(caught.value.__context__, AuthenticationError)


def test_secret_cached_between_calls(
    create_secret: Callable[[str, dict[str, Any] | str], str],
    secrets_manager: Any,
    get_secret_value_calls: ApiCallCounter,
) -> None:
    arn = create_secret(SECRET_NAME, {"api_token": SANDBOX_API_TOKEN, "status_page_users": {"ops": "pw-1"}})
    source = SecretSource(arn, CountingFetcher())
    assert source.get().status_page_users == {"ops": "pw-1"}

    secrets_manager.put_secret_value(
        SecretId=arn, SecretString=json.dumps({"api_token": SANDBOX_API_TOKEN, "status_page_users": {}})
    )

    # Within the cache time the old value is served without calling Secrets Manager.
    assert source.get().status_page_users == {"ops": "pw-1"}
    assert get_secret_value_calls.count == 1


def test_secret_change_after_cache_expiry(
    create_secret: Callable[[str, dict[str, Any] | str], str],
    secrets_manager: Any,
    get_secret_value_calls: ApiCallCounter,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A removed status page user must stop working once the cache expires, with no auth failure involved.
    monkeypatch.setattr(credentials_module, "SECRET_CACHE_SECONDS", 0)
    arn = create_secret(SECRET_NAME, {"api_token": SANDBOX_API_TOKEN, "status_page_users": {"ops": "pw-1"}})
    source = SecretSource(arn, CountingFetcher())
    assert source.get().status_page_users == {"ops": "pw-1"}

    secrets_manager.put_secret_value(
        SecretId=arn, SecretString=json.dumps({"api_token": SANDBOX_API_TOKEN, "status_page_users": {}})
    )

    assert source.get().status_page_users == {}
    assert get_secret_value_calls.count == 2


def test_fetch_missing_secret(get_secret_value_calls: ApiCallCounter) -> None:
    with pytest.raises(SecretError) as caught:
        SecretSource("cf-pages-ops/missing").get()

    assert str(caught.value).startswith("could not read secret cf-pages-ops/missing from Secrets Manager: ")
    assert "ResourceNotFoundException" in str(caught.value)
    assert caught.value.__cause__ is not None


def test_fetch_binary_secret(aws: str, get_secret_value_calls: ApiCallCounter) -> None:
    client = boto3.client("secretsmanager", endpoint_url=aws)
    client.create_secret(Name=SECRET_NAME, SecretBinary=json.dumps({"api_token": SANDBOX_API_TOKEN}).encode())

    assert SecretSource(SECRET_NAME).credentials() == Credentials(api_token=SANDBOX_API_TOKEN)


def test_malformed_secret_in_store(
    create_secret: Callable[[str, dict[str, Any] | str], str], get_secret_value_calls: ApiCallCounter
) -> None:
    create_secret(SECRET_NAME, "api_token=sandbox-api-token-not-a-real-secret")

    with pytest.raises(SecretError) as caught:
        SecretSource(SECRET_NAME).get()

    assert str(caught.value) == f"secret {SECRET_NAME} is not valid JSON (JSONDecodeError)"
    assert SANDBOX_API_TOKEN not in str(caught.value)
