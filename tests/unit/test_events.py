"""Checks that the sample events in events/ have the shapes AWS delivers and match template.yaml.

The functions' tests load these same files, so a wrong shape here would hide a handler bug.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tools.cfn_template import REPOSITORY_ROOT, load_template

EVENTS_DIR = REPOSITORY_ROOT / "events"
TEMPLATE = load_template()
FAKE_ACCOUNT = "123456789012"
ISO_UTC_SECONDS = r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z"
# API Gateway's requestContext time, for example 02/Mar/2026:09:15:42 +0000.
CLF_TIME = r"\d{2}/[A-Z][a-z]{2}/\d{4}:\d{2}:\d{2}:\d{2} \+0000"

EXPECTED_FILES = {
    "trigger_build/scheduler.json",
    "trigger_build/scheduled_event.json",
    "trigger_build/scheduler_one_project.json",
    "prune_deployments/scheduler.json",
    "prune_deployments/scheduled_event.json",
    "prune_deployments/dry_run.json",
    "status_page/http_api_index.json",
    "status_page/http_api_project.json",
    "status_page/http_api_api.json",
    "status_page/http_api_badge.json",
    "status_page/http_api_custom_domain.json",
    "status_page/http_api_post.json",
    "status_page/rest_api_index.json",
    "status_page/rest_api_project.json",
    "status_page/rest_api_api.json",
    "status_page/rest_api_badge.json",
    "status_page/rest_api_post.json",
}
ALL_FILES = sorted(str(path.relative_to(EVENTS_DIR)) for path in EVENTS_DIR.rglob("*.json"))

# The same request in both payload formats: HTTP API route key and REST API resource.
ROUTES = {
    "index": ("GET /", "/"),
    "project": ("GET /projects/{name}", "/projects/{name}"),
    "api": ("GET /api/projects/{name}", "/api/projects/{name}"),
    "badge": ("GET /projects/{name}/badge.svg", "/projects/{name}/badge.svg"),
    "post": ("ANY /{proxy+}", "/{proxy+}"),
}

HTTP_API_KEYS = {
    "version",
    "routeKey",
    "rawPath",
    "rawQueryString",
    "headers",
    "requestContext",
    "isBase64Encoded",
}
# Present only when the request has them.
HTTP_API_OPTIONAL_KEYS = {"pathParameters", "queryStringParameters", "cookies", "body", "stageVariables"}
HTTP_API_CONTEXT_KEYS = {
    "accountId",
    "apiId",
    "domainName",
    "domainPrefix",
    "http",
    "requestId",
    "routeKey",
    "stage",
    "time",
    "timeEpoch",
}
REST_API_KEYS = {
    "resource",
    "path",
    "httpMethod",
    "headers",
    "multiValueHeaders",
    "queryStringParameters",
    "multiValueQueryStringParameters",
    "pathParameters",
    "stageVariables",
    "requestContext",
    "body",
    "isBase64Encoded",
}
REST_API_CONTEXT_KEYS = {
    "resourceId",
    "resourcePath",
    "httpMethod",
    "extendedRequestId",
    "requestTime",
    "path",
    "accountId",
    "protocol",
    "stage",
    "domainPrefix",
    "requestTimeEpoch",
    "requestId",
    "identity",
    "domainName",
    "apiId",
}
SCHEDULED_EVENT_KEYS = {
    "version",
    "id",
    "detail-type",
    "source",
    "account",
    "time",
    "region",
    "resources",
    "detail",
}


def load_event(relative_path: str) -> dict[str, Any]:
    event = json.loads((EVENTS_DIR / relative_path).read_text(encoding="utf-8"))
    assert isinstance(event, dict), f"{relative_path} is not a JSON object"
    return event


def schedule_input_keys(function: str) -> set[str]:
    """Return the keys of the Input that the function's ScheduleV2 event sends (from template.yaml)."""
    events = TEMPLATE["Resources"][function]["Properties"]["Events"].values()
    inputs = [json.loads(e["Properties"]["Input"]) for e in events if e["Type"] == "ScheduleV2"]
    assert len(inputs) == 1
    return set(inputs[0])


def template_http_routes() -> set[str]:
    """Return the route keys ("GET /projects/{name}") of the status page's HTTP API events."""
    events = TEMPLATE["Resources"]["StatusPageFunction"]["Properties"]["Events"].values()
    return {
        f"{e['Properties']['Method']} {e['Properties']['Path']}" for e in events if e["Type"] == "HttpApi"
    }


