"""Status page benchmarks: warm handler latency for cache hits and misses, upstream calls per miss, and
requests per second through the local API Gateway front.

One stand-in Lambda process (python3.13, built layer) imports the status page handler and calls
`lambda_handler` directly with the sample HTTP API events of four routes: first repeatedly with the default
cache (hits), then with STATUS_CACHE_SECONDS=0 so every call fetches again (misses, with warm connections
and threads). The stand-in adds the same latency to every upstream request. Upstream calls per miss are
counted in the stand-in's log within each route's time window. Last, the process serves the handler through
`sandbox.apigateway.ApiGatewayFront`, and this process sends it load from a few threads.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from bench.containers import REPO_ROOT, BenchError, ChildProcess, Layout
from bench.loadgen import LoadResult, run_load
from bench.report import Row, Section, Table, Verdict, milliseconds
from bench.stand_ins import TIMEOUTS, LocalAccount, account_sandbox, function_environment
from bench.stats import Summary, median
from sandbox.cloudflare_pages import RequestRecord

logger = logging.getLogger(__name__)

EVENTS: Final = REPO_ROOT / "events" / "status_page"
# Route name -> (sample event, path through the front).
ROUTES: Final = {
    "index": ("http_api_index.json", "/"),
    "project page": ("http_api_project.json", "/projects/docs"),
    "project JSON": ("http_api_api.json", "/api/projects/docs"),
    "badge": ("http_api_badge.json", "/projects/docs/badge.svg"),
}
MAX_HIT_P99_SECONDS: Final = 0.005
# A miss whose median stays under 1.5 upstream calls is closer to the slowest single call than to the sum
# of two calls made one after the other.
MAX_MISS_PER_CALL: Final = 1.5
CLIENT_OVERRIDE: Final = {"per_minute": 60000.0, "burst": 8}


@dataclass(frozen=True, slots=True)
class RouteLatency:
    route: str
    hits: Summary
    misses: Summary
    upstream_calls_per_miss: float
    upstream_call: Summary

    @property
    def miss_per_call(self) -> float:
        return self.misses.p50 / self.upstream_call.p50


@dataclass(frozen=True, slots=True)
class StatusResults:
    latency_seconds: float
    hit_count: int
    miss_count: int
    routes: tuple[RouteLatency, ...]
    load: LoadResult
    load_threads: int


def load_event(name: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((EVENTS / name).read_text(encoding="utf-8"))
    return event


def calls_in_window(records: Sequence[RequestRecord], window: Sequence[float]) -> list[RequestRecord]:
    """Return the upstream requests that started within [start, end] of a route's miss phase."""
    start, end = window
    return [record for record in records if start <= record.started <= end]


def measure(
    runtime_python: str,
    layout: Layout,
    account: LocalAccount,
    scratch: Path,
    *,
    latency_seconds: float,
    hits: int,
    misses: int,
    load_seconds: float,
    load_threads: int,
) -> StatusResults:
    sandbox, _ = account_sandbox(latency_seconds=latency_seconds)
    home = scratch / "home"
    home.mkdir(exist_ok=True)
    code_dir = layout.function("status_page")
    try:
        environment = function_environment(
            "status_page",
            aws=account.environment(),
            api_base_url=sandbox.base_url,
            code_dir=code_dir,
            home=home,
            path="/usr/local/bin:/usr/bin:/bin",
        )
        config = {
            "mode": "status",
            "prepend_paths": [str(code_dir), str(layout.layer)],
            # Last on the path, for sandbox.apigateway only; it cannot shadow the function or the layer.
            "append_paths": [str(REPO_ROOT)],
            "handler_module": "app",
            "function_name": environment["AWS_LAMBDA_FUNCTION_NAME"],
            "timeout_seconds": TIMEOUTS["status_page"],
            "client": CLIENT_OVERRIDE,
            "status": {
                "routes": [{"name": name, "event": load_event(event)} for name, (event, _) in ROUTES.items()],
                "hits": hits,
                "misses": misses,
                "serve": True,
            },
        }
        with ChildProcess(runtime_python, config, environment=environment, cwd=code_dir) as child:
            timings = child.wait_for("latency")
            ready = child.wait_for("ready")
            # A new connection per request, as from many separate visitors, so the figure includes
            # connection setup and is not flattered by kept-alive connections.
            load = run_load(
                ready["url"],
                [path for _, path in ROUTES.values()],
                threads=load_threads,
                duration=load_seconds,
                keep_alive=False,
            )
            child.finish()
        records = sandbox.request_log
    finally:
        sandbox.stop()
    routes = tuple(
        _route_latency(hit, miss, records)
        for hit, miss in zip(timings["hits"], timings["misses"], strict=True)
    )
    return StatusResults(
        latency_seconds=latency_seconds,
        hit_count=hits,
        miss_count=misses,
        routes=routes,
        load=load,
        load_threads=load_threads,
    )


def _route_latency(
    hit: Mapping[str, Any], miss: Mapping[str, Any], records: Sequence[RequestRecord]
) -> RouteLatency:
    route = str(hit["route"])
    for phase in (hit, miss):
        bad = [status for status in phase["statuses"] if status != 200]
        if bad:
            raise BenchError(
                f"status page route {route} returned {bad[0]} during the benchmark, expected 200"
            )
    calls = calls_in_window(records, miss["window"])
    if not calls:
        raise BenchError(f"status page route {route}: no upstream call during its cache misses")
    return RouteLatency(
        route=route,
        hits=Summary.of([duration / 1e9 for duration in hit["durations_ns"]]),
        misses=Summary.of([duration / 1e9 for duration in miss["durations_ns"]]),
        upstream_calls_per_miss=len(calls) / len(miss["durations_ns"]),
        upstream_call=Summary.of([record.duration for record in calls]),
    )


