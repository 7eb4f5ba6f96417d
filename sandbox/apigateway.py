"""A local API Gateway HTTP API in front of a Lambda handler, for the demo and the browser tests.

`ApiGatewayFront` serves HTTP on 127.0.0.1 and turns each request into an HTTP API payload 2.0 event, the
way API Gateway does. Header names are lower-cased and repeated headers joined with commas. Cookies go to
`cookies`, query parameters to `queryStringParameters` (repeats joined with commas), and the route that
matched to `routeKey` with its `pathParameters`. `rawPath` is the path exactly as requested, including the
stage or the custom-domain base path. The handler's response is written back: `statusCode`, `headers`,
`multiValueHeaders`, `cookies`, and a `body` that is base64-decoded when `isBase64Encoded` is true. A
response without `statusCode` is sent as a 200 JSON document, as HTTP API does for payload 2.0.

Routes are matched like HTTP API: a route without path variables beats one with variables, a variable beats
a greedy `{proxy+}`, a method beats `ANY`, and `$default` catches the rest. A request that matches no route
gets API Gateway's own `404 {"message":"Not Found"}` without calling the handler.

The handler runs one invocation at a time, as in a single Lambda container (Powertools resolvers keep
per-request state on the class). It is not stopped at its timeout: a slower invocation gets API Gateway's
503 response after it returns, and a log line.

    python -m sandbox.apigateway --handler status_page.app:lambda_handler --port 8080 --base-path status

(with `shared` and `functions` on PYTHONPATH and the function's environment variables set) serves the status
page at http://127.0.0.1:8080/status/.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import contextlib
import importlib
import json
import logging
import re
import socket
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Final
from urllib.parse import parse_qsl, unquote, urlsplit

logger = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any], Any], Any]

# The routes template.yaml gives the status page, so the front matches requests the way the stack does.
STATUS_PAGE_ROUTES: Final = (
    "GET /",
    "GET /projects/{name}",
    "GET /api/projects/{name}",
    "GET /projects/{name}/badge.svg",
    "ANY /",
    "ANY /{proxy+}",
)
FAKE_ACCOUNT_ID: Final = "123456789012"
FAKE_REGION: Final = "us-east-1"
_VARIABLE: Final = re.compile(r"^\{([A-Za-z0-9_]+)(\+?)\}$")
_TEXT_TYPES: Final = ("text/", "application/json", "application/xml", "application/x-www-form-urlencoded")
_NO_BODY_STATUSES: Final = frozenset({204, 304})


@dataclass(frozen=True, slots=True)
class Route:
    """One HTTP API route such as `GET /projects/{name}`, `ANY /{proxy+}` or `$default`."""

    key: str
    method: str
    segments: tuple[str, ...]

    @classmethod
    def parse(cls, key: str) -> Route:
        if key == "$default":
            return cls(key=key, method="ANY", segments=())
        method, _, path = key.partition(" ")
        if not method or not path.startswith("/"):
            raise ValueError(f"route key must look like 'GET /path' or '$default', got {key!r}")
        segments = tuple(segment for segment in path.split("/") if segment)
        for index, segment in enumerate(segments):
            variable = _VARIABLE.match(segment)
            if variable and variable.group(2) and index != len(segments) - 1:
                raise ValueError(f"a greedy path variable must be the last segment, got {key!r}")
        return cls(key=key, method=method.upper(), segments=segments)

    @property
    def is_default(self) -> bool:
        return self.key == "$default"

    def match(self, method: str, segments: Sequence[str]) -> dict[str, str] | None:
        """Return the path parameters when this route serves `method` on `segments`, else None."""
        if self.is_default:
            return {}
        if self.method not in ("ANY", method):
            return None
        parameters: dict[str, str] = {}
        for index, pattern in enumerate(self.segments):
            variable = _VARIABLE.match(pattern)
            if variable is not None and variable.group(2):
                rest = segments[index:]
                parameters[variable.group(1)] = "/".join(rest)
                return parameters if rest else None
            if index >= len(segments) or (variable is None and pattern != segments[index]):
                return None
            if variable is not None:
                parameters[variable.group(1)] = segments[index]
        return parameters if len(segments) == len(self.segments) else None

    def precedence(self) -> tuple[int, int, int, int]:
        """Sort key: lower wins, as in HTTP API's "most specific route" rule."""
        variables = [_VARIABLE.match(segment) for segment in self.segments]
        greedy = sum(1 for variable in variables if variable is not None and variable.group(2))
        plain = sum(1 for variable in variables if variable is not None and not variable.group(2))
        return (int(self.is_default), greedy, plain, int(self.method == "ANY"))


