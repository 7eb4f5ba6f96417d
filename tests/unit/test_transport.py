"""Unit tests of pages_ops.transport: error mapping, retries, deadlines, credentials refresh and logging.

Every request goes to `responses` in strict mode: an unregistered or out-of-order request fails the test, and
a registered response that is never requested fails it too.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import pytest
import requests
import responses
import urllib3
from responses import matchers
from responses.registries import OrderedRegistry

from pages_ops.client import PagesClient
from pages_ops.credentials import Credentials, StaticCredentials
from pages_ops.errors import (
    AliasedDeploymentError,
    ApiErrorDetail,
    AuthenticationError,
    CloudflareApiError,
    CloudflareConnectionError,
    CloudflareError,
    CloudflareNotSentError,
    CloudflareTimeoutError,
    DeploymentNotFoundError,
    InvalidListOptionsError,
    MalformedResponseError,
    NotFoundError,
    ProjectNotFoundError,
    RateLimitedError,
    ServerError,
)
from pages_ops.timing import Deadline, RateLimiter, RetryPolicy
from pages_ops.transport import MIN_REQUEST_SECONDS, USER_AGENT, Timeouts, Transport
from tests.conftest import FAKE_ACCOUNT_ID, FAKE_API_TOKEN, load_fixture, refused_connection

# A reserved top-level domain that never resolves: even a request that escaped `responses` stays local.
BASE = "https://api.cloudflare.invalid/client/v4"
FAKE_EMAIL = "ops-not-real@example.com"
FAKE_API_KEY = "0123456789abcdef0123456789abcdef01234"
FAKE_HOOK_ID = "5f3c9a2e-hook-id-not-real-0000"
TOKEN = Credentials(api_token=FAKE_API_TOKEN)
KEY_PAIR = Credentials(email=FAKE_EMAIL, api_key=FAKE_API_KEY)
SECRET_VALUES = (FAKE_API_TOKEN, FAKE_EMAIL, FAKE_API_KEY, FAKE_ACCOUNT_ID, FAKE_HOOK_ID)

PROJECT_PATH = "/pages/projects/docs"
PROJECT_URL = f"{BASE}/accounts/{FAKE_ACCOUNT_ID}{PROJECT_PATH}"
DEPLOYMENT_ID = "0012e50b-fa5d-44db-8cb5-1f372785dcbe"
DEPLOYMENTS_URL = f"{PROJECT_URL}/deployments"
DEPLOYMENT_URL = f"{DEPLOYMENTS_URL}/{DEPLOYMENT_ID}"
HOOK_URL = f"{BASE}/pages/webhooks/deploy_hooks/{FAKE_HOOK_ID}"

SUCCESS_PROJECT = load_fixture("andykenward_get_project.json")
SUCCESS_DEPLOYMENT = load_fixture("cloudflare-go_get_deployment.json")
SUCCESS_DELETE = load_fixture("andykenward_delete_deployment.json")
RATE_LIMITED_BODY = load_fixture("reconstructed/error_rate_limited_971.json")
SERVER_ERROR_BODY = {
    "success": False,
    "errors": [{"code": 8000000, "message": "An unknown error has occurred"}],
    "messages": [],
    "result": None,
}
HTML_PAGE = "<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body>cloudflare</body></html>"


class SleepRecorder:
    """Stands in for time.sleep: records each wait instead of waiting."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


class FixedBackoff(RetryPolicy):
    """A retry policy whose backoff is a fixed number of seconds, for deadline arithmetic."""

    def backoff(self, attempt: int, rng: Any = None) -> float:
        return 5.0


class RotatingCredentials:
    """A credentials provider whose refresh returns the next credentials in a list, counting refreshes."""

    def __init__(self, *sequence: Credentials) -> None:
        self.sequence = list(sequence)
        self.refreshed: list[Credentials] = []

    def credentials(self) -> Credentials:
        return self.sequence[0]

    def refresh(self, rejected: Credentials) -> Credentials:
        self.refreshed.append(rejected)
        if len(self.sequence) > 1 and self.sequence[0] == rejected:
            self.sequence.pop(0)
        return self.sequence[0]


@pytest.fixture
def mocked() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=True, registry=OrderedRegistry) as rsps:
        yield rsps


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> SleepRecorder:
    recorder = SleepRecorder()
    monkeypatch.setattr(time, "sleep", recorder)
    return recorder


def make_client(
    credentials: Any = TOKEN,
    *,
    retry: RetryPolicy | None = None,
    timeouts: Timeouts | None = None,
    rate_limiter: RateLimiter | None = None,
) -> PagesClient:
    provider = StaticCredentials(credentials) if isinstance(credentials, Credentials) else credentials
    return PagesClient(
        FAKE_ACCOUNT_ID,
        provider,
        base_url=BASE,
        retry=retry or RetryPolicy(),
        timeouts=timeouts,
        rate_limiter=rate_limiter,
    )


def sent_timeout(rsps: responses.RequestsMock) -> Any:
    """The `timeout` argument the first request was sent with, as `responses` recorded it."""
    return getattr(rsps.calls[0].request, "req_kwargs")["timeout"]  # noqa: B009 - not in the type stubs


def assert_no_secret(text: str) -> None:
    for value in SECRET_VALUES:
        assert value not in text


def envelope_error(code: int, message: str) -> dict[str, Any]:
    return {"success": False, "errors": [{"code": code, "message": message}], "messages": [], "result": None}


