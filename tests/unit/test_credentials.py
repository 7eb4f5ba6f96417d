"""Unit tests of pages_ops.credentials: the secret's format, its errors, and SecretSource caching."""

from __future__ import annotations

import json
import threading
from typing import TYPE_CHECKING, Any, cast

import pytest
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

from pages_ops import aws
from pages_ops.credentials import (
    REFETCH_INTERVAL_SECONDS,
    SECRET_CACHE_SECONDS,
    Credentials,
    SecretDocument,
    SecretSource,
    StaticCredentials,
    fetch_with_powertools,
    parse_secret,
)
from pages_ops.errors import PagesOpsError, SecretError

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.parameters.secrets import SecretsProvider

SECRET_ID = "cf-pages-ops/cloudflare"
FAKE_TOKEN = "fake-token-value-3f9a-not-real"
FAKE_EMAIL = "fake-ops-user@example.com"
FAKE_KEY = "fakeglobalkey0123456789abcdef0123456"
FAKE_HOOK = "https://api.cloudflare.com/client/v4/pages/webhooks/deploy_hooks/fake-hook-id-77aa"
FAKE_PASSWORD = "fake-status-password-9c1e"
FAKE_VALUES = (FAKE_TOKEN, FAKE_EMAIL, FAKE_KEY, FAKE_HOOK, FAKE_PASSWORD)


def secret_error(document: Any) -> SecretError:
    text = document if isinstance(document, str | bytes) else json.dumps(document)
    with pytest.raises(SecretError) as caught:
        parse_secret(text, secret_id=SECRET_ID)
    return caught.value


def assert_values_hidden(error: BaseException) -> None:
    for value in FAKE_VALUES:
        assert value not in str(error)
        assert value not in repr(error)


# The two credential forms.
def test_token_form() -> None:
    document = parse_secret(json.dumps({"api_token": FAKE_TOKEN}), secret_id=SECRET_ID)

    assert document.credentials == Credentials(api_token=FAKE_TOKEN)
    assert document.credentials.kind == "api_token"
    assert document.credentials.headers() == {"Authorization": f"Bearer {FAKE_TOKEN}"}
    assert document.deploy_hooks == {}
    assert document.status_page_users == {}


def test_key_pair_form() -> None:
    document = parse_secret(json.dumps({"email": FAKE_EMAIL, "api_key": FAKE_KEY}), secret_id=SECRET_ID)

    assert document.credentials == Credentials(email=FAKE_EMAIL, api_key=FAKE_KEY)
    assert document.credentials.kind == "global_api_key"
    assert document.credentials.headers() == {"X-Auth-Email": FAKE_EMAIL, "X-Auth-Key": FAKE_KEY}


def test_optional_keys() -> None:
    text = json.dumps(
        {
            "api_token": FAKE_TOKEN,
            "deploy_hooks": {"docs": FAKE_HOOK},
            "status_page_users": {"ops": FAKE_PASSWORD, "viewer": "another-fake-password"},
            "comment": "unknown keys are ignored",
        }
    )

    document = parse_secret(text, secret_id=SECRET_ID)

    assert document.deploy_hooks == {"docs": FAKE_HOOK}
    assert document.status_page_users == {"ops": FAKE_PASSWORD, "viewer": "another-fake-password"}


def test_optional_keys_null() -> None:
    text = json.dumps({"api_token": FAKE_TOKEN, "deploy_hooks": None, "status_page_users": None})

    document = parse_secret(text, secret_id=SECRET_ID)

    assert document.deploy_hooks == {}
    assert document.status_page_users == {}


def test_optional_keys_empty_objects() -> None:
    text = json.dumps({"api_token": FAKE_TOKEN, "deploy_hooks": {}, "status_page_users": {}})

    assert parse_secret(text, secret_id=SECRET_ID).deploy_hooks == {}


def test_secret_bytes() -> None:
    document = parse_secret(json.dumps({"api_token": FAKE_TOKEN}).encode(), secret_id=SECRET_ID)

    assert document.credentials.api_token == FAKE_TOKEN


