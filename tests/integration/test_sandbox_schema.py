"""The stand-in's responses against Cloudflare's OpenAPI schema for Pages (cloudflare/api-schemas, 2024-08).

Each response is fetched over HTTP from a demo-seeded sandbox and validated with the OpenAPI 3.0 validator
for responses, with every `$ref` resolved inside the schema document. The 2024 schema has known gaps; each
test that deviates from it patches only the one spot it must, with the reason beside the patch.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from typing import Any, Final

import pytest
import requests
from openapi_schema_validator import OAS30ReadValidator, oas30_format_checker

from sandbox.cloudflare_pages import PagesSandbox
from tests.integration.sandbox_fixtures import START, TIMEOUT, FakeClock, PagesHttp, load_fixture

pytestmark = pytest.mark.integration

SPEC: Final[dict[str, Any]] = load_fixture("openapi-pages-2024-08.json")
PROJECTS: Final = "/accounts/{account_id}/pages/projects"
PROJECT: Final = PROJECTS + "/{project_name}"
DEPLOYMENTS: Final = PROJECT + "/deployments"
DEPLOYMENT: Final = DEPLOYMENTS + "/{deployment_id}"
LOGS: Final = DEPLOYMENT + "/history/logs"
RETRY: Final = DEPLOYMENT + "/retry"
ROLLBACK: Final = DEPLOYMENT + "/rollback"


def response_schema(spec: dict[str, Any], path: str, method: str, status: str = "200") -> dict[str, Any]:
    """The JSON schema of one documented response, with the components its `$ref`s point into."""
    schema = spec["paths"][path][method]["responses"][status]["content"]["application/json"]["schema"]
    return {**schema, "components": spec["components"]}


def component_schema(spec: dict[str, Any], name: str) -> dict[str, Any]:
    return {**spec["components"]["schemas"][name], "components": spec["components"]}


def validation_errors(instance: Any, schema: dict[str, Any]) -> list[str]:
    validator = OAS30ReadValidator(schema, format_checker=oas30_format_checker)
    return [
        f"{'/'.join(str(part) for part in error.absolute_path)}: {error.message}"
        for error in validator.iter_errors(instance)
    ]


def with_newer_values() -> dict[str, Any]:
    """The schema plus values the API added after 2024-08, which its regular expressions reject."""
    spec = copy.deepcopy(SPEC)
    schemas = spec["components"]["schemas"]
    # Newer documentation lists `skipped` as a stage status (a build skipped by `[CI Skip]`, for example).
    schemas["pages_stage"]["properties"]["status"]["pattern"] = "success|idle|active|failure|canceled|skipped"
    # Deployments started by a deploy hook carry the trigger type `deploy_hook`.
    trigger = schemas["pages_deployments"]["properties"]["deployment_trigger"]["properties"]["type"]
    trigger["pattern"] = "push|ad_hoc|deploy_hook"
    return spec


NEWER: Final = with_newer_values()
# Every operation's 4XX schema is allOf(its success schema, the failure schema): `success` would have to be
# both true and false, so no failure body can satisfy it. Failure bodies are checked against the failure
# schema alone.
FAILURE: Final = component_schema(SPEC, "pages_api-response-common-failure")


@pytest.fixture
def demo() -> Iterator[PagesSandbox]:
    with PagesSandbox(seed="demo", clock=FakeClock(START)) as sandbox:
        yield sandbox


@pytest.fixture
def api(demo: PagesSandbox) -> Iterator[PagesHttp]:
    with PagesHttp(demo) as http:
        yield http


def ok_body(api: PagesHttp, method: str, path: str, **options: Any) -> Any:
    response = api.request(method, path, **options)
    assert response.status_code == 200, response.text
    return response.json()


def deployments_of(api: PagesHttp, project: str) -> list[dict[str, Any]]:
    return list(ok_body(api, "GET", f"/{project}/deployments")["result"])


def test_schema_validator_rejects_broken_body() -> None:
    body = load_fixture("andykenward_list_deployments_captured.json")
    broken = {**body, "success": "yes"}

    assert validation_errors(body, response_schema(SPEC, DEPLOYMENTS, "get")) == []
    assert validation_errors(broken, response_schema(SPEC, DEPLOYMENTS, "get")) != []


def test_schema_list_projects(api: PagesHttp) -> None:
    body = ok_body(api, "GET", "")
    spec = copy.deepcopy(SPEC)
    # The schema lists deployments as the items of `pages_projects-response`; projects are checked instead.
    listing = spec["components"]["schemas"]["pages_projects-response"]["allOf"][2]
    listing["properties"]["result"]["items"] = {"$ref": "#/components/schemas/pages_projects"}

    assert len(body["result"]) == 5
    assert validation_errors(body, response_schema(spec, PROJECTS, "get")) == []


@pytest.mark.parametrize("project", ["marketing-site", "docs", "blog", "shop", "internal-tools"])
def test_schema_get_project(api: PagesHttp, project: str) -> None:
    body = ok_body(api, "GET", f"/{project}")

    assert validation_errors(body, response_schema(NEWER, PROJECT, "get")) == []


def test_schema_get_project_without_deployments(demo: PagesSandbox, api: PagesHttp) -> None:
    demo.store.add_project("empty-site")
    body = ok_body(api, "GET", "/empty-site")
    spec = copy.deepcopy(SPEC)
    # The API sends null for `canonical_deployment` and `latest_deployment` of a project without any;
    # the schema's deployment object is not nullable.
    schemas = spec["components"]["schemas"]
    for field in ("canonical_deployment", "latest_deployment"):
        schemas["pages_projects"]["properties"][field] = {**schemas["pages_deployments"], "nullable": True}

    assert body["result"]["canonical_deployment"] is None
    assert validation_errors(body, response_schema(spec, PROJECT, "get")) == []


@pytest.mark.parametrize(
    ("project", "params"),
    [
        ("marketing-site", {}),
        ("marketing-site", {"env": "preview", "page": "2", "per_page": "25"}),
        ("marketing-site", {"env": "production", "per_page": "10"}),
        ("shop", {}),
        ("blog", {"per_page": "5"}),
    ],
)
def test_schema_list_deployments(api: PagesHttp, project: str, params: dict[str, str]) -> None:
    body = ok_body(api, "GET", f"/{project}/deployments", params=params)

    assert body["result"]
    assert validation_errors(body, response_schema(NEWER, DEPLOYMENTS, "get")) == []


def test_schema_get_deployment_in_each_state(api: PagesHttp) -> None:
    deployments = deployments_of(api, "marketing-site") + deployments_of(api, "shop")
    wanted: dict[str, Callable[[dict[str, Any]], bool]] = {
        "building": lambda item: item["latest_stage"]["status"] == "active",
        "skipped": lambda item: item["is_skipped"],
        "canceled": lambda item: item["latest_stage"]["status"] == "canceled",
        "failed": lambda item: item["latest_stage"]["status"] == "failure",
        "aliased preview": lambda item: item["environment"] == "preview" and item["aliases"],
        "live production": lambda item: item["environment"] == "production" and item["aliases"],
        "direct upload": lambda item: item["deployment_trigger"]["type"] == "ad_hoc",
    }

    for state, matches in wanted.items():
        chosen = next(item for item in deployments if matches(item))
        body = ok_body(api, "GET", f"/{chosen['project_name']}/deployments/{chosen['id']}")
        assert validation_errors(body, response_schema(NEWER, DEPLOYMENT, "get")) == [], state


@pytest.mark.parametrize("files", [None, {"branch": (None, "feature/schema-check")}])
def test_schema_create_deployment(api: PagesHttp, files: dict[str, Any] | None) -> None:
    body = ok_body(api, "POST", "/docs/deployments", files=files)

    assert body["result"]["latest_stage"]["name"] == "queued"
    assert validation_errors(body, response_schema(SPEC, DEPLOYMENTS, "post")) == []


def test_schema_deploy_hook_deployment(demo: PagesSandbox, api: PagesHttp) -> None:
    hook = requests.post(demo.deploy_hook_url("docs", "main"), timeout=TIMEOUT).json()
    body = ok_body(api, "GET", f"/docs/deployments/{hook['result']['id']}")

    assert validation_errors(hook, response_schema(SPEC, DEPLOYMENTS, "post")) == []
    assert validation_errors(body, response_schema(NEWER, DEPLOYMENT, "get")) == []


def test_schema_retry_and_rollback(demo: PagesSandbox, api: PagesHttp) -> None:
    failed = next(item for item in deployments_of(api, "docs") if item["latest_stage"]["status"] == "failure")
    production = ok_body(api, "GET", "/docs/deployments", params={"env": "production"})["result"]
    older = [item for item in production if item["latest_stage"]["status"] == "success"][1]

    retried = ok_body(api, "POST", f"/docs/deployments/{failed['id']}/retry")
    rolled_back = ok_body(api, "POST", f"/docs/deployments/{older['id']}/rollback")

    assert validation_errors(retried, response_schema(SPEC, RETRY, "post")) == []
    assert validation_errors(rolled_back, response_schema(SPEC, ROLLBACK, "post")) == []


def test_schema_delete_deployment(api: PagesHttp) -> None:
    production = ok_body(api, "GET", "/docs/deployments", params={"env": "production"})["result"]
    old = [item for item in production if item["aliases"] is None][-1]

    body = ok_body(api, "DELETE", f"/docs/deployments/{old['id']}")

    assert (
        body
        == SPEC["paths"][DEPLOYMENT]["delete"]["responses"]["200"]["content"]["application/json"]["schema"][
            "example"
        ]
    )
    assert validation_errors(body, response_schema(SPEC, DEPLOYMENT, "delete")) == []


def test_schema_logs(api: PagesHttp) -> None:
    finished = deployments_of(api, "docs")[0]
    queued = ok_body(api, "POST", "/docs/deployments")["result"]

    for deployment in (finished, queued):
        body = ok_body(api, "GET", f"/docs/deployments/{deployment['id']}/history/logs")
        assert validation_errors(body, response_schema(SPEC, LOGS, "get")) == []


def live_id(demo: PagesSandbox) -> str:
    live = demo.store.canonical_id("marketing-site")
    assert live is not None
    return live


@pytest.mark.parametrize(
    ("call", "code"),
    [
        (("GET", "/no-such-project", {}), 8000007),
        (("GET", "/docs/deployments/00000000-0000-4000-8000-000000000000", {}), 8000009),
        (("GET", "/docs/deployments", {"params": {"per_page": "100"}}), 8000024),
        (("GET", "/docs/deployments/not-a-uuid", {}), 7003),
        (("POST", "/shop/deployments", {}), 8000096),
        (("POST", "/docs/deployments", {"json": {"branch": "main"}}), 6003),
        (("DELETE", "/marketing-site/deployments/{live}", {}), 8000035),
        (("DELETE", "/marketing-site/deployments/{live}", {"params": {"force": "true"}}), 8000034),
    ],
)
def test_schema_error_envelopes(
    demo: PagesSandbox, api: PagesHttp, call: tuple[str, str, dict[str, Any]], code: int
) -> None:
    method, path, options = call
    response = api.request(method, path.format(live=live_id(demo)), **options)

    assert response.status_code in (400, 404)
    assert response.json()["errors"][0]["code"] == code
    assert validation_errors(response.json(), FAILURE) == []


@pytest.mark.parametrize(
    ("headers", "code"),
    [({}, 9106), ({"Authorization": "Bearer wrong-token-not-a-real-secret"}, 10000)],
)
def test_schema_authentication_errors(api: PagesHttp, headers: dict[str, str], code: int) -> None:
    response = api.get("/docs", headers=headers)
    schema = copy.deepcopy(FAILURE)
    # Authentication failures captured from the real API carry only `success` and `errors`.
    schema["required"] = ["success", "errors"]

    assert response.json()["errors"][0]["code"] == code
    assert validation_errors(response.json(), FAILURE) != []
    assert validation_errors(response.json(), schema) == []


def test_schema_rate_limit_error() -> None:
    with PagesSandbox(rate_limit=1, rate_window_seconds=30.0) as limited, PagesHttp(limited) as api:
        api.get("")
        response = api.get("")
    spec = copy.deepcopy(SPEC)
    # The schema sets a minimum of 1000 on error codes, but Cloudflare reports rate limiting as code 971.
    del spec["components"]["schemas"]["pages_messages"]["items"]["properties"]["code"]["minimum"]

    assert response.status_code == 429
    assert (
        validation_errors(response.json(), component_schema(spec, "pages_api-response-common-failure")) == []
    )