def rows(results: StatusResults) -> list[Row]:
    worst_hit = max(results.routes, key=lambda route: route.hits.p99)
    worst_miss = max(results.routes, key=lambda route: route.miss_per_call)
    load = results.load
    return [
        Row(
            measure="status page, cache hit",
            how=f"warm lambda_handler, {results.hit_count} calls per route, 4 routes; worst route's p99",
            result=(
                f"p99 {milliseconds(worst_hit.hits.p99)} ({worst_hit.route}), "
                f"p50 {milliseconds(worst_hit.hits.p50)}"
            ),
            target=f"p99 < {milliseconds(MAX_HIT_P99_SECONDS)}",
            verdict=Verdict.of(all(route.hits.p99 < MAX_HIT_P99_SECONDS for route in results.routes)),
        ),
        Row(
            measure="status page, cache miss",
            how=(
                f"STATUS_CACHE_SECONDS=0, {results.miss_count} calls per route, "
                f"{milliseconds(results.latency_seconds)} added per upstream call; "
                "miss p50 / upstream call p50"
            ),
            result=(
                f"at most {worst_miss.miss_per_call:.2f} x one call ({worst_miss.route}: "
                f"{milliseconds(worst_miss.misses.p50)} for {worst_miss.upstream_calls_per_miss:g} calls "
                f"of {milliseconds(worst_miss.upstream_call.p50)})"
            ),
            target=f"about one call, not their sum (< {MAX_MISS_PER_CALL:g} x one call)",
            verdict=Verdict.of(all(route.miss_per_call < MAX_MISS_PER_CALL for route in results.routes)),
        ),
        Row(
            measure="status page, requests per second",
            how=(
                f"{results.load_threads} threads, a new connection per request, for {load.duration:.1f} s "
                "through the local API Gateway front, 4 routes in turn, Accept-Encoding: gzip, default cache"
            ),
            result=f"{load.per_second:,.0f} requests/s; {_failures(load)}",
            target="reported; every response 200",
            verdict=Verdict.of(load.completed > 0 and load.errors == 0 and set(load.statuses) == {200}),
        ),
    ]


def _failures(load: LoadResult) -> str:
    failed = {status: count for status, count in load.statuses.items() if status != 200}
    if not failed and not load.errors:
        return "every response 200"
    parts = [f"{count:,} x {status}" for status, count in sorted(failed.items())]
    if load.errors:
        parts.append(f"{load.errors:,} without a response")
    return f"{', '.join(parts)} of {load.completed + load.errors:,}"


def sections(results: StatusResults) -> list[Section]:
    latency = Table(
        headers=(
            "route",
            "hit p50",
            "hit p99",
            "miss p50",
            "miss p99",
            "upstream calls per miss",
            "upstream call p50",
            "miss p50 / call",
        ),
        rows=tuple(
            (
                route.route,
                milliseconds(route.hits.p50),
                milliseconds(route.hits.p99),
                milliseconds(route.misses.p50),
                milliseconds(route.misses.p99),
                f"{route.upstream_calls_per_miss:g}",
                milliseconds(route.upstream_call.p50),
                f"{route.miss_per_call:.2f} x",
            )
            for route in results.routes
        ),
    )
    return [
        Section(
            title="Status page",
            paragraphs=(_latency_text(results), _load_text(results)),
            tables=(latency, _load_table(results.load)),
        )
    ]


def _load_table(load: LoadResult) -> Table:
    latencies = list(load.latencies)
    statuses = ", ".join(f"{count:,} x {status}" for status, count in sorted(load.statuses.items()))
    load_rows: list[tuple[str, str]] = [
        ("requests completed", f"{load.completed:,} in {load.duration:.1f} s ({statuses or 'none'})"),
        ("requests per second", f"{load.per_second:,.0f}"),
        ("failed without a response", str(load.errors)),
    ]
    if latencies:
        load_rows += [
            ("latency p50", milliseconds(median(latencies))),
            ("latency p99", milliseconds(Summary.of(latencies).p99)),
        ]
    return Table(headers=("load through the front", "value"), rows=tuple(load_rows))


def _latency_text(results: StatusResults) -> str:
    return " ".join(
        (
            "Warm `lambda_handler` calls in one python3.13 process laid out like Lambda, timed around the",
            "call with `time.perf_counter_ns`. The events are the HTTP API samples in events/status_page/.",
            f"Hits: the default 30 s cache, {results.hit_count} calls per route after a first call that",
            f"fills the cache. Misses: STATUS_CACHE_SECONDS=0, {results.miss_count} calls per route. The",
            f"stand-in adds {milliseconds(results.latency_seconds)} to every upstream call, and",
            "`upstream call` is the stand-in's own time for one call, from its log. Logs and metrics stay",
            "on (to /dev/null). The client's rate ceiling is raised to",
            f"{CLIENT_OVERRIDE['per_minute']:,.0f} requests a minute with a burst of",
            f"{CLIENT_OVERRIDE['burst']:g}: at the deployed ceiling a container absorbs a burst of 8 calls,",
            "then one call every 0.5 s (120 a minute), which would time the rate limiter after the first",
            "few misses.",
        )
    )


def _load_text(results: StatusResults) -> str:
    return " ".join(
        (
            "Requests per second: the process serves the handler through the local API Gateway front (one",
            "invocation at a time, as one Lambda container does), and this process sends GET requests from",
            f"{results.load_threads} threads, so the figure is one container's throughput on this machine,",
            "including the front's HTTP handling. Each request opens a new connection, as from many",
            "separate visitors, so connection setup is included.",
        )
    )
