"""Unit tests of pages_ops.client.PagesClient: exact outgoing requests, parsing, pagination and validation.

`responses` runs in strict mode with an ordered registry: each test registers exactly the requests it
expects, in order, so an extra request (a page past the end, a retry) or a missing one fails the test.
"""

from __future__ import annotations

import copy
import math
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import responses
from responses import matchers
from responses.registries import OrderedRegistry

from pages_ops.client import MAX_PER_PAGE, PagesClient
from pages_ops.config import Settings
from pages_ops.credentials import Credentials, StaticCredentials
from pages_ops.errors import (
    InvalidIdentifierError,
    InvalidListOptionsError,
    MalformedResponseError,
    ServerError,
)
from pages_ops.timing import Deadline, RetryPolicy
from tests.conftest import FAKE_ACCOUNT_ID, FAKE_API_TOKEN, load_fixture

BASE = "https://api.cloudflare.invalid/client/v4"
ACCOUNT_URL = f"{BASE}/accounts/{FAKE_ACCOUNT_ID}"
PROJECT_URL = f"{ACCOUNT_URL}/pages/projects/docs"
DEPLOYMENTS_URL = f"{PROJECT_URL}/deployments"
DEPLOYMENT_ID = "0012e50b-fa5d-44db-8cb5-1f372785dcbe"
DEPLOYMENT_URL = f"{DEPLOYMENTS_URL}/{DEPLOYMENT_ID}"
FAKE_HOOK_ID = "7c2e91d4-0b5a-4f7e-9d61-hooknotreal"
HOOK_URL = f"{BASE}/pages/webhooks/deploy_hooks/{FAKE_HOOK_ID}"
TOKEN = Credentials(api_token=FAKE_API_TOKEN)
AUTH_HEADER = {"Authorization": f"Bearer {FAKE_API_TOKEN}"}

CAPTURED_LIST = load_fixture("andykenward_list_deployments_captured.json")
TEMPLATE_DEPLOYMENT = CAPTURED_LIST["result"][0]
SUCCESS_DELETE = load_fixture("andykenward_delete_deployment.json")
INVALID_LIST_OPTIONS = load_fixture("reconstructed/error_invalid_list_options_8000024.json")


@pytest.fixture
def mocked() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=True, registry=OrderedRegistry) as rsps:
        yield rsps


def make_client(credentials: Credentials = TOKEN, *, retry: RetryPolicy | None = None) -> PagesClient:
    return PagesClient(
        FAKE_ACCOUNT_ID,
        StaticCredentials(credentials),
        base_url=BASE,
        retry=retry or RetryPolicy(max_attempts=1),
    )


def page_query(page: int, **extra: str) -> list[Callable[..., Any]]:
    return [matchers.query_param_matcher({**extra, "page": str(page), "per_page": str(MAX_PER_PAGE)})]


# Requests and parsing of each operation.
def test_get_project(mocked: responses.RequestsMock) -> None:
    mocked.add(
        "GET",
        PROJECT_URL,
        json=load_fixture("cloudflare-go_get_project.json"),
        match=[matchers.query_param_matcher({}), matchers.header_matcher(AUTH_HEADER)],
    )

    project = make_client().get_project("docs")

    assert project.name == "Test Pages Project"
    assert project.subdomain == "test.pages.dev"
    assert project.domains == ("testdomain.com", "testdomain.org")
    assert project.production_branch == "main"
    assert project.source_type == "github"
    assert project.canonical_deployment is not None
    assert project.canonical_deployment.id == "c35216d1-ebac-1a3a-d56c-ad74e54e5"
    assert project.latest_deployment is not None
    assert project.latest_deployment.id == "c35216d1-ebac-1a3a-d56c-ad74e54e5"


def test_get_project_without_deployments(mocked: responses.RequestsMock) -> None:
    mocked.add("GET", PROJECT_URL, json=load_fixture("andykenward_get_project.json"))

    project = make_client().get_project("docs")

    assert project.name == "NextJS Blog"
    assert project.canonical_deployment is None
    assert project.latest_deployment is None