def route_pattern(path_template: str) -> str:
    """Turn an API Gateway path ("/projects/{name}") into a regular expression for a concrete path."""
    pattern = re.escape(path_template)
    pattern = re.sub(r"\\\{proxy\\\+\\\}", r"(?P<proxy>.+)", pattern)
    return re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", pattern)


def walk(node: Any, key: str) -> list[Any]:
    """Collect every value stored under `key` at any depth."""
    found = []
    if isinstance(node, dict):
        for name, value in node.items():
            if name == key:
                found.append(value)
            found.extend(walk(value, key))
    elif isinstance(node, list):
        for item in node:
            found.extend(walk(item, key))
    return found


# --- Every file ---------------------------------------------------------------------------------------


def test_event_files_present() -> None:
    missing = EXPECTED_FILES - set(ALL_FILES)
    assert not missing, f"missing event files: {sorted(missing)}"


@pytest.mark.parametrize("relative_path", ALL_FILES)
def test_event_file_is_json_object(relative_path: str) -> None:
    load_event(relative_path)


@pytest.mark.parametrize("relative_path", ALL_FILES)
def test_event_uses_fake_account(relative_path: str) -> None:
    event = load_event(relative_path)
    for account in walk(event, "account") + walk(event, "accountId"):
        assert account in {FAKE_ACCOUNT, None}, account
    text = json.dumps(event)
    assert set(re.findall(r"\b\d{12}\b", text)) <= {FAKE_ACCOUNT}


# --- Scheduled events ---------------------------------------------------------------------------------


@pytest.mark.parametrize("function", ["trigger_build", "prune_deployments"])
def test_scheduler_event_matches_template_input(function: str) -> None:
    logical_id = {"trigger_build": "TriggerBuildFunction", "prune_deployments": "PruneDeploymentsFunction"}
    event = load_event(f"{function}/scheduler.json")
    assert set(event) == schedule_input_keys(logical_id[function])
    assert re.fullmatch(ISO_UTC_SECONDS, event["scheduled_time"])
    # Scheduler substitutes the placeholder, so a delivered event never contains one.
    assert re.fullmatch(r"[0-9a-z]{16}", event["execution_id"])


def test_scheduler_one_project_event() -> None:
    event = load_event("trigger_build/scheduler_one_project.json")
    assert set(event) == schedule_input_keys("TriggerBuildFunction") | {"project", "branch"}
    assert event["project"] == "docs"
    assert event["branch"] == "main"
    assert re.fullmatch(ISO_UTC_SECONDS, event["scheduled_time"])


def test_dry_run_event() -> None:
    assert load_event("prune_deployments/dry_run.json") == {"project": "docs", "dry_run": True}


@pytest.mark.parametrize("function", ["trigger_build", "prune_deployments"])
def test_scheduled_event_envelope(function: str) -> None:
    event = load_event(f"{function}/scheduled_event.json")
    assert set(event) == SCHEDULED_EVENT_KEYS
    assert event["version"] == "0"
    assert event["detail-type"] == "Scheduled Event"
    assert event["source"] == "aws.events"
    assert event["detail"] == {}
    assert re.fullmatch(ISO_UTC_SECONDS, event["time"])
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", event["id"])
    assert len(event["resources"]) == 1
    rule = rf"arn:aws:events:{event['region']}:{event['account']}:rule/[A-Za-z0-9._-]+"
    assert re.fullmatch(rule, event["resources"][0])


# --- Status page: HTTP API payload 2.0 ----------------------------------------------------------------

HTTP_API_FILES = sorted(p for p in ALL_FILES if p.startswith("status_page/http_api_"))
REST_API_FILES = sorted(p for p in ALL_FILES if p.startswith("status_page/rest_api_"))


@pytest.mark.parametrize("relative_path", HTTP_API_FILES)
def test_http_api_event_shape(relative_path: str) -> None:
    event = load_event(relative_path)
    assert set(event) >= HTTP_API_KEYS
    assert set(event) - HTTP_API_KEYS <= HTTP_API_OPTIONAL_KEYS
    assert event["version"] == "2.0"
    context = event["requestContext"]
    assert set(context) == HTTP_API_CONTEXT_KEYS
    assert context["stage"] == "$default"
    assert context["routeKey"] == event["routeKey"]
    assert context["http"]["path"] == event["rawPath"]
    assert re.fullmatch(CLF_TIME, context["time"])
    assert isinstance(context["timeEpoch"], int)
    assert context["domainPrefix"] == context["domainName"].split(".")[0]
    # Payload 2.0 lower-cases header names.
    assert all(name == name.lower() for name in event["headers"])
    assert event["headers"]["host"] == context["domainName"]
    assert event["headers"]["user-agent"] == context["http"]["userAgent"]
    assert event["isBase64Encoded"] is False