# Error kinds: (HTTP status, body, expected class, expected codes). A str body is sent as text/html.
ERROR_CASES = [
    pytest.param(
        404,
        load_fixture("andykenward_error_project_not_found_8000007.json"),
        ProjectNotFoundError,
        (8000007,),
        id="8000007-captured",
    ),
    pytest.param(
        404,
        load_fixture("wrangler_error_project_not_found_8000007.json"),
        ProjectNotFoundError,
        (8000007,),
        id="8000007-without-messages",
    ),
    pytest.param(
        404,
        load_fixture("reconstructed/error_deployment_not_found_8000009.json"),
        DeploymentNotFoundError,
        (8000009,),
        id="8000009",
    ),
    pytest.param(404, "<html>Not Found</html>", NotFoundError, (), id="bare-404-html"),
    pytest.param(
        404,
        {"success": False, "errors": [], "messages": [], "result": None},
        NotFoundError,
        (),
        id="bare-404-envelope",
    ),
    pytest.param(
        403,
        load_fixture("andykenward_error_unauthorized_10000.json"),
        AuthenticationError,
        (10000,),
        id="10000",
    ),
    pytest.param(
        403,
        load_fixture("cloudflare-docs-changelog-2026-08-21_error_403_forbidden_10000.json"),
        AuthenticationError,
        (10000,),
        id="10000-forbidden-documentation-url",
    ),
    pytest.param(400, envelope_error(9106, "Authentication failed"), AuthenticationError, (9106,), id="9106"),
    pytest.param(401, "", AuthenticationError, (), id="bare-401"),
    pytest.param(403, "<html>Forbidden</html>", AuthenticationError, (), id="bare-403-html"),
    pytest.param(
        400,
        load_fixture("reconstructed/error_invalid_list_options_8000024.json"),
        InvalidListOptionsError,
        (8000024,),
        id="8000024",
    ),
    pytest.param(
        400,
        load_fixture("reconstructed/error_aliased_delete_without_force_8000035.json"),
        AliasedDeploymentError,
        (8000035,),
        id="8000035",
    ),
    pytest.param(500, SERVER_ERROR_BODY, ServerError, (8000000,), id="500-envelope"),
    pytest.param(502, HTML_PAGE, ServerError, (), id="502-html"),
    pytest.param(503, "", ServerError, (), id="503-empty"),
    pytest.param(
        400, envelope_error(8000000, "An unknown error"), CloudflareApiError, (8000000,), id="other-4xx"
    ),
    pytest.param(200, HTML_PAGE, MalformedResponseError, (), id="200-html"),
    pytest.param(200, "", MalformedResponseError, (), id="200-empty"),
    pytest.param(200, '{"success": true, "result": {"na', MalformedResponseError, (), id="200-truncated"),
    pytest.param(200, {"result": {"name": "docs"}}, MalformedResponseError, (), id="200-no-envelope"),
    pytest.param(200, [{"name": "docs"}], MalformedResponseError, (), id="200-json-list"),
    pytest.param(200, {"success": "true", "result": {}}, MalformedResponseError, (), id="200-success-text"),
    pytest.param(
        200,
        envelope_error(8000000, "An unknown error"),
        CloudflareApiError,
        (8000000,),
        id="200-success-false",
    ),
    pytest.param(
        200,
        load_fixture("reconstructed/error_deployment_not_found_8000009.json"),
        DeploymentNotFoundError,
        (8000009,),
        id="200-success-false-8000009",
    ),
]


def add_response(rsps: responses.RequestsMock, method: str, url: str, status: int, body: Any) -> None:
    if isinstance(body, str):
        rsps.add(method, url, status=status, body=body, content_type="text/html")
    else:
        rsps.add(method, url, status=status, json=body)


@pytest.mark.parametrize(("status", "body", "error_class", "codes"), ERROR_CASES)
def test_error_kinds(
    mocked: responses.RequestsMock,
    status: int,
    body: Any,
    error_class: type[CloudflareApiError],
    codes: tuple[int, ...],
) -> None:
    add_response(mocked, "GET", PROJECT_URL, status, body)
    client = make_client(retry=RetryPolicy(max_attempts=1))

    with pytest.raises(CloudflareApiError) as caught:
        client.get_project("docs")

    error = caught.value
    assert type(error) is error_class
    assert error.status == status
    assert error.codes == codes
    assert error.method == "GET"
    assert error.path == PROJECT_PATH
    assert str(error).startswith(f"GET {PROJECT_PATH} failed with HTTP {status}: ")
    for code in codes:
        assert f"[{code}]" in str(error)
    assert_no_secret(str(error))
    assert_no_secret(repr(error))


def test_error_details_kept_and_trimmed(mocked: responses.RequestsMock) -> None:
    body = load_fixture("reconstructed/error_deployment_not_found_8000009.json")
    add_response(mocked, "DELETE", DEPLOYMENT_URL, 404, body)

    with pytest.raises(DeploymentNotFoundError) as caught:
        make_client().delete_deployment("docs", DEPLOYMENT_ID)

    message = "The deployment ID you have specified does not exist. Update the deployment ID and try again."
    assert caught.value.errors == (ApiErrorDetail(code=8000009, message=message),)
    assert str(caught.value) == (
        f"DELETE {PROJECT_PATH}/deployments/{DEPLOYMENT_ID} failed with HTTP 404: [8000009] {message}"
    )


def test_error_several_codes_in_order(mocked: responses.RequestsMock) -> None:
    body = {
        "success": False,
        "errors": [
            {"code": 7003, "message": "Could not route"},
            {"message": "no code"},
            "not an object",
            {"code": "7000", "message": "code as text"},
        ],
    }
    add_response(mocked, "GET", PROJECT_URL, 400, body)

    with pytest.raises(CloudflareApiError) as caught:
        make_client().get_project("docs")

    assert caught.value.codes == (7003,)
    assert caught.value.errors == (
        ApiErrorDetail(code=7003, message="Could not route"),
        ApiErrorDetail(code=None, message="no code"),
        ApiErrorDetail(code=None, message="code as text"),
    )
    assert str(caught.value).endswith("failed with HTTP 400: [7003] Could not route; no code; code as text")