def test_list_projects(mocked: responses.RequestsMock) -> None:
    mocked.add(
        "GET",
        f"{ACCOUNT_URL}/pages/projects",
        json=load_fixture("cloudflare-go_list_projects.json"),
        match=page_query(1),
    )

    projects = make_client().list_projects()

    assert [project.name for project in projects] == ["Test Pages Project"]


def test_get_deployment(mocked: responses.RequestsMock) -> None:
    mocked.add(
        "GET",
        DEPLOYMENT_URL,
        json=load_fixture("cloudflare-go_get_deployment.json"),
        match=[matchers.query_param_matcher({}), matchers.header_matcher(AUTH_HEADER)],
    )

    deployment = make_client().get_deployment("docs", DEPLOYMENT_ID)

    assert deployment.id == DEPLOYMENT_ID
    assert deployment.short_id == "0012e50b"
    assert deployment.environment == "production"
    assert deployment.status == "success"
    assert deployment.commit_hash == "20fb65fa9d7fd2a11f7fa3ebdc44137b263ee835"


def test_create_deployment_branch_multipart(mocked: responses.RequestsMock) -> None:
    mocked.add(
        "POST",
        DEPLOYMENTS_URL,
        json=load_fixture("cloudflare-go_get_deployment.json"),
        match=[
            matchers.query_param_matcher({}),
            matchers.header_matcher(AUTH_HEADER),
            matchers.multipart_matcher({"branch": (None, "release/2024-06")}),
        ],
    )

    deployment = make_client().create_deployment("docs", branch="release/2024-06")

    assert deployment.id == DEPLOYMENT_ID
    sent = mocked.calls[0].request
    assert sent.headers["Content-Type"].startswith("multipart/form-data; boundary=")
    assert isinstance(sent.body, bytes)
    assert b'Content-Disposition: form-data; name="branch"\r\n\r\nrelease/2024-06\r\n' in sent.body


def test_create_deployment_bare_post(mocked: responses.RequestsMock) -> None:
    mocked.add("POST", DEPLOYMENTS_URL, json=load_fixture("cloudflare-go_get_deployment.json"))

    make_client().create_deployment("docs")

    sent = mocked.calls[0].request
    assert sent.body is None
    assert "Content-Type" not in sent.headers
    assert sent.headers["Content-Length"] == "0"


@pytest.mark.parametrize("branch", ["", " main", "main ", "ma\nin", "main\x00", "a" * 256, "\tmain"])
def test_create_deployment_invalid_branch(mocked: responses.RequestsMock, branch: str) -> None:
    with pytest.raises(InvalidIdentifierError, match="invalid branch name"):
        make_client().create_deployment("docs", branch=branch)

    assert len(mocked.calls) == 0


def test_delete_deployment(mocked: responses.RequestsMock) -> None:
    mocked.add(
        "DELETE",
        DEPLOYMENT_URL,
        json=SUCCESS_DELETE,
        match=[matchers.query_param_matcher({}), matchers.header_matcher(AUTH_HEADER)],
    )

    assert make_client().delete_deployment("docs", DEPLOYMENT_ID) is None  # type: ignore[func-returns-value]


def test_delete_deployment_force(mocked: responses.RequestsMock) -> None:
    mocked.add(
        "DELETE", DEPLOYMENT_URL, json=SUCCESS_DELETE, match=[matchers.query_param_matcher({"force": "true"})]
    )

    make_client().delete_deployment("docs", DEPLOYMENT_ID, force=True)


@pytest.mark.parametrize(
    "fixture",
    [
        "andykenward_delete_deployment.json",
        "cloudflare-go_delete_deployment.json",
        "wrangler_delete_deployment_success.json",
        "stainless_docs_delete_deployment_example.json",
    ],
)
def test_delete_deployment_success_bodies(mocked: responses.RequestsMock, fixture: str) -> None:
    mocked.add("DELETE", DEPLOYMENT_URL, json=load_fixture(fixture))

    make_client().delete_deployment("docs", DEPLOYMENT_ID)


