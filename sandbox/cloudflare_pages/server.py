"""The stand-in's HTTP server on 127.0.0.1, and `PagesSandbox`, which tests, the demo and benchmarks start.

Built on `http.server.ThreadingHTTPServer`: one thread per connection, HTTP/1.1 keep-alive, and every
response sized with Content-Length. Faults are applied here, before the API handler gets a request,
because they stand for what happens between a client and Cloudflare (slow links, proxies, dropped
connections).
Stopping the server wakes held and delayed requests and closes open connections, so `stop()` returns
promptly even while a hang fault keeps requests waiting.
"""

from __future__ import annotations

import logging
import socket
import socketserver
import struct
import threading
import time
from contextlib import suppress
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Final
from urllib.parse import parse_qs, urlsplit

from sandbox.cloudflare_pages.api import (
    ApiRequest,
    ApiResponse,
    PagesApi,
    auth_kind,
    error_response,
    loggable_path,
)
from sandbox.cloudflare_pages.constants import (
    API_PREFIX,
    DEFAULT_RATE_LIMIT,
    DEFAULT_RATE_WINDOW_SECONDS,
    DEFAULT_STAGE_SECONDS,
    SANDBOX_ACCOUNT_ID,
)
from sandbox.cloudflare_pages.errors import InvalidRequestBodyError
from sandbox.cloudflare_pages.faults import Fault, FaultInjector, FaultKind
from sandbox.cloudflare_pages.ratelimit import RateLimiter
from sandbox.cloudflare_pages.seed import seed_demo
from sandbox.cloudflare_pages.store import Clock, PagesStore

logger = logging.getLogger(__name__)

LOOPBACK: Final = "127.0.0.1"
MAX_BODY_BYTES: Final = 10 * 1024 * 1024
# How often a held request checks whether its hang was cleared or the server is stopping.
_HOLD_POLL_SECONDS: Final = 0.05
# How often the accept loop checks for `stop()`; it bounds how long stopping takes.
_SERVE_POLL_SECONDS: Final = 0.02


@dataclass(frozen=True, slots=True)
class RequestRecord:
    """One request the sandbox received.

    `query` keeps the first value of each parameter. `status` is None when no response was sent (a
    connection reset, or a request held until the server stopped). `started` and `ended` are
    `time.monotonic()` seconds, so overlapping records show concurrent requests. `auth` records which
    credentials were sent ("bearer", "global_key" or None), never their values.
    """

    method: str
    path: str
    query: dict[str, str]
    status: int | None
    started: float
    ended: float
    auth: str | None = None
    body: bytes = field(default=b"", repr=False)

    @property
    def duration(self) -> float:
        return self.ended - self.started


class _BadRequestBodyError(Exception):
    """The request body could not be read: bad Content-Length or chunked encoding, or too large."""


