"""The bounded load generator against a small HTTP server on 127.0.0.1."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest

from bench.loadgen import run_load


class _Handler(BaseHTTPRequestHandler):
    """Respond 200 (404 for paths ending in /missing) and record path, Accept-Encoding and Connection."""

    protocol_version = "HTTP/1.1"
    seen: ClassVar[list[tuple[str, str | None, str | None]]] = []
    lock: ClassVar[threading.Lock] = threading.Lock()

    def do_GET(self) -> None:
        with self.lock:
            self.seen.append((self.path, self.headers.get("Accept-Encoding"), self.headers.get("Connection")))
        status = 404 if self.path.endswith("/missing") else 200
        body = b"ok"
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    _Handler.seen = []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/base/"
    httpd.shutdown()
    httpd.server_close()


def test_load_stops_at_max_requests(server):
    result = run_load(server, ["/a", "/missing"], threads=2, duration=10.0, max_requests=20)
    assert result.completed == 20
    assert result.errors == 0
    assert result.statuses == {200: 10, 404: 10}
    assert len(result.latencies) == 20
    assert result.per_second > 0


def test_load_paths_under_prefix_round_robin(server):
    run_load(server, ["/a", "/b"], threads=1, duration=10.0, max_requests=4)
    assert [path for path, _, _ in _Handler.seen] == ["/base/a", "/base/b", "/base/a", "/base/b"]
    assert {encoding for _, encoding, _ in _Handler.seen} == {"gzip"}


def test_load_without_keep_alive_asks_to_close(server):
    result = run_load(server, ["/a"], threads=1, duration=10.0, max_requests=3, keep_alive=False)
    assert result.completed == 3
    assert [connection for _, _, connection in _Handler.seen] == ["close", "close", "close"]


def test_load_stops_at_duration(server):
    result = run_load(server, ["/a"], threads=2, duration=0.2, max_requests=10_000_000)
    assert result.completed > 0
    assert result.duration < 5.0


def test_load_counts_failed_connections():
    # Port 9 (discard) on loopback has no listener here: every request fails without a response.
    result = run_load("http://127.0.0.1:9/", ["/"], threads=1, duration=10.0, max_requests=3)
    assert result.completed == 0
    assert result.errors == 3
    assert result.per_second == 0.0


@pytest.mark.parametrize(
    "url", ["http://192.0.2.1:8080/", "https://127.0.0.1/", "http://example.com/", "ftp://127.0.0.1/"]
)
def test_load_rejects_non_loopback_targets(url):
    with pytest.raises(ValueError, match="only sent to"):
        run_load(url, ["/"], max_requests=1)


@pytest.mark.parametrize(
    ("paths", "threads", "duration", "max_requests"),
    [([], 1, 1.0, 1), (["/"], 0, 1.0, 1), (["/"], 1, 0.0, 1), (["/"], 1, 1.0, 0)],
)
def test_load_rejects_empty_or_non_positive_bounds(paths, threads, duration, max_requests):
    with pytest.raises(ValueError, match=r"at least one path|must be positive"):
        run_load("http://127.0.0.1:9/", paths, threads=threads, duration=duration, max_requests=max_requests)