def test_get_build_logs(mocked: responses.RequestsMock) -> None:
    mocked.add(
        "GET",
        f"{DEPLOYMENT_URL}/history/logs",
        json=load_fixture("cloudflare-go_deployment_logs.json"),
        match=[matchers.query_param_matcher({}), matchers.header_matcher(AUTH_HEADER)],
    )

    logs = make_client().get_build_logs("docs", DEPLOYMENT_ID)

    assert logs.total == 6
    assert len(logs.lines) == 7
    assert logs.lines[0].line == "Installing dependencies"
    assert logs.lines[-1].line == "Parsed 2 valid header rules."
    assert logs.lines[0].ts == datetime(2021, 1, 1, tzinfo=UTC)


def test_list_deployments_page(mocked: responses.RequestsMock) -> None:
    mocked.add(
        "GET",
        DEPLOYMENTS_URL,
        json=CAPTURED_LIST,
        match=[*page_query(1), matchers.header_matcher(AUTH_HEADER)],
    )

    page = make_client().list_deployments_page("docs")

    assert len(page.deployments) == 9
    assert page.deployments[0].id == "206e215c-33b3-4ce4-adf4-7fc6c9b65483"
    assert page.page == 1
    assert page.per_page == 25
    assert page.total_count == 9
    assert page.total_pages == 1
    assert page.has_next is False


def test_list_deployments_page_query(mocked: responses.RequestsMock) -> None:
    body = load_fixture("cloudflare-go_list_deployments_page2_of_2.json")
    mocked.add(
        "GET",
        DEPLOYMENTS_URL,
        json=body,
        match=[matchers.query_param_matcher({"env": "preview", "page": "2", "per_page": "10"})],
    )

    page = make_client().list_deployments_page("docs", page=2, per_page=10, env="preview")

    assert page.page == 2
    assert page.per_page == 10
    assert page.total_count == 26
    assert page.total_pages == 2
    assert page.has_next is False


def test_list_deployments_page_total_from_count(mocked: responses.RequestsMock) -> None:
    body = copy.deepcopy(CAPTURED_LIST)
    body["result_info"] = {"page": 1, "per_page": 25, "count": 9, "total_count": 60}
    mocked.add("GET", DEPLOYMENTS_URL, json=body, match=page_query(1))

    page = make_client().list_deployments_page("docs")

    assert page.total_pages == 3
    assert page.has_next is True


def test_list_deployments_page_without_totals(mocked: responses.RequestsMock) -> None:
    body = copy.deepcopy(CAPTURED_LIST)
    del body["result_info"]
    mocked.add("GET", DEPLOYMENTS_URL, json=body, match=page_query(1))

    page = make_client().list_deployments_page("docs")

    assert page.total_count is None
    assert page.total_pages is None
    assert page.has_next is False


@pytest.mark.parametrize(("page", "per_page"), [(0, 25), (-1, 25), (1, 0), (1, 26), (1, 100)])
def test_list_deployments_page_bad_arguments(
    mocked: responses.RequestsMock, page: int, per_page: int
) -> None:
    with pytest.raises(ValueError, match=r"page must be >= 1 and per_page 1\.\.25"):
        make_client().list_deployments_page("docs", page=page, per_page=per_page)

    assert len(mocked.calls) == 0


@pytest.mark.parametrize("env", ["", "Production", "staging", "production "])
def test_deployments_bad_env(mocked: responses.RequestsMock, env: str) -> None:
    client = make_client()

    with pytest.raises(ValueError, match="env must be 'production' or 'preview'"):
        next(client.iter_deployments("docs", env=env))
    with pytest.raises(ValueError, match="env must be 'production' or 'preview'"):
        client.list_deployments_page("docs", env=env)

    assert len(mocked.calls) == 0