@pytest.mark.parametrize("errors", [5, "Authentication error", {"code": 10000}, None])
def test_error_list_not_list(mocked: responses.RequestsMock, errors: Any) -> None:
    add_response(mocked, "GET", PROJECT_URL, 400, {"success": False, "errors": errors})

    with pytest.raises(CloudflareApiError) as caught:
        make_client().get_project("docs")

    assert type(caught.value) is CloudflareApiError
    assert caught.value.errors == ()


def test_error_code_boolean_ignored(mocked: responses.RequestsMock) -> None:
    add_response(
        mocked, "GET", PROJECT_URL, 400, {"success": False, "errors": [{"code": True, "message": "x"}]}
    )

    with pytest.raises(CloudflareApiError) as caught:
        make_client().get_project("docs")

    assert caught.value.errors == (ApiErrorDetail(code=None, message="x"),)


def test_error_without_details(mocked: responses.RequestsMock) -> None:
    add_response(mocked, "GET", PROJECT_URL, 400, {"success": False, "errors": []})

    with pytest.raises(CloudflareApiError) as caught:
        make_client().get_project("docs")

    assert str(caught.value) == f"GET {PROJECT_PATH} failed with HTTP 400: no error details in the response"


def test_malformed_body_reason_and_cause(mocked: responses.RequestsMock) -> None:
    add_response(mocked, "GET", PROJECT_URL, 200, '{"success": tr')

    with pytest.raises(MalformedResponseError) as caught:
        make_client().get_project("docs")

    assert str(caught.value) == (
        f"GET {PROJECT_PATH} failed with HTTP 200: response body is not a Cloudflare JSON envelope"
    )
    assert isinstance(caught.value.__cause__, ValueError)


def test_error_messages_redact_account_id(mocked: responses.RequestsMock) -> None:
    # Cloudflare's "no route" errors echo the request path, which contains the account id.
    message = f"Could not route to /client/v4/accounts/{FAKE_ACCOUNT_ID}{PROJECT_PATH}, perhaps your object"
    add_response(mocked, "GET", PROJECT_URL, 400, envelope_error(7003, message))

    with pytest.raises(CloudflareApiError) as caught:
        make_client().get_project("docs")

    assert_no_secret(str(caught.value))
    assert_no_secret(repr(caught.value.errors))
    assert "/client/v4/accounts/<redacted>/pages/projects/docs" in str(caught.value)


def test_error_messages_redact_deploy_hook_id(mocked: responses.RequestsMock) -> None:
    message = f"Could not route to /client/v4/pages/webhooks/deploy_hooks/{FAKE_HOOK_ID}"
    add_response(mocked, "POST", HOOK_URL, 404, envelope_error(7003, message))

    with pytest.raises(NotFoundError) as caught:
        make_client().trigger_deploy_hook(HOOK_URL)

    assert caught.value.path == "/pages/webhooks/deploy_hooks/<redacted>"
    assert_no_secret(str(caught.value))
    assert_no_secret(repr(caught.value.errors))


def test_rate_limited_carries_retry_after(mocked: responses.RequestsMock) -> None:
    mocked.add("GET", PROJECT_URL, status=429, json=RATE_LIMITED_BODY, headers={"Retry-After": "45"})
    client = make_client(retry=RetryPolicy(max_attempts=1))

    with pytest.raises(RateLimitedError) as caught:
        client.get_project("docs")

    assert caught.value.retry_after == 45.0
    assert caught.value.codes == (971,)
    assert caught.value.status == 429
    assert "[971] Please wait and consider throttling your request speed" in str(caught.value)


def test_rate_limited_without_retry_after(mocked: responses.RequestsMock) -> None:
    mocked.add("GET", PROJECT_URL, status=429, body="")
    client = make_client(retry=RetryPolicy(max_attempts=1))

    with pytest.raises(RateLimitedError) as caught:
        client.get_project("docs")

    assert caught.value.retry_after is None
    assert caught.value.codes == ()


def test_rate_limited_code_on_other_status(mocked: responses.RequestsMock) -> None:
    add_response(mocked, "GET", PROJECT_URL, 400, RATE_LIMITED_BODY)
    client = make_client(retry=RetryPolicy(max_attempts=1))

    with pytest.raises(RateLimitedError):
        client.get_project("docs")


def test_errors_share_root_class() -> None:
    for error_class in (
        ProjectNotFoundError,
        DeploymentNotFoundError,
        AuthenticationError,
        RateLimitedError,
        InvalidListOptionsError,
        AliasedDeploymentError,
        ServerError,
        MalformedResponseError,
    ):
        assert issubclass(error_class, CloudflareApiError)
    assert issubclass(ProjectNotFoundError, NotFoundError)
    assert issubclass(DeploymentNotFoundError, NotFoundError)
    assert issubclass(CloudflareTimeoutError, CloudflareConnectionError)
    assert issubclass(CloudflareNotSentError, CloudflareConnectionError)
    assert issubclass(CloudflareConnectionError, CloudflareError)
    assert not issubclass(CloudflareConnectionError, CloudflareApiError)


# Transport failures: what requests raises, and what the client turns it into.
def body_stall() -> requests.exceptions.ConnectionError:
    # What requests raises when the headers arrived but the body stopped coming: a ConnectionError that
    # wraps urllib3's ReadTimeoutError, not a requests Timeout.
    cause = urllib3.exceptions.ReadTimeoutError(None, "/client/v4", "Read timed out.")  # type: ignore[arg-type]
    return requests.exceptions.ConnectionError(cause)