def test_reprs_hide_values() -> None:
    document = SecretDocument(
        credentials=Credentials(email=FAKE_EMAIL, api_key=FAKE_KEY),
        deploy_hooks={"docs": FAKE_HOOK},
        status_page_users={"ops": FAKE_PASSWORD},
    )

    for text in (repr(document), str(document), repr(Credentials(api_token=FAKE_TOKEN))):
        for value in FAKE_VALUES:
            assert value not in text


# Malformed secrets: the error names the problem and the key, never a value.
@pytest.mark.parametrize(
    "text",
    ["", "{", FAKE_TOKEN, f"api_token={FAKE_TOKEN}", f'{{"api_token": "{FAKE_TOKEN}"', b"\xff\xfe{\x00"],
    ids=["empty", "brace", "bare-token", "dotenv", "truncated", "bad-bytes"],
)
def test_not_json(text: str | bytes) -> None:
    error = secret_error(text)

    assert str(error).startswith(f"secret {SECRET_ID} is not valid JSON (")
    assert isinstance(error.__cause__, ValueError)
    assert_values_hidden(error)


@pytest.mark.parametrize(
    ("document", "kind"),
    [([FAKE_TOKEN], "list"), (FAKE_TOKEN, "str"), (42, "int"), (None, "NoneType"), (True, "bool")],
)
def test_not_object(document: Any, kind: str) -> None:
    error = secret_error(json.dumps(document))

    assert str(error) == f"secret {SECRET_ID} must be a JSON object, got a JSON {kind}"
    assert_values_hidden(error)


@pytest.mark.parametrize(
    "document",
    [{}, {"deploy_hooks": {"docs": FAKE_HOOK}}, {"token": FAKE_TOKEN}, {"API_TOKEN": FAKE_TOKEN}],
    ids=["empty", "only-hooks", "wrong-name", "wrong-case"],
)
def test_neither_form(document: dict[str, Any]) -> None:
    error = secret_error(document)

    assert str(error) == (
        f"secret {SECRET_ID} has no credentials: add api_token, or email and api_key (Global API Key)"
    )
    assert_values_hidden(error)


@pytest.mark.parametrize(
    "document",
    [
        {"api_token": FAKE_TOKEN, "email": FAKE_EMAIL, "api_key": FAKE_KEY},
        {"api_token": FAKE_TOKEN, "api_key": FAKE_KEY},
        {"api_token": FAKE_TOKEN, "email": FAKE_EMAIL},
    ],
    ids=["all-three", "token-and-key", "token-and-email"],
)
def test_both_forms(document: dict[str, Any]) -> None:
    error = secret_error(document)

    assert str(error) == (
        f"secret {SECRET_ID} has both api_token and email/api_key: keep exactly one credential form"
    )
    assert_values_hidden(error)


@pytest.mark.parametrize(
    ("document", "missing"),
    [({"email": FAKE_EMAIL}, "api_key"), ({"api_key": FAKE_KEY}, "email")],
)
def test_half_key_pair(document: dict[str, Any], missing: str) -> None:
    error = secret_error(document)

    assert str(error) == f"secret {SECRET_ID} is missing the key {missing!r}"
    assert_values_hidden(error)


@pytest.mark.parametrize("key", ["api_token", "email", "api_key"])
@pytest.mark.parametrize(
    "value",
    [None, 42, True, [FAKE_TOKEN], {"value": FAKE_TOKEN}, "", "   "],
    ids=lambda value: repr(value)[:12],
)
def test_credential_wrong_type_or_empty(key: str, value: Any) -> None:
    document = {"api_token": FAKE_TOKEN} if key == "api_token" else {"email": FAKE_EMAIL, "api_key": FAKE_KEY}
    document[key] = value

    error = secret_error(document)

    assert str(error) == f"secret {SECRET_ID}: {key!r} must be a non-empty string"
    assert_values_hidden(error)