def test_trigger_deploy_hook(mocked: responses.RequestsMock) -> None:
    body = {
        "success": True,
        "errors": [],
        "messages": [],
        "result": {"id": "2f2b3fb0-0f8e-4b8f-9b0b-c7f7c5a0e0a1"},
    }
    mocked.add("POST", HOOK_URL, json=body, match=[matchers.query_param_matcher({})])

    deployment_id = make_client().trigger_deploy_hook(HOOK_URL)

    assert deployment_id == "2f2b3fb0-0f8e-4b8f-9b0b-c7f7c5a0e0a1"
    sent = mocked.calls[0].request
    assert sent.body is None


@pytest.mark.parametrize(
    "credentials",
    [TOKEN, Credentials(email="ops-not-real@example.com", api_key="0123456789abcdef0123456789abcdef01234")],
    ids=["token", "key-pair"],
)
def test_trigger_deploy_hook_sends_no_auth(mocked: responses.RequestsMock, credentials: Credentials) -> None:
    body = {"success": True, "errors": [], "messages": [], "result": {"id": "2f2b3fb0"}}
    mocked.add("POST", HOOK_URL, json=body)

    make_client(credentials).trigger_deploy_hook(HOOK_URL)

    sent = mocked.calls[0].request.headers
    assert "Authorization" not in sent
    assert "X-Auth-Email" not in sent
    assert "X-Auth-Key" not in sent
    assert sent["Accept"] == "application/json"


@pytest.mark.parametrize(
    "result",
    [None, {}, {"id": 17}, {"deployment_id": "x"}, ["2f2b3fb0"]],
    ids=["null", "empty", "id-not-text", "other-key", "list"],
)
def test_trigger_deploy_hook_without_id(mocked: responses.RequestsMock, result: Any) -> None:
    mocked.add("POST", HOOK_URL, json={"success": True, "errors": [], "messages": [], "result": result})

    assert make_client().trigger_deploy_hook(HOOK_URL) is None


@pytest.mark.parametrize(
    "url",
    [
        f"https://evil.invalid/client/v4/pages/webhooks/deploy_hooks/{FAKE_HOOK_ID}",
        f"http://api.cloudflare.invalid/client/v4/pages/webhooks/deploy_hooks/{FAKE_HOOK_ID}",
        f"https://api.cloudflare.invalid.evil.invalid/client/v4/pages/webhooks/deploy_hooks/{FAKE_HOOK_ID}",
        f"https://api.cloudflare.invalid@evil.invalid/client/v4/pages/webhooks/deploy_hooks/{FAKE_HOOK_ID}",
        f"{HOOK_URL}?redirect=https://evil.invalid",
        f"{HOOK_URL}#fragment",
        f"{HOOK_URL}/",
        f"{HOOK_URL}/../../../accounts/{FAKE_ACCOUNT_ID}/pages/projects",
        f"{BASE}/pages/webhooks/deploy_hooks/",
        f"{BASE}/pages/webhooks/deploy_hooks/short",
        f"{BASE}/pages/webhooks/deploy_hooks/has%2Fslash-{FAKE_HOOK_ID}",
        f"{BASE}/pages/webhooks/deploy_hooks/{FAKE_HOOK_ID} ",
        f"{BASE}/pages/webhooks/deploy_hooks/ünïcode-{FAKE_HOOK_ID}",
        f"{BASE}/pages/webhooks/deploy_hooks/{'a' * 129}",
        f"{ACCOUNT_URL}/pages/webhooks/deploy_hooks/{FAKE_HOOK_ID}",
        FAKE_HOOK_ID,
        "",
    ],
)
def test_trigger_deploy_hook_rejects_url(mocked: responses.RequestsMock, url: str) -> None:
    with pytest.raises(InvalidIdentifierError) as caught:
        make_client().trigger_deploy_hook(url)

    message = str(caught.value)
    assert message == (
        f"deploy hook URL must have the form {BASE}/pages/webhooks/deploy_hooks/<hook id> "
        "(value not shown: it is a credential)"
    )
    assert FAKE_HOOK_ID not in message
    assert "evil" not in message
    assert len(mocked.calls) == 0