TRANSPORT_FAILURES = [
    pytest.param(
        requests.exceptions.ConnectionError(f"Max retries exceeded with url: /accounts/{FAKE_ACCOUNT_ID}"),
        CloudflareConnectionError,
        "failed: ConnectionError",
        id="connection-error",
    ),
    pytest.param(
        requests.exceptions.ConnectTimeout("connect timed out"),
        CloudflareTimeoutError,
        "timed out connecting after 3.05s",
        id="connect-timeout",
    ),
    pytest.param(
        requests.exceptions.ReadTimeout("read timed out"),
        CloudflareTimeoutError,
        "timed out waiting 10.00s for a response",
        id="read-timeout",
    ),
    pytest.param(
        body_stall(), CloudflareTimeoutError, "timed out waiting 10.00s for a response", id="body-stall"
    ),
    pytest.param(
        requests.exceptions.ChunkedEncodingError("connection reset"),
        CloudflareConnectionError,
        "failed: ChunkedEncodingError",
        id="reset-mid-body",
    ),
    pytest.param(
        requests.exceptions.SSLError("certificate verify failed"),
        CloudflareConnectionError,
        "failed: SSLError",
        id="tls",
    ),
]


@pytest.mark.parametrize(("raised", "error_class", "detail"), TRANSPORT_FAILURES)
def test_transport_failures(
    mocked: responses.RequestsMock,
    raised: Exception,
    error_class: type[CloudflareConnectionError],
    detail: str,
) -> None:
    mocked.add("GET", PROJECT_URL, body=raised)
    client = make_client(retry=RetryPolicy(max_attempts=1))

    with pytest.raises(CloudflareConnectionError) as caught:
        client.get_project("docs")

    assert isinstance(caught.value, error_class)
    assert str(caught.value) == f"GET {PROJECT_PATH} {detail}"
    assert caught.value.method == "GET"
    assert caught.value.path == PROJECT_PATH
    assert caught.value.__cause__ is raised
    assert_no_secret(str(caught.value))


# Outgoing requests: headers, timeouts, redirects.
def test_request_headers_token(mocked: responses.RequestsMock) -> None:
    expected = {
        "Authorization": f"Bearer {FAKE_API_TOKEN}",
        "Accept": "application/json",
        "User-Agent": USER_AGENT,
    }
    mocked.add("GET", PROJECT_URL, json=SUCCESS_PROJECT, match=[matchers.header_matcher(expected)])

    make_client(TOKEN).get_project("docs")

    sent = mocked.calls[0].request.headers
    assert "X-Auth-Email" not in sent
    assert "X-Auth-Key" not in sent


def test_request_headers_key_pair(mocked: responses.RequestsMock) -> None:
    expected = {"X-Auth-Email": FAKE_EMAIL, "X-Auth-Key": FAKE_API_KEY, "Accept": "application/json"}
    mocked.add("GET", PROJECT_URL, json=SUCCESS_PROJECT, match=[matchers.header_matcher(expected)])

    make_client(KEY_PAIR).get_project("docs")

    assert "Authorization" not in mocked.calls[0].request.headers


def test_request_timeouts_default(mocked: responses.RequestsMock) -> None:
    mocked.add("GET", PROJECT_URL, json=SUCCESS_PROJECT)

    make_client().get_project("docs")

    assert sent_timeout(mocked) == (3.05, 10.0)


def test_request_timeouts_configured(mocked: responses.RequestsMock) -> None:
    mocked.add("GET", PROJECT_URL, json=SUCCESS_PROJECT)

    make_client(timeouts=Timeouts(connect=1.5, read=4.0)).get_project("docs")

    assert sent_timeout(mocked) == (1.5, 4.0)


def test_request_timeouts_cut_to_deadline(mocked: responses.RequestsMock) -> None:
    mocked.add("GET", PROJECT_URL, json=SUCCESS_PROJECT)
    client = make_client()
    client.deadline = Deadline.after(2.0)

    client.get_project("docs")

    connect, read = sent_timeout(mocked)
    assert 1.5 < connect <= 2.0
    assert 1.5 < read <= 2.0


def test_request_timeouts_partly_cut(mocked: responses.RequestsMock) -> None:
    mocked.add("GET", PROJECT_URL, json=SUCCESS_PROJECT)
    client = make_client()
    client.deadline = Deadline.after(6.0)

    client.get_project("docs")

    connect, read = sent_timeout(mocked)
    assert connect == 3.05
    assert 5.5 < read <= 6.0


def test_redirect_not_followed(mocked: responses.RequestsMock) -> None:
    mocked.add("GET", PROJECT_URL, status=302, headers={"Location": "https://elsewhere.invalid/"}, body="")

    with pytest.raises(MalformedResponseError) as caught:
        make_client().get_project("docs")

    assert caught.value.status == 302
    assert len(mocked.calls) == 1


# Deadline.
@pytest.mark.parametrize("seconds", [0.0, MIN_REQUEST_SECONDS / 2])
def test_deadline_request_not_sent(mocked: responses.RequestsMock, seconds: float) -> None:
    client = make_client()
    client.deadline = Deadline.after(seconds)

    with pytest.raises(CloudflareTimeoutError) as caught:
        client.get_project("docs")

    assert "not sent" in str(caught.value)
    assert "left before the deadline" in str(caught.value)
    assert len(mocked.calls) == 0