@dataclass
class FakeLambdaContext:
    """The attributes of a Lambda context object that handlers and Powertools read."""

    function_name: str
    aws_request_id: str
    timeout_seconds: float
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 128
    started: float = field(default_factory=time.monotonic)

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{FAKE_REGION}:{FAKE_ACCOUNT_ID}:function:{self.function_name}"

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.function_name}"

    @property
    def log_stream_name(self) -> str:
        return f"{datetime.now(UTC):%Y/%m/%d}/[$LATEST]local"

    def get_remaining_time_in_millis(self) -> int:
        remaining = self.timeout_seconds - (time.monotonic() - self.started)
        return max(0, int(remaining * 1000))


class ApiGatewayFront:
    """An HTTP API stand-in on 127.0.0.1 that invokes `handler(event, context)` for every request.

    `base_path` mounts the API under a custom-domain base path: `status` serves `/status/...`, and the stage
    is not in the URL. Without a base path, a `stage` other than `$default` is the first path segment, as on
    an execute-api URL. `port=0` lets the OS choose a free port.
    """

    def __init__(
        self,
        handler: Handler,
        *,
        port: int = 0,
        routes: Sequence[str] = STATUS_PAGE_ROUTES,
        base_path: str = "",
        stage: str = "$default",
        function_name: str = "local-function",
        timeout_seconds: float = 10.0,
    ) -> None:
        self.handler = handler
        self.routes = tuple(Route.parse(key) for key in routes)
        self.base_path = base_path.strip("/")
        self.stage = stage
        self.function_name = function_name
        self.timeout_seconds = timeout_seconds
        self._requested_port = port
        self._server: _FrontServer | None = None
        self._thread: threading.Thread | None = None
        self._invoke_lock = threading.Lock()
        # The most recent events, newest last, for tests that check what the handler received.
        self.events: deque[dict[str, Any]] = deque(maxlen=256)

    # Lifecycle

    def start(self) -> ApiGatewayFront:
        if self._server is not None:
            raise RuntimeError("the API Gateway front is already running")
        server = _FrontServer(self, self._requested_port)
        thread = threading.Thread(target=server.serve_forever, name="apigateway-front", daemon=True)
        thread.start()
        self._server, self._thread = server, thread
        logger.info("API Gateway front serving %s", self.url)
        return self

    def stop(self, timeout: float = 5.0) -> None:
        server, thread = self._server, self._thread
        self._server, self._thread = None, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if thread is not None:
            thread.join(timeout)

    def __enter__(self) -> ApiGatewayFront:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the API Gateway front is not running")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """The API's root URL, including the base path or stage: open this in a browser."""
        return f"http://127.0.0.1:{self.port}{self.mount_prefix}/"

    @property
    def mount_prefix(self) -> str:
        if self.base_path:
            return f"/{self.base_path}"
        if self.stage != "$default":
            return f"/{self.stage}"
        return ""

    # Requests

    def build_event(
        self,
        *,
        method: str,
        target: str,
        headers: Sequence[tuple[str, str]],
        body: bytes,
        source_ip: str,
    ) -> tuple[dict[str, Any] | None, Route | None]:
        """Build the payload 2.0 event for one request and return it with its route, or (None, None)."""
        parts = urlsplit(target)
        raw_path = parts.path or "/"
        route_path = self._route_path(raw_path)
        if route_path is None:
            return None, None
        segments = [unquote(segment) for segment in route_path.split("/") if segment]
        route, parameters = self._match(method, segments)
        if route is None:
            return None, None

        header_map: dict[str, str] = {}
        cookies: list[str] = []
        for name, value in headers:
            lower = name.lower()
            if lower == "cookie":
                cookies.extend(item.strip() for item in value.split(";") if item.strip())
                continue
            header_map[lower] = f"{header_map[lower]},{value}" if lower in header_map else value

        now = datetime.now(UTC)
        host = header_map.get("host") or (
            f"127.0.0.1:{self.port}" if self._server is not None else "127.0.0.1"
        )
        event: dict[str, Any] = {
            "version": "2.0",
            "routeKey": route.key,
            "rawPath": raw_path,
            "rawQueryString": parts.query,
            "headers": header_map,
            "requestContext": {
                "accountId": FAKE_ACCOUNT_ID,
                "apiId": "local",
                "domainName": host,
                "domainPrefix": host.split(".", 1)[0],
                "http": {
                    "method": method,
                    "path": raw_path,
                    "protocol": "HTTP/1.1",
                    "sourceIp": source_ip,
                    "userAgent": header_map.get("user-agent", ""),
                },
                "requestId": uuid.uuid4().hex[:16],
                "routeKey": route.key,
                "stage": self.stage,
                "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
                "timeEpoch": int(now.timestamp() * 1000),
            },
            "isBase64Encoded": False,
        }
        if cookies:
            event["cookies"] = cookies
        query = _query_parameters(parts.query)
        if query:
            event["queryStringParameters"] = query
        if parameters:
            event["pathParameters"] = parameters
        if body:
            if _is_text(header_map.get("content-type", "")):
                try:
                    event["body"] = body.decode("utf-8")
                except UnicodeDecodeError:
                    event["body"] = base64.b64encode(body).decode("ascii")
                    event["isBase64Encoded"] = True
            else:
                event["body"] = base64.b64encode(body).decode("ascii")
                event["isBase64Encoded"] = True
        return event, route

    def invoke(self, event: dict[str, Any]) -> Any:
        """Call the handler the way Lambda would: one invocation at a time, with a fresh context."""
        context = FakeLambdaContext(
            function_name=self.function_name,
            aws_request_id=str(uuid.uuid4()),
            timeout_seconds=self.timeout_seconds,
        )
        with self._invoke_lock:
            self.events.append(event)
            started = time.monotonic()
            result = self.handler(event, context)
            elapsed = time.monotonic() - started
        if elapsed > self.timeout_seconds:
            raise _InvocationTimeoutError(f"invocation took {elapsed:.1f}s, over {self.timeout_seconds:.1f}s")
        return result

    def _route_path(self, raw_path: str) -> str | None:
        prefix = self.mount_prefix
        if not prefix:
            return raw_path
        if raw_path == prefix or raw_path.startswith(f"{prefix}/"):
            return raw_path[len(prefix) :] or "/"
        return None

    def _match(self, method: str, segments: Sequence[str]) -> tuple[Route | None, dict[str, str]]:
        candidates = []
        for order, route in enumerate(self.routes):
            parameters = route.match(method, segments)
            if parameters is not None:
                candidates.append((route.precedence(), order, route, parameters))
        if not candidates:
            return None, {}
        _, _, route, parameters = min(candidates, key=lambda item: (item[0], item[1]))
        return route, parameters