def test_from_settings() -> None:
    settings = Settings(
        account_id=FAKE_ACCOUNT_ID,
        secret_id="cf-pages-ops/test",
        projects=("docs",),
        api_base_url="http://127.0.0.1:8787/client/v4",
        rate_limit_per_minute=90.0,
    )

    client = PagesClient.from_settings(settings, StaticCredentials(TOKEN), retry=RetryPolicy(max_attempts=2))

    assert client.account_id == FAKE_ACCOUNT_ID
    assert client.transport.base_url == "http://127.0.0.1:8787/client/v4"
    assert client.transport.rate_limiter is not None
    assert client.transport.rate_limiter.per_minute == 90.0
    assert client.transport.retry == RetryPolicy(max_attempts=2)


def test_deadline_property() -> None:
    client = make_client()
    deadline = Deadline.after(10.0)

    client.deadline = deadline

    assert client.transport.deadline is deadline
    assert client.deadline is deadline


# Malformed success bodies.
def test_get_project_result_not_object(mocked: responses.RequestsMock) -> None:
    mocked.add("GET", PROJECT_URL, json={"success": True, "errors": [], "messages": [], "result": []})

    with pytest.raises(MalformedResponseError, match="result is not an object"):
        make_client().get_project("docs")


def test_get_project_without_name(mocked: responses.RequestsMock) -> None:
    mocked.add("GET", PROJECT_URL, json={"success": True, "errors": [], "result": {"id": "x", "name": None}})

    with pytest.raises(MalformedResponseError, match="project object has no name") as caught:
        make_client().get_project("docs")

    assert isinstance(caught.value.__cause__, ValueError)


def test_get_deployment_without_id(mocked: responses.RequestsMock) -> None:
    mocked.add(
        "GET", DEPLOYMENT_URL, json={"success": True, "errors": [], "result": {"short_id": "0012e50b"}}
    )

    with pytest.raises(MalformedResponseError, match="deployment object has no id"):
        make_client().get_deployment("docs", DEPLOYMENT_ID)


def test_create_deployment_result_null(mocked: responses.RequestsMock) -> None:
    mocked.add("POST", DEPLOYMENTS_URL, json={"success": True, "errors": [], "result": None})

    with pytest.raises(MalformedResponseError) as caught:
        make_client().create_deployment("docs")

    assert caught.value.method == "POST"
    assert caught.value.path == "/pages/projects/docs/deployments"


def test_listing_result_not_list(mocked: responses.RequestsMock) -> None:
    mocked.add(
        "GET", DEPLOYMENTS_URL, json={"success": True, "errors": [], "result": None}, match=page_query(1)
    )

    with pytest.raises(MalformedResponseError, match="result is not a list"):
        list(make_client().iter_deployments("docs"))


@pytest.mark.parametrize("item", ["a string", 17, None, {"short_id": "no-id"}, {"id": ""}])
def test_listing_bad_item(mocked: responses.RequestsMock, item: Any) -> None:
    body = copy.deepcopy(CAPTURED_LIST)
    body["result"].insert(3, item)
    mocked.add("GET", DEPLOYMENTS_URL, json=body, match=page_query(1))

    with pytest.raises(MalformedResponseError) as caught:
        list(make_client().iter_deployments("docs"))

    assert caught.value.method == "GET"
    assert caught.value.path == "/pages/projects/docs/deployments"


# Pagination.
def make_deployments(count: int) -> list[dict[str, Any]]:
    """`count` deployments shaped like the captured ones, newest first, with distinct ids."""
    newest = datetime(2024, 6, 1, 12, tzinfo=UTC)
    items = []
    for index in range(count):
        item = copy.deepcopy(TEMPLATE_DEPLOYMENT)
        item["id"] = str(uuid.UUID(int=index + 1))
        item["short_id"] = item["id"][:8]
        item["created_on"] = (newest - timedelta(hours=index)).isoformat().replace("+00:00", "Z")
        items.append(item)
    return items