@pytest.mark.parametrize("relative_path", HTTP_API_FILES)
def test_http_api_event_matches_template_route(relative_path: str) -> None:
    event = load_event(relative_path)
    route_key = event["routeKey"]
    assert route_key in template_http_routes()
    method, path_template = route_key.split(" ", 1)
    assert method in {"ANY", event["requestContext"]["http"]["method"]}
    # A custom domain's API mapping key stays at the front of rawPath.
    match = re.fullmatch(rf"(?P<base>(/[a-z0-9-]+)*?){route_pattern(path_template)}", event["rawPath"])
    assert match, f"{event['rawPath']} does not match {path_template}"
    expected_parameters = {k: v for k, v in match.groupdict().items() if k != "base" and v is not None}
    assert event.get("pathParameters") == (expected_parameters or None)


@pytest.mark.parametrize("route", ["index", "project", "api", "badge"])
def test_http_api_route_events(route: str) -> None:
    event = load_event(f"status_page/http_api_{route}.json")
    route_key, _ = ROUTES[route]
    assert event["routeKey"] == route_key
    assert event["requestContext"]["http"]["method"] == "GET"
    assert event["requestContext"]["domainName"].endswith(".execute-api.us-east-1.amazonaws.com")
    assert "body" not in event
    if route != "index":
        assert event["pathParameters"] == {"name": "docs"}


def test_http_api_custom_domain_event() -> None:
    event = load_event("status_page/http_api_custom_domain.json")
    assert event["rawPath"] == "/status/projects/docs"
    assert event["routeKey"] == "GET /projects/{name}"
    assert event["pathParameters"] == {"name": "docs"}
    assert event["requestContext"]["domainName"] == "ops.example.com"
    assert event["requestContext"]["domainPrefix"] == "ops"


def test_http_api_post_event() -> None:
    event = load_event("status_page/http_api_post.json")
    assert event["requestContext"]["http"]["method"] == "POST"
    assert event["routeKey"] == "ANY /{proxy+}"
    assert event["pathParameters"] == {"proxy": "projects/docs"}
    assert event["headers"]["content-length"] == str(len(event["body"]))


# --- Status page: REST API payload 1.0 ----------------------------------------------------------------


@pytest.mark.parametrize("relative_path", REST_API_FILES)
def test_rest_api_event_shape(relative_path: str) -> None:
    event = load_event(relative_path)
    assert set(event) == REST_API_KEYS
    context = event["requestContext"]
    assert set(context) == REST_API_CONTEXT_KEYS
    assert context["stage"] == "prod"
    assert context["path"] == "/prod" + event["path"]
    assert context["resourcePath"] == event["resource"]
    assert context["httpMethod"] == event["httpMethod"]
    assert re.fullmatch(CLF_TIME, context["requestTime"])
    assert context["identity"]["userAgent"] == event["headers"]["User-Agent"]
    assert event["multiValueHeaders"] == {name: [value] for name, value in event["headers"].items()}
    assert event["isBase64Encoded"] is False


@pytest.mark.parametrize("route", sorted(ROUTES))
def test_rest_api_route_events(route: str) -> None:
    event = load_event(f"status_page/rest_api_{route}.json")
    _, resource = ROUTES[route]
    assert event["resource"] == resource
    match = re.fullmatch(route_pattern(resource), event["path"])
    assert match, f"{event['path']} does not match {resource}"
    assert event["pathParameters"] == (match.groupdict() or None)
    if route == "post":
        assert event["httpMethod"] == "POST"
        assert event["headers"]["Content-Length"] == str(len(event["body"]))
    else:
        assert event["httpMethod"] == "GET"
        assert event["body"] is None


@pytest.mark.parametrize("route", sorted(ROUTES))
def test_both_formats_cover_route(route: str) -> None:
    http_event = load_event(f"status_page/http_api_{route}.json")
    rest_event = load_event(f"status_page/rest_api_{route}.json")
    assert http_event["rawPath"] == rest_event["path"]
    assert http_event.get("pathParameters") == rest_event["pathParameters"]
    assert http_event["requestContext"]["http"]["method"] == rest_event["httpMethod"]


def test_events_directory_holds_only_json() -> None:
    others = [p for p in EVENTS_DIR.rglob("*") if p.is_file() and p.suffix != ".json"]
    assert others == [], [str(Path(p).relative_to(EVENTS_DIR)) for p in others]