def test_deadline_rate_limiter_slot_too_late(mocked: responses.RequestsMock, sleeps: SleepRecorder) -> None:
    now = [100.0]
    limiter = RateLimiter(60, clock=lambda: now[0], sleep=sleeps)
    limiter.reserve()
    limiter.reserve()  # the next free slot is now 2 s away
    client = make_client(rate_limiter=limiter)
    client.deadline = Deadline.after(1.5)

    with pytest.raises(CloudflareTimeoutError) as caught:
        client.get_project("docs")

    assert str(caught.value) == (
        f"GET {PROJECT_PATH} not sent: the rate limiter's next slot is past the deadline"
    )
    assert isinstance(caught.value.__cause__, TimeoutError)
    assert len(mocked.calls) == 0
    # Waiting and trying again cannot help: the slot and the deadline move together.
    assert sleeps.waits == []


def test_rate_limiter_spaces_requests(mocked: responses.RequestsMock, sleeps: SleepRecorder) -> None:
    now = [0.0]

    def advance(seconds: float) -> None:
        sleeps(seconds)
        now[0] += seconds

    limiter = RateLimiter(120, clock=lambda: now[0], sleep=advance)
    for _ in range(3):
        mocked.add("GET", PROJECT_URL, json=SUCCESS_PROJECT)
    client = make_client(rate_limiter=limiter)

    for _ in range(3):
        client.get_project("docs")

    assert sleeps.waits == [0.5, 0.5]


# Retries.
def test_get_retried_on_5xx(mocked: responses.RequestsMock, sleeps: SleepRecorder) -> None:
    mocked.add("GET", PROJECT_URL, status=500, json=SERVER_ERROR_BODY)
    mocked.add("GET", PROJECT_URL, status=502, body=HTML_PAGE)
    mocked.add("GET", PROJECT_URL, json=SUCCESS_PROJECT)

    project = make_client().get_project("docs")

    assert project.name == "NextJS Blog"
    assert len(mocked.calls) == 3
    assert len(sleeps.waits) == 2
    assert 0 <= sleeps.waits[0] <= 0.5
    assert 0 <= sleeps.waits[1] <= 1.0


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504])
def test_get_attempts_bounded(mocked: responses.RequestsMock, sleeps: SleepRecorder, status: int) -> None:
    for _ in range(4):
        mocked.add("GET", PROJECT_URL, status=status, body="")

    with pytest.raises(CloudflareApiError) as caught:
        make_client().get_project("docs")

    assert caught.value.status == status
    assert len(mocked.calls) == 4
    assert len(sleeps.waits) == 3
    for attempt, wait in enumerate(sleeps.waits, start=1):
        assert 0 <= wait <= min(8.0, 0.5 * 2 ** (attempt - 1))


def test_backoff_capped_at_max_delay(mocked: responses.RequestsMock, sleeps: SleepRecorder) -> None:
    for _ in range(8):
        mocked.add("GET", PROJECT_URL, status=503, body="")
    retry = RetryPolicy(max_attempts=8, base_delay=1.0, max_delay=2.0)

    with pytest.raises(ServerError):
        make_client(retry=retry).get_project("docs")

    assert len(sleeps.waits) == 7
    assert all(0 <= wait <= 2.0 for wait in sleeps.waits)


@pytest.mark.parametrize(
    "raised",
    [
        requests.exceptions.ConnectionError("connection refused"),
        requests.exceptions.ReadTimeout("read timed out"),
        requests.exceptions.ConnectTimeout("connect timed out"),
    ],
    ids=["connection-error", "read-timeout", "connect-timeout"],
)
def test_get_retried_on_transport_failure(
    mocked: responses.RequestsMock, sleeps: SleepRecorder, raised: Exception
) -> None:
    mocked.add("GET", PROJECT_URL, body=raised)
    mocked.add("GET", PROJECT_URL, json=SUCCESS_PROJECT)

    make_client().get_project("docs")

    assert len(mocked.calls) == 2
    assert len(sleeps.waits) == 1


def test_get_not_retried_on_4xx(mocked: responses.RequestsMock, sleeps: SleepRecorder) -> None:
    add_response(
        mocked, "GET", PROJECT_URL, 404, load_fixture("andykenward_error_project_not_found_8000007.json")
    )

    with pytest.raises(ProjectNotFoundError):
        make_client().get_project("docs")

    assert len(mocked.calls) == 1
    assert sleeps.waits == []


def test_delete_retried_on_5xx(mocked: responses.RequestsMock, sleeps: SleepRecorder) -> None:
    mocked.add("DELETE", DEPLOYMENT_URL, status=502, body=HTML_PAGE)
    mocked.add("DELETE", DEPLOYMENT_URL, body=requests.exceptions.ConnectionError("reset"))
    mocked.add("DELETE", DEPLOYMENT_URL, json=SUCCESS_DELETE)

    make_client().delete_deployment("docs", DEPLOYMENT_ID)

    assert len(mocked.calls) == 3
    assert len(sleeps.waits) == 2


def test_delete_retried_on_429(mocked: responses.RequestsMock, sleeps: SleepRecorder) -> None:
    mocked.add("DELETE", DEPLOYMENT_URL, status=429, json=RATE_LIMITED_BODY, headers={"Retry-After": "2"})
    mocked.add("DELETE", DEPLOYMENT_URL, json=SUCCESS_DELETE)

    make_client().delete_deployment("docs", DEPLOYMENT_ID)

    assert sleeps.waits == [2.0]


@pytest.mark.parametrize(
    ("status", "body"),
    [
        pytest.param(500, SERVER_ERROR_BODY, id="500"),
        pytest.param(502, HTML_PAGE, id="502"),
        pytest.param(503, "", id="503"),
        pytest.param(408, "", id="408"),
    ],
)
def test_create_not_retried_on_5xx(
    mocked: responses.RequestsMock, sleeps: SleepRecorder, status: int, body: Any
) -> None:
    add_response(mocked, "POST", DEPLOYMENTS_URL, status, body)

    with pytest.raises(CloudflareApiError) as caught:
        make_client().create_deployment("docs", branch="main")

    assert caught.value.status == status
    assert len(mocked.calls) == 1
    assert sleeps.waits == []