def listing_body(items: list[dict[str, Any]], page: int, total: int, totals: str) -> dict[str, Any]:
    info: dict[str, Any] = {"page": page, "per_page": MAX_PER_PAGE, "count": len(items)}
    if totals in ("pages", "count"):
        info["total_count"] = total
    if totals == "pages":
        info["total_pages"] = math.ceil(total / MAX_PER_PAGE)
    body: dict[str, Any] = {"success": True, "errors": [], "messages": [], "result": items}
    if totals != "absent":
        body["result_info"] = info
    return body


def register_listing(
    rsps: responses.RequestsMock, count: int, totals: str, past_end: str, **query: str
) -> list[str]:
    """Register the pages a correct client requests for `count` deployments; return the ids in order.

    `totals` is what result_info carries: "pages" (total_count and total_pages), "count" (only total_count),
    "none" (neither) or "absent" (no result_info). Without totals a full last page is followed by one
    request past the end, which gets `past_end`: "empty" (an empty page) or "8000024".
    """
    items = make_deployments(count)
    pages = max(1, math.ceil(count / MAX_PER_PAGE))
    for page in range(1, pages + 1):
        chunk = items[(page - 1) * MAX_PER_PAGE : page * MAX_PER_PAGE]
        rsps.add(
            "GET",
            DEPLOYMENTS_URL,
            json=listing_body(chunk, page, count, totals),
            match=page_query(page, **query),
        )
    unknown_end = totals in ("none", "absent")
    if unknown_end and count > 0 and count % MAX_PER_PAGE == 0:
        if past_end == "empty":
            body = listing_body([], pages + 1, count, totals)
            rsps.add("GET", DEPLOYMENTS_URL, json=body, match=page_query(pages + 1, **query))
        else:
            rsps.add(
                "GET",
                DEPLOYMENTS_URL,
                status=400,
                json=INVALID_LIST_OPTIONS,
                match=page_query(pages + 1, **query),
            )
    return [str(item["id"]) for item in items]


def expected_requests(count: int, totals: str) -> int:
    pages = max(1, math.ceil(count / MAX_PER_PAGE))
    if totals in ("none", "absent") and count > 0 and count % MAX_PER_PAGE == 0:
        return pages + 1
    return pages


@pytest.mark.parametrize("count", [0, 1, 24, 25, 26, 50, 2500])
@pytest.mark.parametrize("totals", ["pages", "count", "none", "absent"])
def test_pagination(mocked: responses.RequestsMock, count: int, totals: str) -> None:
    ids = register_listing(mocked, count, totals, "empty")

    listed = [deployment.id for deployment in make_client().iter_deployments("docs")]

    assert listed == ids
    assert len(mocked.calls) == expected_requests(count, totals)


@pytest.mark.parametrize("count", [25, 50, 2500])
def test_pagination_ends_on_8000024(mocked: responses.RequestsMock, count: int) -> None:
    ids = register_listing(mocked, count, "none", "8000024")

    listed = [deployment.id for deployment in make_client().iter_deployments("docs")]

    assert listed == ids
    assert len(mocked.calls) == count // MAX_PER_PAGE + 1


def test_pagination_env_on_every_page(mocked: responses.RequestsMock) -> None:
    ids = register_listing(mocked, 60, "pages", "empty", env="production")

    listed = [deployment.id for deployment in make_client().iter_deployments("docs", env="production")]

    assert listed == ids
    assert len(mocked.calls) == 3


def test_pagination_total_pages_beats_short_page(mocked: responses.RequestsMock) -> None:
    # The SDK's two-page test data: one item per page, yet total_pages is 2.
    first = load_fixture("cloudflare-go_list_deployments_page1_of_2.json")
    second = copy.deepcopy(load_fixture("cloudflare-go_list_deployments_page2_of_2.json"))
    second["result"][0]["id"] = "1f8a3c2e-0000-4000-8000-000000000002"
    mocked.add("GET", DEPLOYMENTS_URL, json=first, match=page_query(1))
    mocked.add("GET", DEPLOYMENTS_URL, json=second, match=page_query(2))

    listed = [deployment.id for deployment in make_client().iter_deployments("docs")]

    assert listed == [DEPLOYMENT_ID, "1f8a3c2e-0000-4000-8000-000000000002"]