class _SandboxServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 128

    def __init__(self, sandbox: PagesSandbox, port: int) -> None:
        self.sandbox = sandbox
        super().__init__((LOOPBACK, port), _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind looks up the host's fully qualified name, which can stall on a machine
        # without DNS; the sandbox only ever serves the loopback address.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = str(host)
        self.server_port = int(port)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # The default prints a traceback to stderr; a client dropping its connection is normal here.
        logger.debug("Sandbox connection from %s ended with an error", client_address, exc_info=True)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Idle keep-alive connections are closed after this many seconds.
    timeout = 30

    @property
    def sandbox(self) -> PagesSandbox:
        server = self.server
        assert isinstance(server, _SandboxServer)  # noqa: S101 -- narrows the type for mypy
        return server.sandbox

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in separate writes. Without TCP_NODELAY, Nagle's algorithm and the
        # client's delayed ACK hold the body back about 40 ms on every keep-alive response.
        with suppress(OSError):
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sandbox._connection_opened(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.sandbox._connection_closed(self.connection)

    def version_string(self) -> str:
        # The `Server` header Cloudflare's API sends.
        return "cloudflare"

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        # `_serve` logs each request itself, with deploy hook ids left out.
        pass

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("Sandbox HTTP: %s", loggable_path(format % args))

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_PATCH(self) -> None:
        self._serve()

    def do_HEAD(self) -> None:
        self._serve()

    def do_OPTIONS(self) -> None:
        self._serve()

    def _serve(self) -> None:
        started = time.monotonic()
        parts = urlsplit(self.path)
        query = {name: values[0] for name, values in parse_qs(parts.query, keep_blank_values=True).items()}
        headers = dict(self.headers.items())
        request = ApiRequest(self.command, parts.path, query, headers)
        response: ApiResponse | None = None
        try:
            request = ApiRequest(self.command, parts.path, query, headers, self._read_body())
            response = self._respond(request)
        except _BadRequestBodyError:
            self.close_connection = True
            response = error_response(InvalidRequestBodyError())

        # The request is logged before the client gets the response, so a test that reads the log right
        # after a call always finds that call in it.
        record = RequestRecord(
            request.method,
            request.path,
            query,
            None if response is None else response.status,
            started,
            time.monotonic(),
            auth_kind(request),
            request.body,
        )
        self.sandbox._record(record)
        logger.debug(
            "Sandbox %s %s -> %s in %.1f ms",
            record.method,
            loggable_path(record.path),
            record.status,
            record.duration * 1000,
        )
        if response is None:
            self._abort()
        else:
            self._send(response)

    def _respond(self, request: ApiRequest) -> ApiResponse | None:
        """Apply the faults that match, then the API. None means: reset the connection, send nothing."""
        sandbox = self.sandbox
        applied = sandbox.faults.match(request.method, request.path)
        if applied.latency > 0 and sandbox._stopping.wait(applied.latency):
            return None
        fault = applied.fault
        if fault is not None:
            if fault.kind is FaultKind.HANG:
                if not self._hold(fault):
                    return None
            elif fault.kind is FaultKind.CONNECTION_RESET:
                return None
            else:
                return ApiResponse(fault.status, fault.body, fault.headers, fault.content_type)
        return sandbox.api.handle(request)

    def _hold(self, fault: Fault) -> bool:
        """Wait until the hang is cleared (True) or the server stops (False)."""
        stopping = self.sandbox._stopping
        while not fault.released and not stopping.is_set():
            fault.wait_released(_HOLD_POLL_SECONDS)
        return not stopping.is_set()

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            return self._read_chunked()
        length_header = self.headers.get("Content-Length")
        if length_header is None:
            return b""
        try:
            length = int(length_header)
        except ValueError as error:
            raise _BadRequestBodyError from error
        if not 0 <= length <= MAX_BODY_BYTES:
            raise _BadRequestBodyError
        return self.rfile.read(length)

    def _read_chunked(self) -> bytes:
        chunks: list[bytes] = []
        total = 0
        while True:
            size_line = self.rfile.readline(1024).split(b";", 1)[0].strip()
            try:
                size = int(size_line, 16)
            except ValueError as error:
                raise _BadRequestBodyError from error
            if size == 0:
                # Skip trailer fields up to the blank line that ends the body.
                while self.rfile.readline(1024).strip():
                    pass
                return b"".join(chunks)
            total += size
            if total > MAX_BODY_BYTES:
                raise _BadRequestBodyError
            chunks.append(self.rfile.read(size))
            self.rfile.readline(8)

    def _send(self, response: ApiResponse) -> None:
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        for name, value in response.headers:
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    def _abort(self) -> None:
        """Close the connection with a TCP reset and no response."""
        self.close_connection = True
        with suppress(OSError):
            # A zero linger time makes close() send RST instead of FIN.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        with suppress(OSError):
            self.connection.close()


class PagesSandbox:
    """A local Cloudflare Pages API on 127.0.0.1, with a store, fault injection and a request log.

    Use it as a context manager or call `start()` and `stop()`. `port=0` lets the OS choose a free port.
    `seed="demo"` fills the store with `seed_demo`; `seed=None` leaves it empty. `clock` (default: the
    real UTC time) is what the store's deployments age and progress by; tests inject a movable one.
    `rate_limit=None` turns the rate limit off. Builds started through the API spend `stage_seconds` of
    clock time in each of their five stages.
    """

    def __init__(
        self,
        *,
        port: int = 0,
        seed: str | None = None,
        clock: Clock | None = None,
        rate_limit: int | None = DEFAULT_RATE_LIMIT,
        rate_window_seconds: float = DEFAULT_RATE_WINDOW_SECONDS,
        stage_seconds: float = DEFAULT_STAGE_SECONDS,
        retry_after_on_rate_limit: bool = True,
    ) -> None:
        if not 0 <= port <= 65535:
            raise ValueError(f"port must be between 0 and 65535, got {port}")
        self.store = PagesStore(clock=clock, stage_seconds=stage_seconds)
        self.faults = FaultInjector()
        self.rate_limiter = RateLimiter(
            rate_limit, rate_window_seconds, send_retry_after=retry_after_on_rate_limit
        )
        self.api = PagesApi(self.store, self.rate_limiter)
        self.account_id = SANDBOX_ACCOUNT_ID
        self._requested_port = port
        self._server: _SandboxServer | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._log: list[RequestRecord] = []
        self._connections: set[socket.socket] = set()
        self._handler_threads: set[threading.Thread] = set()
        if seed == "demo":
            seed_demo(self.store, self.store.now())
        elif seed is not None:
            raise ValueError(f"unknown seed {seed!r}; use 'demo' or None")

    def __enter__(self) -> PagesSandbox:
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
            raise RuntimeError("the sandbox is not running; call start() or enter it as a context manager")
        return self._server.server_port

    @property
    def base_url(self) -> str:
        """The API root to give clients, e.g. `http://127.0.0.1:8787/client/v4`."""
        return f"http://{LOOPBACK}:{self.port}{API_PREFIX}"

    def start(self) -> PagesSandbox:
        if self._server is not None:
            raise RuntimeError(f"the sandbox is already running on port {self._server.server_port}")
        self._stopping.clear()
        self._server = _SandboxServer(self, self._requested_port)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": _SERVE_POLL_SECONDS},
            name=f"pages-sandbox-{self._server.server_port}",
            daemon=True,
        )
        self._thread.start()
        logger.info("Cloudflare Pages sandbox listening on %s", self.base_url)
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop serving, end held and delayed requests, close connections, and wait for handler threads."""
        server, thread = self._server, self._thread
        if server is None:
            return
        self._stopping.set()
        self.faults.release_all()
        server.shutdown()
        server.server_close()
        with self._lock:
            connections = list(self._connections)
            handlers = list(self._handler_threads)
        for connection in connections:
            with suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        deadline = time.monotonic() + timeout
        for handler in handlers:
            handler.join(max(0.0, deadline - time.monotonic()))
        if thread is not None:
            thread.join(max(0.0, deadline - time.monotonic()))
        self._server = None
        self._thread = None
        logger.info("Cloudflare Pages sandbox stopped")

    @property
    def request_log(self) -> list[RequestRecord]:
        """A copy of the requests received so far, in the order they finished."""
        with self._lock:
            return list(self._log)

    def reset_request_log(self) -> None:
        with self._lock:
            self._log.clear()

    def deploy_hook_url(self, project: str, branch: str) -> str:
        """Create a deploy hook for `branch` of `project` and return its full URL on this sandbox."""
        base_url = self.base_url
        hook_id = self.store.create_deploy_hook(project, branch)
        return f"{base_url}/pages/webhooks/deploy_hooks/{hook_id}"

    # -- called by the handler threads ----------------------------------------------------------------------

    def _record(self, record: RequestRecord) -> None:
        with self._lock:
            self._log.append(record)

    def _connection_opened(self, connection: socket.socket) -> None:
        with self._lock:
            self._connections.add(connection)
            self._handler_threads.add(threading.current_thread())

    def _connection_closed(self, connection: socket.socket) -> None:
        with self._lock:
            self._connections.discard(connection)
            self._handler_threads.discard(threading.current_thread())