@pytest.mark.parametrize(
    "raised",
    [
        requests.exceptions.ReadTimeout("read timed out"),
        body_stall(),
        requests.exceptions.ConnectionError("connection reset by peer"),
    ],
    ids=["read-timeout", "body-stall", "reset"],
)
def test_create_not_retried_after_sending(
    mocked: responses.RequestsMock, sleeps: SleepRecorder, raised: Exception
) -> None:
    mocked.add("POST", DEPLOYMENTS_URL, body=raised)

    with pytest.raises(CloudflareConnectionError):
        make_client().create_deployment("docs")

    assert len(mocked.calls) == 1
    assert sleeps.waits == []


def test_create_retried_on_connect_timeout(mocked: responses.RequestsMock, sleeps: SleepRecorder) -> None:
    # A connect timeout means the request never reached Cloudflare, so no build can have started.
    mocked.add("POST", DEPLOYMENTS_URL, body=requests.exceptions.ConnectTimeout("connect timed out"))
    mocked.add("POST", DEPLOYMENTS_URL, json=SUCCESS_DEPLOYMENT)

    deployment = make_client().create_deployment("docs")

    assert deployment.id == DEPLOYMENT_ID
    assert len(mocked.calls) == 2


def test_create_retried_when_refused(mocked: responses.RequestsMock, sleeps: SleepRecorder) -> None:
    # A refused connection never carried the request, so no build can have started.
    mocked.add("POST", DEPLOYMENTS_URL, body=refused_connection())
    mocked.add("POST", DEPLOYMENTS_URL, json=SUCCESS_DEPLOYMENT)

    deployment = make_client().create_deployment("docs")

    assert deployment.id == DEPLOYMENT_ID
    assert len(mocked.calls) == 2


def test_refused_every_time_not_sent(mocked: responses.RequestsMock, sleeps: SleepRecorder) -> None:
    for _ in range(4):
        mocked.add("POST", DEPLOYMENTS_URL, body=refused_connection())

    with pytest.raises(CloudflareNotSentError) as caught:
        make_client().create_deployment("docs")

    assert str(caught.value) == (
        "POST /pages/projects/docs/deployments failed: could not connect (ConnectionError)"
    )
    assert len(mocked.calls) == 4


def test_create_retried_on_429(mocked: responses.RequestsMock, sleeps: SleepRecorder) -> None:
    mocked.add("POST", DEPLOYMENTS_URL, status=429, json=RATE_LIMITED_BODY, headers={"Retry-After": "1"})
    mocked.add("POST", DEPLOYMENTS_URL, json=SUCCESS_DEPLOYMENT)

    deployment = make_client().create_deployment("docs", branch="main")

    assert deployment.id == DEPLOYMENT_ID
    assert len(mocked.calls) == 2
    assert sleeps.waits == [1.0]


def test_deploy_hook_not_retried_on_5xx(mocked: responses.RequestsMock, sleeps: SleepRecorder) -> None:
    mocked.add("POST", HOOK_URL, status=503, json=SERVER_ERROR_BODY)

    with pytest.raises(ServerError):
        make_client().trigger_deploy_hook(HOOK_URL)

    assert len(mocked.calls) == 1
    assert sleeps.waits == []


def test_retry_after_seconds_honoured(mocked: responses.RequestsMock, sleeps: SleepRecorder) -> None:
    mocked.add("GET", PROJECT_URL, status=429, json=RATE_LIMITED_BODY, headers={"Retry-After": "7"})
    mocked.add("GET", PROJECT_URL, json=SUCCESS_PROJECT)

    make_client().get_project("docs")

    assert sleeps.waits == [7.0]


def test_retry_after_http_date_honoured(mocked: responses.RequestsMock, sleeps: SleepRecorder) -> None:
    when = datetime.now(UTC) + timedelta(seconds=12)
    mocked.add(
        "GET",
        PROJECT_URL,
        status=429,
        json=RATE_LIMITED_BODY,
        headers={"Retry-After": format_datetime(when, True)},
    )
    mocked.add("GET", PROJECT_URL, json=SUCCESS_PROJECT)

    make_client().get_project("docs")

    assert len(sleeps.waits) == 1
    # HTTP dates have whole seconds, and a little time passes before the header is read.
    assert 10.0 <= sleeps.waits[0] <= 12.0


def test_retry_after_past_date_retries_now(mocked: responses.RequestsMock, sleeps: SleepRecorder) -> None:
    when = datetime.now(UTC) - timedelta(minutes=5)
    mocked.add(
        "GET",
        PROJECT_URL,
        status=429,
        json=RATE_LIMITED_BODY,
        headers={"Retry-After": format_datetime(when, True)},
    )
    mocked.add("GET", PROJECT_URL, json=SUCCESS_PROJECT)

    make_client().get_project("docs")

    assert sleeps.waits == [0.0]


@pytest.mark.parametrize("header", ["", "soon", "1.5", "-3"])
def test_retry_after_unreadable_uses_backoff(
    mocked: responses.RequestsMock, sleeps: SleepRecorder, header: str
) -> None:
    mocked.add("GET", PROJECT_URL, status=429, json=RATE_LIMITED_BODY, headers={"Retry-After": header})
    mocked.add("GET", PROJECT_URL, json=SUCCESS_PROJECT)

    make_client().get_project("docs")

    assert len(sleeps.waits) == 1
    assert 0 <= sleeps.waits[0] <= 0.5