def test_pagination_server_page_size(mocked: responses.RequestsMock) -> None:
    # The SDK's single-page test data reports per_page 100 and total_count 1: one request, then stop.
    mocked.add(
        "GET", DEPLOYMENTS_URL, json=load_fixture("cloudflare-go_list_deployments.json"), match=page_query(1)
    )

    listed = list(make_client().iter_deployments("docs"))

    assert [deployment.id for deployment in listed] == [DEPLOYMENT_ID]


def test_pagination_empty_page_before_total(mocked: responses.RequestsMock) -> None:
    # Deployments deleted while listing can leave the last pages empty before total_pages.
    full = listing_body(make_deployments(25), 1, 75, "pages")
    mocked.add("GET", DEPLOYMENTS_URL, json=full, match=page_query(1))
    mocked.add("GET", DEPLOYMENTS_URL, json=listing_body([], 2, 75, "pages"), match=page_query(2))

    listed = list(make_client().iter_deployments("docs"))

    assert len(listed) == 25


def test_pagination_shrunk_listing_8000024(mocked: responses.RequestsMock) -> None:
    # total_pages was 3, but the listing shrank meanwhile and page 3 is now past the end.
    items = make_deployments(50)
    mocked.add("GET", DEPLOYMENTS_URL, json=listing_body(items[:25], 1, 75, "pages"), match=page_query(1))
    mocked.add("GET", DEPLOYMENTS_URL, json=listing_body(items[25:], 2, 75, "pages"), match=page_query(2))
    mocked.add("GET", DEPLOYMENTS_URL, status=400, json=INVALID_LIST_OPTIONS, match=page_query(3))

    listed = list(make_client().iter_deployments("docs"))

    assert len(listed) == 50


def test_pagination_8000024_first_page(mocked: responses.RequestsMock) -> None:
    mocked.add("GET", DEPLOYMENTS_URL, status=400, json=INVALID_LIST_OPTIONS, match=page_query(1))

    with pytest.raises(InvalidListOptionsError):
        list(make_client().iter_deployments("docs"))


def test_pagination_is_lazy(mocked: responses.RequestsMock) -> None:
    items = make_deployments(26)
    mocked.add("GET", DEPLOYMENTS_URL, json=listing_body(items[:25], 1, 26, "pages"), match=page_query(1))
    mocked.add("GET", DEPLOYMENTS_URL, status=500, json={"success": False, "errors": []}, match=page_query(2))
    iterator = make_client().iter_deployments("docs")

    first = [next(iterator) for _ in range(25)]

    assert len(mocked.calls) == 1
    assert [deployment.id for deployment in first] == [item["id"] for item in items[:25]]
    with pytest.raises(ServerError):
        next(iterator)
    assert len(mocked.calls) == 2


def test_pagination_projects(mocked: responses.RequestsMock) -> None:
    project = load_fixture("cloudflare-go_list_projects.json")["result"][0]
    projects = []
    for index in range(26):
        item = copy.deepcopy(project)
        item["name"] = f"project-{index:02d}"
        projects.append(item)
    info = {"per_page": 25, "total_count": 26}
    for page, chunk in ((1, projects[:25]), (2, projects[25:])):
        body = {"success": True, "errors": [], "result": chunk, "result_info": {**info, "page": page}}
        mocked.add("GET", f"{ACCOUNT_URL}/pages/projects", json=body, match=page_query(page))

    names = [item.name for item in make_client().iter_projects()]

    assert names == [f"project-{index:02d}" for index in range(26)]


