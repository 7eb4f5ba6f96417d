"""Unit tests for sandbox.apigateway: route matching, event building and response decoding (no server)."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from sandbox.apigateway import STATUS_PAGE_ROUTES, ApiGatewayFront, FakeLambdaContext, Route, _http_response
from tools.cfn_template import load_template


def no_handler(event: dict[str, Any], context: Any) -> Any:
    raise AssertionError("not called")


def build(front: ApiGatewayFront, method: str, target: str, **kwargs: Any) -> dict[str, Any] | None:
    event, _route = front.build_event(
        method=method,
        target=target,
        headers=kwargs.get("headers", [("Host", "127.0.0.1:8080")]),
        body=kwargs.get("body", b""),
        source_ip="127.0.0.1",
    )
    return event


@pytest.mark.parametrize(
    ("method", "path", "expected_key", "parameters"),
    [
        ("GET", "/", "GET /", {}),
        ("GET", "/projects/docs", "GET /projects/{name}", {"name": "docs"}),
        ("GET", "/api/projects/docs", "GET /api/projects/{name}", {"name": "docs"}),
        ("GET", "/projects/docs/badge.svg", "GET /projects/{name}/badge.svg", {"name": "docs"}),
        ("POST", "/projects/docs", "ANY /{proxy+}", {"proxy": "projects/docs"}),
        ("HEAD", "/projects/docs", "ANY /{proxy+}", {"proxy": "projects/docs"}),
        ("GET", "/a/b/c", "ANY /{proxy+}", {"proxy": "a/b/c"}),
    ],
)
def test_status_page_routes_match_like_http_api(
    method: str, path: str, expected_key: str, parameters: dict[str, str]
) -> None:
    front = ApiGatewayFront(no_handler)
    event = build(front, method, path)
    assert event is not None
    assert event["routeKey"] == expected_key
    assert event.get("pathParameters", {}) == parameters


def test_root_post_reaches_any_route() -> None:
    # The template routes other methods on `/` to the function (`ANY /`), which returns 405.
    event = build(ApiGatewayFront(no_handler), "POST", "/")
    assert event is not None
    assert event["routeKey"] == "ANY /"


def test_root_post_without_any_route_matches_nothing() -> None:
    # `/{proxy+}` needs at least one segment, so without `ANY /` API Gateway returns its own 404.
    front = ApiGatewayFront(no_handler, routes=("GET /", "ANY /{proxy+}"))
    assert build(front, "POST", "/") is None


def test_route_precedence() -> None:
    routes = [Route.parse(key) for key in ("$default", "ANY /{proxy+}", "ANY /items/{id}", "GET /items/{id}")]
    ordered = sorted(routes, key=Route.precedence)
    assert [route.key for route in ordered] == [
        "GET /items/{id}",
        "ANY /items/{id}",
        "ANY /{proxy+}",
        "$default",
    ]


def test_default_route_catches_everything() -> None:
    front = ApiGatewayFront(no_handler, routes=("$default",))
    event = build(front, "DELETE", "/anything")
    assert event is not None
    assert event["routeKey"] == "$default"
    assert "pathParameters" not in event


@pytest.mark.parametrize("key", ["GET", "projects", "GET /{proxy+}/more"])
def test_invalid_route_keys(key: str) -> None:
    with pytest.raises(ValueError, match=r"route key|greedy"):
        Route.parse(key)


def test_event_has_payload_2_shape() -> None:
    front = ApiGatewayFront(no_handler)
    event = build(
        front,
        "GET",
        "/projects/docs?page=2&x=a&x=b&empty=",
        headers=[
            ("Host", "127.0.0.1:8080"),
            ("Accept", "text/html"),
            ("X-Multi", "one"),
            ("x-multi", "two"),
            ("Cookie", "a=1; b=2"),
            ("User-Agent", "pytest"),
        ],
    )
    assert event is not None
    assert event["version"] == "2.0"
    assert event["rawPath"] == "/projects/docs"
    assert event["rawQueryString"] == "page=2&x=a&x=b&empty="
    assert event["queryStringParameters"] == {"page": "2", "x": "a,b", "empty": ""}
    assert event["headers"]["accept"] == "text/html"
    assert event["headers"]["x-multi"] == "one,two"
    assert "cookie" not in event["headers"]
    assert event["cookies"] == ["a=1", "b=2"]
    context = event["requestContext"]
    assert context["http"] == {
        "method": "GET",
        "path": "/projects/docs",
        "protocol": "HTTP/1.1",
        "sourceIp": "127.0.0.1",
        "userAgent": "pytest",
    }
    assert context["stage"] == "$default"
    assert context["domainName"] == "127.0.0.1:8080"
    assert context["routeKey"] == "GET /projects/{name}"
    assert event["isBase64Encoded"] is False


def test_event_under_base_path() -> None:
    front = ApiGatewayFront(no_handler, base_path="/status/")
    event = build(front, "GET", "/status/projects/docs")
    assert event is not None
    assert event["rawPath"] == "/status/projects/docs"
    assert event["routeKey"] == "GET /projects/{name}"
    assert event["requestContext"]["stage"] == "$default"
    assert build(front, "GET", "/projects/docs") is None
    assert build(front, "GET", "/statusx/projects/docs") is None
    index = build(front, "GET", "/status")
    assert index is not None
    assert index["routeKey"] == "GET /"


def test_event_with_named_stage() -> None:
    front = ApiGatewayFront(no_handler, stage="dev")
    event = build(front, "GET", "/dev/projects/docs")
    assert event is not None
    assert event["rawPath"] == "/dev/projects/docs"
    assert event["requestContext"]["stage"] == "dev"
    assert build(front, "GET", "/projects/docs") is None


def test_event_bodies() -> None:
    front = ApiGatewayFront(no_handler)
    text = build(front, "POST", "/x", headers=[("Content-Type", "application/json")], body=b'{"a": 1}')
    assert text is not None
    assert text["body"] == '{"a": 1}'
    assert text["isBase64Encoded"] is False
    binary = build(front, "POST", "/x", headers=[("Content-Type", "image/png")], body=b"\x89PNG")
    assert binary is not None
    assert binary["isBase64Encoded"] is True
    assert base64.b64decode(binary["body"]) == b"\x89PNG"


def test_response_with_headers_and_cookies() -> None:
    status, headers, body = _http_response(
        {
            "statusCode": 201,
            "headers": {"Content-Type": "text/plain", "X-One": "1"},
            "cookies": ["a=1; Path=/", "b=2"],
            "body": "héllo",
        }
    )
    assert status == 201
    assert headers == [
        ("Content-Type", "text/plain"),
        ("X-One", "1"),
        ("Set-Cookie", "a=1; Path=/"),
        ("Set-Cookie", "b=2"),
    ]
    assert body == "héllo".encode()


def test_response_with_multi_value_headers_and_base64_body() -> None:
    status, headers, body = _http_response(
        {
            "statusCode": 200,
            "multiValueHeaders": {"Vary": ["Accept", "Accept-Encoding"], "Content-Type": ["image/png"]},
            "headers": {"content-type": "ignored/when-multi-has-it", "X-Two": "2"},
            "body": base64.b64encode(b"\x00\x01binary").decode(),
            "isBase64Encoded": True,
        }
    )
    assert status == 200
    assert headers == [
        ("Vary", "Accept"),
        ("Vary", "Accept-Encoding"),
        ("Content-Type", "image/png"),
        ("X-Two", "2"),
    ]
    assert body == b"\x00\x01binary"


def test_response_without_status_code_is_json() -> None:
    status, headers, body = _http_response({"hello": "world"})
    assert status == 200
    assert headers == [("Content-Type", "application/json")]
    assert body == b'{"hello": "world"}'


@pytest.mark.parametrize(
    "result",
    [
        {"statusCode": "200"},
        {"statusCode": 99},
        {"statusCode": 200, "body": 5},
        {"statusCode": 200, "headers": ["x"]},
        {"statusCode": 200, "multiValueHeaders": {"X": "not-a-list"}},
        {"statusCode": 200, "body": "%%%", "isBase64Encoded": True},
    ],
)
def test_invalid_responses_are_rejected(result: dict[str, Any]) -> None:
    with pytest.raises((TypeError, ValueError)):
        _http_response(result)


def test_fake_context() -> None:
    context = FakeLambdaContext(function_name="status", aws_request_id="abc", timeout_seconds=10)
    assert context.invoked_function_arn == "arn:aws:lambda:us-east-1:123456789012:function:status"
    assert 9_000 < context.get_remaining_time_in_millis() <= 10_000
    assert context.log_group_name == "/aws/lambda/status"


def test_status_page_routes_are_the_templates() -> None:
    events = load_template()["Resources"]["StatusPageFunction"]["Properties"]["Events"]
    template_routes = {
        f"{event['Properties']['Method'].upper()} {event['Properties']['Path']}"
        for event in events.values()
        if event["Type"] == "HttpApi"
    }
    assert set(STATUS_PAGE_ROUTES) == template_routes