def test_retry_after_above_cap_not_waited(mocked: responses.RequestsMock, sleeps: SleepRecorder) -> None:
    mocked.add("GET", PROJECT_URL, status=429, json=RATE_LIMITED_BODY, headers={"Retry-After": "31"})

    with pytest.raises(RateLimitedError) as caught:
        make_client(retry=RetryPolicy(max_retry_after=30.0)).get_project("docs")

    assert caught.value.retry_after == 31.0
    assert len(mocked.calls) == 1
    assert sleeps.waits == []


def test_retry_after_at_cap_waited(mocked: responses.RequestsMock, sleeps: SleepRecorder) -> None:
    mocked.add("GET", PROJECT_URL, status=429, json=RATE_LIMITED_BODY, headers={"Retry-After": "30"})
    mocked.add("GET", PROJECT_URL, json=SUCCESS_PROJECT)

    make_client(retry=RetryPolicy(max_retry_after=30.0)).get_project("docs")

    assert sleeps.waits == [30.0]


def test_rate_limited_retries_disabled(mocked: responses.RequestsMock, sleeps: SleepRecorder) -> None:
    mocked.add("DELETE", DEPLOYMENT_URL, status=429, json=RATE_LIMITED_BODY, headers={"Retry-After": "1"})

    with pytest.raises(RateLimitedError):
        make_client(retry=RetryPolicy(retry_rate_limited=False)).delete_deployment("docs", DEPLOYMENT_ID)

    assert len(mocked.calls) == 1
    assert sleeps.waits == []


def test_no_429_retries_keeps_5xx_retries(mocked: responses.RequestsMock, sleeps: SleepRecorder) -> None:
    mocked.add("DELETE", DEPLOYMENT_URL, status=500, json=SERVER_ERROR_BODY)
    mocked.add("DELETE", DEPLOYMENT_URL, json=SUCCESS_DELETE)

    make_client(retry=RetryPolicy(retry_rate_limited=False)).delete_deployment("docs", DEPLOYMENT_ID)

    assert len(mocked.calls) == 2


def test_rate_limited_attempts_bounded(mocked: responses.RequestsMock, sleeps: SleepRecorder) -> None:
    for _ in range(3):
        mocked.add("GET", PROJECT_URL, status=429, json=RATE_LIMITED_BODY, headers={"Retry-After": "1"})

    with pytest.raises(RateLimitedError):
        make_client(retry=RetryPolicy(max_attempts=3)).get_project("docs")

    assert len(mocked.calls) == 3
    assert sleeps.waits == [1.0, 1.0]


def test_no_retry_past_deadline_retry_after(mocked: responses.RequestsMock, sleeps: SleepRecorder) -> None:
    mocked.add("GET", PROJECT_URL, status=429, json=RATE_LIMITED_BODY, headers={"Retry-After": "5"})
    client = make_client()
    client.deadline = Deadline.after(4.0)

    with pytest.raises(RateLimitedError):
        client.get_project("docs")

    assert len(mocked.calls) == 1
    assert sleeps.waits == []


def test_no_retry_past_deadline_backoff(mocked: responses.RequestsMock, sleeps: SleepRecorder) -> None:
    mocked.add("GET", PROJECT_URL, status=503, body="")
    client = make_client(retry=FixedBackoff())
    client.deadline = Deadline.after(5.1)

    with pytest.raises(ServerError):
        client.get_project("docs")

    assert len(mocked.calls) == 1
    assert sleeps.waits == []


def test_retry_within_deadline(mocked: responses.RequestsMock, sleeps: SleepRecorder) -> None:
    mocked.add("GET", PROJECT_URL, status=503, body="")
    mocked.add("GET", PROJECT_URL, json=SUCCESS_PROJECT)
    client = make_client(retry=FixedBackoff())
    client.deadline = Deadline.after(30.0)

    client.get_project("docs")

    assert sleeps.waits == [5.0]


# Credentials refresh after an authentication failure.
def test_auth_failure_refreshes_once(mocked: responses.RequestsMock, sleeps: SleepRecorder) -> None:
    new = Credentials(api_token="rotated-token-not-a-real-secret")
    provider = RotatingCredentials(TOKEN, new)
    mocked.add(
        "GET",
        PROJECT_URL,
        status=403,
        json=load_fixture("andykenward_error_unauthorized_10000.json"),
        match=[matchers.header_matcher({"Authorization": f"Bearer {FAKE_API_TOKEN}"})],
    )
    mocked.add(
        "GET",
        PROJECT_URL,
        json=SUCCESS_PROJECT,
        match=[matchers.header_matcher({"Authorization": "Bearer rotated-token-not-a-real-secret"})],
    )

    make_client(provider).get_project("docs")

    assert provider.refreshed == [TOKEN]
    assert sleeps.waits == []


def test_auth_failure_same_credentials_raises(mocked: responses.RequestsMock) -> None:
    provider = RotatingCredentials(TOKEN)
    mocked.add("GET", PROJECT_URL, status=403, json=load_fixture("andykenward_error_unauthorized_10000.json"))

    with pytest.raises(AuthenticationError):
        make_client(provider).get_project("docs")

    assert provider.refreshed == [TOKEN]
    assert len(mocked.calls) == 1


def test_auth_failure_after_refresh_raises(mocked: responses.RequestsMock) -> None:
    provider = RotatingCredentials(TOKEN, KEY_PAIR, Credentials(api_token="third-not-a-real-secret"))
    body = load_fixture("andykenward_error_unauthorized_10000.json")
    mocked.add("GET", PROJECT_URL, status=403, json=body)
    mocked.add("GET", PROJECT_URL, status=403, json=body)

    with pytest.raises(AuthenticationError):
        make_client(provider).get_project("docs")

    assert provider.refreshed == [TOKEN]
    assert len(mocked.calls) == 2