# Identifier validation: nothing is registered, so any request that slipped out would fail differently.
BAD_PROJECT_NAMES = [
    "",
    ".",
    "..",
    "a/b",
    "docs/../other",
    "x?y",
    "x#y",
    "%2e",
    "%2e%2e",
    "docs%2f",
    "a\\b",
    "Docs",
    "-docs",
    "dócs",
    "доки",
    "\uff44\uff4f\uff43\uff53",  # full-width letters
    " docs",
    "docs ",
    "docs\n",
    "do cs",
    "docs\t",
    "a" * 64,
]
BAD_DEPLOYMENT_IDS = [
    "",
    ".",
    "..",
    "a/b",
    "../../deployments",
    "0012e50b/../x",
    "x?y",
    "0012e50b?force=true",
    "0012e50b#x",
    "%2e",
    "%2e%2e%2f",
    "0012e50b%2f",
    "short",
    "0012e50b-fa5d-44db-8cb5-1f372785dcbe\n",
    " 0012e50b-fa5d-44db-8cb5-1f372785dcbe",
    "0012e50b fa5d",
    "\uff10\uff11\uff12\uff13\uff14\uff15\uff16\uff17",  # full-width digits
    "zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz",
    "0" * 65,
]


def project_operations(client: PagesClient, name: str) -> list[Callable[[], object]]:
    return [
        lambda: client.get_project(name),
        lambda: next(client.iter_deployments(name)),
        lambda: client.list_deployments_page(name),
        lambda: client.create_deployment(name),
        lambda: client.create_deployment(name, branch="main"),
        lambda: client.get_deployment(name, DEPLOYMENT_ID),
        lambda: client.delete_deployment(name, DEPLOYMENT_ID),
        lambda: client.delete_deployment(name, DEPLOYMENT_ID, force=True),
        lambda: client.get_build_logs(name, DEPLOYMENT_ID),
    ]


@pytest.mark.parametrize("name", BAD_PROJECT_NAMES)
def test_invalid_project_name(mocked: responses.RequestsMock, name: str) -> None:
    client = make_client()

    for operation in project_operations(client, name):
        with pytest.raises(InvalidIdentifierError) as caught:
            operation()
        assert str(caught.value) == f"invalid Pages project name {name!r}"

    assert len(mocked.calls) == 0


@pytest.mark.parametrize("deployment_id", BAD_DEPLOYMENT_IDS)
def test_invalid_deployment_id(mocked: responses.RequestsMock, deployment_id: str) -> None:
    client = make_client()
    operations: list[Callable[[], object]] = [
        lambda: client.get_deployment("docs", deployment_id),
        lambda: client.delete_deployment("docs", deployment_id),
        lambda: client.delete_deployment("docs", deployment_id, force=True),
        lambda: client.get_build_logs("docs", deployment_id),
    ]

    for operation in operations:
        with pytest.raises(InvalidIdentifierError) as caught:
            operation()
        assert str(caught.value) == f"invalid deployment id {deployment_id!r}"

    assert len(mocked.calls) == 0


@pytest.mark.parametrize("value", [None, 17, b"docs", ["docs"]])
def test_identifier_not_text(mocked: responses.RequestsMock, value: Any) -> None:
    client = make_client()

    with pytest.raises(InvalidIdentifierError):
        client.get_project(value)
    with pytest.raises(InvalidIdentifierError):
        client.delete_deployment("docs", value)

    assert len(mocked.calls) == 0


@pytest.mark.parametrize(
    "name",
    ["docs", "a", "0", "my-site-2", "a" * 63, "x-"],
    ids=["plain", "one-letter", "digit", "hyphen", "63", "end-hyphen"],
)
def test_valid_project_names(mocked: responses.RequestsMock, name: str) -> None:
    mocked.add(
        "GET", f"{ACCOUNT_URL}/pages/projects/{name}", json=load_fixture("andykenward_get_project.json")
    )

    make_client().get_project(name)


@pytest.mark.parametrize(
    "deployment_id",
    [DEPLOYMENT_ID, DEPLOYMENT_ID.upper(), "c35216d1-ebac-1a3a-d56c-ad74e54e5", "0012e50b"],
    ids=["uuid", "upper", "sdk-short-uuid", "short-id"],
)
def test_valid_deployment_ids(mocked: responses.RequestsMock, deployment_id: str) -> None:
    mocked.add("DELETE", f"{DEPLOYMENTS_URL}/{deployment_id}", json=SUCCESS_DELETE)

    make_client().delete_deployment("docs", deployment_id)