@pytest.mark.parametrize("key", ["api_token", "email", "api_key"])
@pytest.mark.parametrize(
    "template",
    ["{} ", " {}", "{}\n", "\t{}", "{}\r\n", "a{}\x00"],
    ids=["trailing-space", "leading-space", "newline", "tab", "crlf", "nul"],
)
def test_credential_stray_characters(key: str, template: str) -> None:
    document = {"api_token": FAKE_TOKEN} if key == "api_token" else {"email": FAKE_EMAIL, "api_key": FAKE_KEY}
    document[key] = template.format(document[key])

    error = secret_error(document)

    assert str(error) == (
        f"secret {SECRET_ID}: {key!r} has white space at its ends or control characters in it"
    )
    assert_values_hidden(error)


@pytest.mark.parametrize("key", ["deploy_hooks", "status_page_users"])
@pytest.mark.parametrize(
    "value", [[FAKE_HOOK], FAKE_HOOK, 42, True], ids=["list", "string", "number", "bool"]
)
def test_map_wrong_type(key: str, value: Any) -> None:
    error = secret_error({"api_token": FAKE_TOKEN, key: value})

    assert str(error) == f"secret {SECRET_ID}: {key!r} must be a JSON object of strings"
    assert_values_hidden(error)


@pytest.mark.parametrize("key", ["deploy_hooks", "status_page_users"])
@pytest.mark.parametrize("value", [None, "", 42, [FAKE_PASSWORD], {"url": FAKE_HOOK}], ids=repr)
def test_map_entry_wrong_type(key: str, value: Any) -> None:
    error = secret_error({"api_token": FAKE_TOKEN, key: {"docs": FAKE_PASSWORD, "ops": value}})

    assert str(error) == f"secret {SECRET_ID}: {key}['ops'] must be a non-empty string"
    assert_values_hidden(error)


def test_secret_error_root() -> None:
    assert issubclass(SecretError, PagesOpsError)


# Credentials objects.
@pytest.mark.parametrize(
    "fields",
    [
        {},
        {"api_token": FAKE_TOKEN, "email": FAKE_EMAIL, "api_key": FAKE_KEY},
        {"api_token": FAKE_TOKEN, "email": FAKE_EMAIL},
        {"email": FAKE_EMAIL},
        {"api_key": FAKE_KEY},
    ],
    ids=["none", "all", "token-and-email", "only-email", "only-key"],
)
def test_credentials_invalid_combination(fields: dict[str, str]) -> None:
    with pytest.raises(SecretError) as caught:
        Credentials(**fields)

    assert str(caught.value) == "credentials need either api_token, or both email and api_key"


def test_credentials_equality() -> None:
    assert Credentials(api_token=FAKE_TOKEN) == Credentials(api_token=FAKE_TOKEN)
    assert Credentials(api_token=FAKE_TOKEN) != Credentials(api_token="other-fake-token")
    assert Credentials(email=FAKE_EMAIL, api_key=FAKE_KEY) != Credentials(api_token=FAKE_TOKEN)


def test_static_credentials() -> None:
    credentials = Credentials(api_token=FAKE_TOKEN)
    provider = StaticCredentials(credentials)

    assert provider.credentials() is credentials
    assert provider.refresh(credentials) is credentials


# SecretSource with a fake fetcher.
class FakeFetcher:
    """Serves secret texts in turn and records every call as (secret id, force_fetch)."""

    def __init__(self, *texts: str) -> None:
        self.texts = list(texts)
        self.calls: list[tuple[str, bool]] = []
        self._lock = threading.Lock()

    def set(self, document: dict[str, Any]) -> None:
        self.texts = [json.dumps(document)]

    def __call__(self, secret_id: str, force_fetch: bool) -> str:
        with self._lock:
            self.calls.append((secret_id, force_fetch))
            return self.texts.pop(0) if len(self.texts) > 1 else self.texts[0]


def token_secret(token: str, **extra: Any) -> str:
    return json.dumps({"api_token": token, **extra})