def test_auth_refresh_for_post(mocked: responses.RequestsMock) -> None:
    # A rejected request did nothing, so even a create is sent again with the new credentials.
    provider = RotatingCredentials(TOKEN, KEY_PAIR)
    mocked.add("POST", DEPLOYMENTS_URL, status=400, json=envelope_error(9106, "Authentication failed"))
    mocked.add(
        "POST",
        DEPLOYMENTS_URL,
        json=SUCCESS_DEPLOYMENT,
        match=[matchers.header_matcher({"X-Auth-Email": FAKE_EMAIL, "X-Auth-Key": FAKE_API_KEY})],
    )

    make_client(provider).create_deployment("docs")

    assert provider.refreshed == [TOKEN]


def test_deploy_hook_auth_failure_no_refresh(mocked: responses.RequestsMock) -> None:
    provider = RotatingCredentials(TOKEN, KEY_PAIR)
    mocked.add("POST", HOOK_URL, status=401, body="")

    with pytest.raises(AuthenticationError):
        make_client(provider).trigger_deploy_hook(HOOK_URL)

    assert provider.refreshed == []


# Logging.
def log_text(records: list[logging.LogRecord]) -> str:
    return "\n".join(f"{record.getMessage()} {record.__dict__!r}" for record in records)


def test_logs_debug_per_request(mocked: responses.RequestsMock, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="pages_ops")
    mocked.add("GET", PROJECT_URL, json=SUCCESS_PROJECT)
    mocked.add("DELETE", DEPLOYMENT_URL, json=SUCCESS_DELETE)
    client = make_client(KEY_PAIR)

    client.get_project("docs")
    client.delete_deployment("docs", DEPLOYMENT_ID)

    records = [record for record in caplog.records if record.name == "pages_ops.transport"]
    assert [record.levelno for record in records] == [logging.DEBUG, logging.DEBUG]
    assert records[0].getMessage().startswith(f"GET {PROJECT_PATH} -> 200 in ")
    assert records[1].getMessage().startswith(f"DELETE {PROJECT_PATH}/deployments/{DEPLOYMENT_ID} -> 200 in ")


def test_logs_info_per_retry(
    mocked: responses.RequestsMock, sleeps: SleepRecorder, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="pages_ops")
    mocked.add("GET", PROJECT_URL, status=429, json=RATE_LIMITED_BODY, headers={"Retry-After": "3"})
    mocked.add("GET", PROJECT_URL, status=500, json=SERVER_ERROR_BODY)
    mocked.add("GET", PROJECT_URL, json=SUCCESS_PROJECT)

    make_client().get_project("docs")

    info = [record.getMessage() for record in caplog.records if record.levelno == logging.INFO]
    assert len(info) == 2
    assert info[0] == (
        f"retrying GET {PROJECT_PATH} in 3.00s after attempt 1 failed: GET {PROJECT_PATH} failed with "
        "HTTP 429: [971] Please wait and consider throttling your request speed"
    )
    assert info[1].startswith(f"retrying GET {PROJECT_PATH} in ")
    assert info[1].endswith(
        f"after attempt 2 failed: GET {PROJECT_PATH} failed with HTTP 500: "
        "[8000000] An unknown error has occurred"
    )
    debug = [record for record in caplog.records if record.levelno == logging.DEBUG]
    assert len(debug) == 3


@pytest.mark.parametrize("credentials", [TOKEN, KEY_PAIR], ids=["token", "key-pair"])
def test_logs_never_hold_secrets(
    mocked: responses.RequestsMock,
    sleeps: SleepRecorder,
    caplog: pytest.LogCaptureFixture,
    credentials: Credentials,
) -> None:
    caplog.set_level(logging.DEBUG)
    provider = RotatingCredentials(credentials, Credentials(api_token="rotated-token-not-a-real-secret"))
    mocked.add("GET", PROJECT_URL, status=403, json=load_fixture("andykenward_error_unauthorized_10000.json"))
    mocked.add(
        "GET", PROJECT_URL, body=requests.exceptions.ConnectionError(f"url: /accounts/{FAKE_ACCOUNT_ID}")
    )
    mocked.add("GET", PROJECT_URL, status=429, json=RATE_LIMITED_BODY, headers={"Retry-After": "1"})
    mocked.add("GET", PROJECT_URL, json=SUCCESS_PROJECT)
    mocked.add("POST", HOOK_URL, status=500, json=SERVER_ERROR_BODY)
    client = make_client(provider)

    client.get_project("docs")
    with pytest.raises(ServerError):
        client.trigger_deploy_hook(HOOK_URL)

    text = log_text(caplog.records)
    assert "retrying GET /pages/projects/docs with refreshed credentials" in text
    assert_no_secret(text)
    assert "rotated-token-not-a-real-secret" not in text
    assert "Bearer" not in text


def test_transport_base_url_trailing_slash() -> None:
    transport = Transport(f"{BASE}/", StaticCredentials(TOKEN))

    assert transport.base_url == BASE
    assert transport.retry == RetryPolicy()
    assert transport.timeouts == Timeouts()
    assert transport.deadline is None


def test_session_adapter_never_retries() -> None:
    transport = Transport(BASE, StaticCredentials(TOKEN))

    for prefix in ("https://", "http://"):
        adapter = transport.session.get_adapter(prefix + "example.invalid/")
        assert adapter.max_retries.total == 0  # type: ignore[attr-defined]
