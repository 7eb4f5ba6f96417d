"""Status page benchmark: upstream calls per miss and the summary rows, on hand-made timings."""

from __future__ import annotations

import pytest

from bench import status
from bench.containers import BenchError
from bench.loadgen import LoadResult
from bench.report import Verdict
from bench.stats import Summary
from sandbox.cloudflare_pages import RequestRecord


def record(started: float, duration: float = 0.05) -> RequestRecord:
    return RequestRecord(
        "GET", "/client/v4/accounts/x/pages/projects/docs", {}, 200, started, started + duration
    )


def test_calls_in_window_inclusive():
    records = [record(0.9), record(1.0), record(1.5), record(2.0), record(2.1)]
    assert [item.started for item in status.calls_in_window(records, [1.0, 2.0])] == [1.0, 1.5, 2.0]


def test_route_latency_from_child_timings():
    hit = {"route": "index", "durations_ns": [100_000, 200_000, 300_000], "statuses": [200, 200, 200]}
    miss = {
        "route": "index",
        "durations_ns": [55_000_000, 57_000_000],
        "statuses": [200, 200],
        "window": [10.0, 11.0],
    }
    records = [
        record(10.1, 0.050),
        record(10.1, 0.052),
        record(10.2, 0.051),
        record(10.2, 0.050),
        record(12.0),
    ]
    latency = status._route_latency(hit, miss, records)
    assert latency.route == "index"
    assert latency.hits.p50 == pytest.approx(0.0002)
    assert latency.misses.p50 == pytest.approx(0.056)
    assert latency.upstream_calls_per_miss == 2.0
    assert latency.upstream_call.p50 == pytest.approx(0.0505)
    assert latency.miss_per_call == pytest.approx(0.056 / 0.0505)


def test_route_latency_rejects_error_status():
    hit = {"route": "badge", "durations_ns": [1], "statuses": [500]}
    miss = {"route": "badge", "durations_ns": [1], "statuses": [200], "window": [0.0, 1.0]}
    with pytest.raises(BenchError, match="returned 500"):
        status._route_latency(hit, miss, [record(0.5)])


def test_route_latency_needs_upstream_calls():
    hit = {"route": "badge", "durations_ns": [1], "statuses": [200]}
    miss = {"route": "badge", "durations_ns": [1], "statuses": [200], "window": [0.0, 1.0]}
    with pytest.raises(BenchError, match="no upstream call"):
        status._route_latency(hit, miss, [record(5.0)])


def route(name: str, hit_p99: float, miss_p50: float, call_p50: float = 0.05) -> status.RouteLatency:
    return status.RouteLatency(
        route=name,
        hits=Summary(count=500, p50=hit_p99 / 2, p90=hit_p99, p99=hit_p99, minimum=0.0, maximum=hit_p99),
        misses=Summary(
            count=40, p50=miss_p50, p90=miss_p50, p99=miss_p50, minimum=miss_p50, maximum=miss_p50
        ),
        upstream_calls_per_miss=2.0,
        upstream_call=Summary(
            count=80, p50=call_p50, p90=call_p50, p99=call_p50, minimum=0.0, maximum=call_p50
        ),
    )


def results(routes: tuple[status.RouteLatency, ...], load: LoadResult) -> status.StatusResults:
    return status.StatusResults(
        latency_seconds=0.05, hit_count=500, miss_count=40, routes=routes, load=load, load_threads=4
    )


GOOD_LOAD = LoadResult(duration=5.0, statuses={200: 1000}, errors=0, latencies=(0.001,) * 1000)


def test_rows_pass():
    rows = status.rows(results((route("index", 0.001, 0.056), route("badge", 0.0004, 0.052)), GOOD_LOAD))
    assert [row.verdict for row in rows] == [Verdict.PASS, Verdict.PASS, Verdict.PASS]
    assert rows[0].result == "p99 1.0 ms (index), p50 0.5 ms"
    assert rows[2].result == "200 requests/s; every response 200"


def test_rows_fail_slow_hit_and_serial_miss():
    rows = status.rows(results((route("index", 0.006, 0.11), route("badge", 0.001, 0.05)), GOOD_LOAD))
    assert rows[0].verdict is Verdict.FAIL
    assert rows[1].verdict is Verdict.FAIL
    assert rows[1].result.startswith("at most 2.20 x one call (index")


def test_rows_fail_on_error_responses():
    load = LoadResult(duration=5.0, statuses={200: 90, 500: 10}, errors=2, latencies=(0.001,) * 100)
    row = status.rows(results((route("index", 0.001, 0.05),), load))[2]
    assert row.verdict is Verdict.FAIL
    assert row.result == "20 requests/s; 10 x 500, 2 without a response of 102"


def test_sections_tables():
    sections = status.sections(results((route("index", 0.001, 0.056),), GOOD_LOAD))
    latency_table, load_table = sections[0].tables
    assert latency_table.rows[0] == (
        "index",
        "0.5 ms",
        "1.0 ms",
        "56.0 ms",
        "56.0 ms",
        "2",
        "50.0 ms",
        "1.12 x",
    )
    assert load_table.rows[1] == ("requests per second", "200")