def test_source_lazy() -> None:
    fetcher = FakeFetcher(token_secret(FAKE_TOKEN))

    SecretSource(SECRET_ID, fetcher)

    assert fetcher.calls == []


def test_source_get() -> None:
    fetcher = FakeFetcher(token_secret(FAKE_TOKEN, status_page_users={"ops": FAKE_PASSWORD}))
    source = SecretSource(SECRET_ID, fetcher)

    document = source.get()

    assert document.credentials == Credentials(api_token=FAKE_TOKEN)
    assert document.status_page_users == {"ops": FAKE_PASSWORD}
    assert source.credentials() == Credentials(api_token=FAKE_TOKEN)
    assert fetcher.calls == [(SECRET_ID, False), (SECRET_ID, False)]


def test_source_same_text_not_parsed_again() -> None:
    fetcher = FakeFetcher(token_secret(FAKE_TOKEN))
    source = SecretSource(SECRET_ID, fetcher)

    assert source.get() is source.get()


def test_source_sees_changed_secret() -> None:
    # The fetcher's cache decides when a new value appears; the source must not pin the first one.
    fetcher = FakeFetcher(token_secret(FAKE_TOKEN, status_page_users={"ops": FAKE_PASSWORD}))
    source = SecretSource(SECRET_ID, fetcher)
    assert source.get().status_page_users == {"ops": FAKE_PASSWORD}

    fetcher.set({"api_token": FAKE_TOKEN, "status_page_users": {}})

    assert source.get().status_page_users == {}
    assert all(force is False for _, force in fetcher.calls)


def test_source_malformed_secret_raises() -> None:
    source = SecretSource(SECRET_ID, FakeFetcher(json.dumps({"api_token": ""})))

    with pytest.raises(SecretError, match="'api_token' must be a non-empty string"):
        source.get()


def test_source_refresh_forces_fetch() -> None:
    fetcher = FakeFetcher(token_secret(FAKE_TOKEN), token_secret("rotated-fake-token"))
    source = SecretSource(SECRET_ID, fetcher)
    old = source.credentials()

    new = source.refresh(old)

    assert new == Credentials(api_token="rotated-fake-token")
    assert fetcher.calls == [(SECRET_ID, False), (SECRET_ID, True)]
    assert source.credentials() == new


def test_source_refresh_unchanged_secret() -> None:
    fetcher = FakeFetcher(token_secret(FAKE_TOKEN))
    source = SecretSource(SECRET_ID, fetcher)
    old = source.credentials()

    assert source.refresh(old) == old
    assert fetcher.calls[-1] == (SECRET_ID, True)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_source_refresh_unchanged_waits() -> None:
    fetcher = FakeFetcher(token_secret(FAKE_TOKEN))
    clock = FakeClock()
    source = SecretSource(SECRET_ID, fetcher, clock=clock)
    old = source.credentials()
    source.refresh(old)

    # Within the interval, refresh returns the rejected token again without reading the secret.
    clock.now += REFETCH_INTERVAL_SECONDS - 1
    assert source.refresh(old) == old
    assert [force for _, force in fetcher.calls].count(True) == 1

    clock.now += 1
    assert source.refresh(old) == old
    assert [force for _, force in fetcher.calls].count(True) == 2


def test_source_refresh_after_rotation_not_delayed() -> None:
    fetcher = FakeFetcher(token_secret(FAKE_TOKEN), token_secret("rotated-fake-token"))
    clock = FakeClock()
    source = SecretSource(SECRET_ID, fetcher, clock=clock)
    old = source.credentials()
    new = source.refresh(old)
    fetcher.set({"api_token": "second-rotated-fake-token"})

    # The last forced fetch brought new credentials, so their rejection fetches again at once.
    assert source.refresh(new) == Credentials(api_token="second-rotated-fake-token")
    assert [force for _, force in fetcher.calls].count(True) == 2


