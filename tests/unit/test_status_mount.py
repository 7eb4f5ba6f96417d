"""Unit tests for pages_ops.status.mount: finding the mount prefix and building links under it."""

from __future__ import annotations

from typing import Any

import pytest

from pages_ops.status.mount import Links, Mount, locate, routed_event
from tests.conftest import load_event


@pytest.mark.parametrize(
    ("event_file", "expected"),
    [
        ("status_page/http_api_index.json", Mount(prefix="", path="/")),
        ("status_page/http_api_project.json", Mount(prefix="", path="/projects/docs")),
        ("status_page/http_api_api.json", Mount(prefix="", path="/api/projects/docs")),
        ("status_page/http_api_badge.json", Mount(prefix="", path="/projects/docs/badge.svg")),
        ("status_page/http_api_custom_domain.json", Mount(prefix="/status", path="/projects/docs")),
        ("status_page/http_api_post.json", Mount(prefix="", path="/projects/docs")),
        ("status_page/rest_api_index.json", Mount(prefix="/prod", path="/")),
        ("status_page/rest_api_project.json", Mount(prefix="/prod", path="/projects/docs")),
        ("status_page/rest_api_badge.json", Mount(prefix="/prod", path="/projects/docs/badge.svg")),
    ],
)
def test_locate_sample_events(event_file: str, expected: Mount) -> None:
    assert locate(load_event(event_file)) == expected


def http_event(
    raw_path: str, route_key: str, parameters: dict[str, str] | None, stage: str = "$default"
) -> Any:
    return {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": raw_path,
        "pathParameters": parameters,
        "requestContext": {"stage": stage, "http": {"method": "GET", "path": raw_path}},
    }


def test_locate_named_stage_in_raw_path() -> None:
    event = http_event("/dev/projects/docs", "GET /projects/{name}", {"name": "docs"}, stage="dev")
    assert locate(event) == Mount(prefix="/dev", path="/projects/docs")


def test_locate_index_under_base_path() -> None:
    assert locate(http_event("/status", "GET /", None)) == Mount(prefix="/status", path="/")
    assert locate(http_event("/status/", "GET /", None)) == Mount(prefix="/status", path="/")


def test_locate_proxy_route_under_base_path() -> None:
    event = http_event("/ops/status/projects/docs", "ANY /{proxy+}", {"proxy": "projects/docs"})
    assert locate(event) == Mount(prefix="/ops/status", path="/projects/docs")


def test_locate_trailing_slash() -> None:
    event = http_event("/status/projects/docs/", "GET /projects/{name}", {"name": "docs"})
    assert locate(event) == Mount(prefix="/status", path="/projects/docs")


def test_locate_default_route_falls_back_to_stage() -> None:
    assert locate(http_event("/dev/projects/docs", "$default", None, stage="dev")) == Mount(
        prefix="/dev", path="/projects/docs"
    )
    assert locate(http_event("/projects/docs", "$default", None)) == Mount(prefix="", path="/projects/docs")


def test_locate_missing_parameter_falls_back() -> None:
    event = http_event("/projects/docs", "GET /projects/{name}", {})
    assert locate(event) == Mount(prefix="", path="/projects/docs")


def test_locate_does_not_split_inside_a_segment() -> None:
    # "/xprojects/docs" does not end with the route "/projects/docs" at a segment boundary.
    event = http_event("/xprojects/docs", "GET /projects/{name}", {"name": "docs"})
    assert locate(event) == Mount(prefix="", path="/xprojects/docs")


def test_locate_rest_custom_domain_base_path() -> None:
    event = {
        "resource": "/projects/{name}",
        "path": "/status/projects/docs",
        "httpMethod": "GET",
        "pathParameters": {"name": "docs"},
        "requestContext": {"path": "/status/projects/docs", "stage": "prod"},
    }
    assert locate(event) == Mount(prefix="/status", path="/projects/docs")


def test_routed_event_rewrites_http_api_path_and_stage() -> None:
    event = http_event("/dev/projects/docs", "GET /projects/{name}", {"name": "docs"}, stage="dev")
    routed = routed_event(event, Mount(prefix="/dev", path="/projects/docs"))
    assert routed["rawPath"] == "/projects/docs"
    assert routed["requestContext"]["stage"] == "$default"
    assert event["rawPath"] == "/dev/projects/docs"
    assert event["requestContext"]["stage"] == "dev"


def test_routed_event_rewrites_rest_path() -> None:
    event = load_event("status_page/rest_api_project.json")
    routed = routed_event(event, Mount(prefix="/prod", path="/projects/docs"))
    assert routed["path"] == "/projects/docs"
    assert routed["requestContext"] == event["requestContext"]


def test_links_under_prefix() -> None:
    links = Links("/status")
    assert links.index() == "/status/"
    assert links.project("docs") == "/status/projects/docs"
    assert links.project("docs", page=3) == "/status/projects/docs?page=3"
    assert links.api("docs") == "/status/api/projects/docs"
    assert links.badge("docs") == "/status/projects/docs/badge.svg"


def test_links_without_prefix() -> None:
    assert Links("").index() == "/"
    assert Links("/").project("docs") == "/projects/docs"


def test_links_collapse_repeated_slashes() -> None:
    assert Links("//evil.example").index() == "/evil.example/"
    assert Links("/a//b/").index() == "/a/b/"


def test_links_percent_encode_unsafe_prefix_characters() -> None:
    assert Links('/st"a<t>us').index() == "/st%22a%3Ct%3Eus/"