class _InvocationTimeoutError(Exception):
    """The handler returned after the function's timeout."""


class _FrontServer(ThreadingHTTPServer):
    daemon_threads = True
    # The front is for local use only: it never binds anything but the loopback address.
    allow_reuse_address = True

    def __init__(self, front: ApiGatewayFront, port: int) -> None:
        self.front = front
        super().__init__(("127.0.0.1", port), _FrontHandler)


class _FrontHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "local-apigateway"
    sys_version = ""
    server: _FrontServer

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in separate writes. Without TCP_NODELAY, Nagle's algorithm and the
        # client's delayed ACK hold the body back about 40 ms on every keep-alive response.
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s - %s", self.address_string(), format % args)

    def do_GET(self) -> None:
        self._serve()

    def do_HEAD(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_PATCH(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def do_OPTIONS(self) -> None:
        self._serve()

    def _serve(self) -> None:
        front = self.server.front
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        event, _route = front.build_event(
            method=self.command,
            target=self.path,
            headers=list(self.headers.items()),
            body=body,
            source_ip=self.client_address[0],
        )
        if event is None:
            self._send_json(404, {"message": "Not Found"})
            return
        try:
            result = front.invoke(event)
        except _InvocationTimeoutError as exc:
            logger.warning("%s %s: %s", self.command, self.path, exc)
            self._send_json(503, {"message": "Service Unavailable"})
            return
        except Exception:
            logger.exception("%s %s: the handler raised", self.command, self.path)
            self._send_json(500, {"message": "Internal Server Error"})
            return
        try:
            status, headers, payload = _http_response(result)
        except (TypeError, ValueError, binascii.Error):
            logger.exception("%s %s: the handler returned an invalid response", self.command, self.path)
            self._send_json(500, {"message": "Internal Server Error"})
            return
        self._send(status, headers, payload)

    def _send_json(self, status: int, document: Mapping[str, Any]) -> None:
        body = json.dumps(document).encode("utf-8")
        self._send(status, [("Content-Type", "application/json")], body)

    def _send(self, status: int, headers: Sequence[tuple[str, str]], body: bytes) -> None:
        self.send_response(status)
        for name, value in headers:
            if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                self.send_header(name, value)
        has_body = status not in _NO_BODY_STATUSES and not 100 <= status < 200
        self.send_header("Content-Length", str(len(body) if has_body else 0))
        self.end_headers()
        if has_body and self.command != "HEAD":
            self.wfile.write(body)


def _http_response(result: Any) -> tuple[int, list[tuple[str, str]], bytes]:
    """Decode a handler's payload 2.0 (or 1.0-style) response into status, headers and body bytes."""
    if not isinstance(result, Mapping) or "statusCode" not in result:
        return 200, [("Content-Type", "application/json")], json.dumps(result).encode("utf-8")

    status = result["statusCode"]
    if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
        raise ValueError(f"statusCode must be an HTTP status code, got {status!r}")

    headers: list[tuple[str, str]] = []
    single = result.get("headers") or {}
    multi = result.get("multiValueHeaders") or {}
    if not isinstance(single, Mapping) or not isinstance(multi, Mapping):
        raise TypeError("headers and multiValueHeaders must be JSON objects")
    for name, values in multi.items():
        if not isinstance(values, list):
            raise TypeError(f"multiValueHeaders[{name!r}] must be a list")
        headers.extend((str(name), str(value)) for value in values)
    multi_names = {str(name).lower() for name in multi}
    headers.extend(
        (str(name), str(value)) for name, value in single.items() if str(name).lower() not in multi_names
    )
    for cookie in result.get("cookies") or ():
        headers.append(("Set-Cookie", str(cookie)))

    body = result.get("body")
    if body is None:
        payload = b""
    elif not isinstance(body, str):
        raise TypeError(f"body must be a string, got {type(body).__name__}")
    elif result.get("isBase64Encoded") is True:
        payload = base64.b64decode(body, validate=True)
    else:
        payload = body.encode("utf-8")
    return status, headers, payload


def _query_parameters(query: str) -> dict[str, str]:
    parameters: dict[str, str] = {}
    for name, value in parse_qsl(query, keep_blank_values=True):
        parameters[name] = f"{parameters[name]},{value}" if name in parameters else value
    return parameters


def _is_text(content_type: str) -> bool:
    return content_type.lower().startswith(_TEXT_TYPES)


def _load_handler(spec: str) -> Handler:
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise SystemExit(f"--handler must look like package.module:function, got {spec!r}")
    handler = getattr(importlib.import_module(module_name), attribute)
    if not callable(handler):
        raise SystemExit(f"{spec} is not callable")
    return handler  # type: ignore[no-any-return]


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve a Lambda handler behind a local API Gateway front.")
    parser.add_argument("--handler", required=True, help="the handler as package.module:function")
    parser.add_argument("--port", type=int, default=8080, help="port on 127.0.0.1 (0 picks a free one)")
    parser.add_argument("--base-path", default="", help="custom-domain base path, e.g. status")
    parser.add_argument("--stage", default="$default", help="stage name; shown in the URL unless $default")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    front = ApiGatewayFront(
        _load_handler(args.handler),
        port=args.port,
        base_path=args.base_path,
        stage=args.stage,
        function_name=args.handler.partition(":")[0],
    )
    with front:
        logger.info("open %s (Ctrl-C stops)", front.url)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            logger.info("stopping")


if __name__ == "__main__":
    main()