def test_source_refresh_before_get() -> None:
    fetcher = FakeFetcher(token_secret(FAKE_TOKEN))
    source = SecretSource(SECRET_ID, fetcher)

    assert source.refresh(Credentials(api_token="stale-fake-token")) == Credentials(api_token=FAKE_TOKEN)
    assert fetcher.calls == [(SECRET_ID, True)]


def test_source_refresh_already_replaced() -> None:
    fetcher = FakeFetcher(token_secret(FAKE_TOKEN), token_secret("rotated-fake-token"))
    source = SecretSource(SECRET_ID, fetcher)
    old = source.credentials()
    source.refresh(old)
    calls = len(fetcher.calls)

    # A second thread that was rejected with the old credentials reuses the refreshed ones.
    assert source.refresh(old) == Credentials(api_token="rotated-fake-token")
    assert len(fetcher.calls) == calls


def test_source_refresh_concurrent() -> None:
    fetcher = FakeFetcher(token_secret(FAKE_TOKEN), token_secret("rotated-fake-token"))
    source = SecretSource(SECRET_ID, fetcher)
    old = source.credentials()
    start = threading.Barrier(8)
    results: list[Credentials] = []
    lock = threading.Lock()

    def worker() -> None:
        start.wait()
        refreshed = source.refresh(old)
        with lock:
            results.append(refreshed)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert results == [Credentials(api_token="rotated-fake-token")] * 8
    assert [force for _, force in fetcher.calls].count(True) == 1


def test_source_refresh_logs_without_values(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("DEBUG", logger="pages_ops")
    fetcher = FakeFetcher(token_secret(FAKE_TOKEN), token_secret("rotated-fake-token"))
    source = SecretSource(SECRET_ID, fetcher)

    source.refresh(source.credentials())

    messages = [record.getMessage() for record in caplog.records]
    assert messages == [f"Cloudflare rejected the credentials; fetching secret {SECRET_ID} again"]
    assert FAKE_TOKEN not in repr(caplog.records[0].__dict__)


# fetch_with_powertools, with the container's Powertools secrets provider replaced.
class FakeSecretsProvider:
    """A `SecretsProvider` replacement that records each get() and returns or raises the given result."""

    def __init__(self, result: object) -> None:
        self.result = result
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def get(self, name: str, **options: Any) -> object:
        self.calls.append((name, options))
        if isinstance(self.result, BaseException):
            raise self.result
        return self.result


def install_provider(result: object) -> FakeSecretsProvider:
    provider = FakeSecretsProvider(result)
    aws.override(secrets_provider_value=cast("SecretsProvider", provider))
    return provider


def test_fetch_passes_cache_options() -> None:
    provider = install_provider(token_secret(FAKE_TOKEN))

    assert fetch_with_powertools(SECRET_ID, True) == token_secret(FAKE_TOKEN)
    assert provider.calls == [(SECRET_ID, {"force_fetch": True, "max_age": SECRET_CACHE_SECONDS})]


def test_fetch_error_wrapped() -> None:
    install_provider(
        GetParameterError("An error occurred (ResourceNotFoundException) when calling GetSecretValue")
    )

    with pytest.raises(SecretError) as caught:
        fetch_with_powertools(SECRET_ID, False)

    assert str(caught.value) == (
        f"could not read secret {SECRET_ID} from Secrets Manager: "
        "An error occurred (ResourceNotFoundException) when calling GetSecretValue"
    )
    assert isinstance(caught.value.__cause__, GetParameterError)


def test_fetch_without_value() -> None:
    install_provider(None)

    with pytest.raises(SecretError, match=f"^secret {SECRET_ID} has no SecretString or SecretBinary value$"):
        fetch_with_powertools(SECRET_ID, False)


def test_fetch_binary() -> None:
    install_provider(token_secret(FAKE_TOKEN).encode())

    document = parse_secret(fetch_with_powertools(SECRET_ID, False), secret_id=SECRET_ID)

    assert document.credentials.api_token == FAKE_TOKEN
