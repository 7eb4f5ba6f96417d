"""Request accounting and summary rows of the pruner benchmarks, on hand-made request logs."""

from __future__ import annotations

from bench import pruning
from bench.report import Verdict
from sandbox.cloudflare_pages import RequestRecord

ACCOUNT = "/client/v4/accounts/0000000000000000000000000000abcd/pages/projects"


def record(
    method: str, path: str, status: int = 200, started: float = 0.0, ended: float = 0.0
) -> RequestRecord:
    return RequestRecord(method, path, {}, status, started, ended)


def test_classify_routes():
    assert pruning.classify(record("GET", f"{ACCOUNT}/docs")) == "project"
    assert pruning.classify(record("GET", f"{ACCOUNT}/docs/deployments")) == "listing"
    assert pruning.classify(record("DELETE", f"{ACCOUNT}/docs/deployments/2f5a9d1c")) == "deletion"
    assert pruning.classify(record("GET", f"{ACCOUNT}/docs/deployments/2f5a9d1c")) == "other"
    assert pruning.classify(record("DELETE", f"{ACCOUNT}/docs")) == "other"
    assert pruning.classify(record("GET", f"{ACCOUNT}")) == "other"


def test_request_counts_of_log():
    log = [
        record("GET", f"{ACCOUNT}/docs"),
        record("GET", f"{ACCOUNT}/docs/deployments"),
        record("GET", f"{ACCOUNT}/docs/deployments"),
        record("DELETE", f"{ACCOUNT}/docs/deployments/a1b2c3d4"),
        record("DELETE", f"{ACCOUNT}/docs/deployments/a1b2c3d5", status=429),
        record("POST", f"{ACCOUNT}/docs/deployments"),
    ]
    counts = pruning.RequestCounts.of(log)
    assert counts == pruning.RequestCounts(
        project_reads=1, listing_pages=2, deletions=2, other=1, rate_limited=1
    )
    assert counts.total == 6


def test_minimum_requests():
    # 3,003 deployments are 121 pages of 25.
    assert pruning.minimum_requests(3003, 3000) == 1 + 121 + 3000
    assert pruning.minimum_requests(25, 0) == 2
    assert pruning.minimum_requests(26, 1) == 4
    # An empty project still costs one listing request.
    assert pruning.minimum_requests(0, 0) == 2


def test_deletion_rate_spans_first_start_to_last_end():
    log = [
        record("GET", f"{ACCOUNT}/docs/deployments", started=0.0, ended=1.0),
        record("DELETE", f"{ACCOUNT}/docs/deployments/a1b2c3d4", started=2.0, ended=2.1),
        record("DELETE", f"{ACCOUNT}/docs/deployments/a1b2c3d5", started=2.5, ended=2.6),
        record("DELETE", f"{ACCOUNT}/docs/deployments/a1b2c3d6", status=404, started=3.0, ended=4.0),
    ]
    assert pruning.deletion_rate(log) == (2, 2.0)


def test_deletion_rate_without_deletions():
    assert pruning.deletion_rate([record("GET", f"{ACCOUNT}/docs")]) == (0, 0.0)


def counts(deletions: int, rate_limited: int = 0, extra: int = 0) -> pruning.RequestCounts:
    return pruning.RequestCounts(
        project_reads=1, listing_pages=121, deletions=deletions, other=extra, rate_limited=rate_limited
    )


def throughput(per_second: float, requests: pruning.RequestCounts) -> pruning.Throughput:
    return pruning.Throughput(
        ceiling_per_minute=1200.0,
        latency_seconds=0.05,
        window_seconds=30.0,
        listed=3003,
        deleted=3000,
        deletion_seconds=3000 / per_second,
        run_seconds=160.0,
        requests=requests,
    )


def convergence(durations: list[float], last_remaining: int = 0) -> pruning.Convergence:
    runs = tuple(
        pruning.ConvergenceRun(
            duration=duration,
            deleted=300,
            remaining=last_remaining if index == len(durations) - 1 else 300,
            stopped=None,
            requests=counts(300),
        )
        for index, duration in enumerate(durations)
    )
    return pruning.Convergence(
        scale=10.0,
        ceiling_per_minute=1200.0,
        deletable=3000,
        budget_seconds=30.0,
        latency_seconds=0.005,
        runs=runs,
    )


def test_rows_pass():
    rows = pruning.rows(throughput(19.9, counts(3000)), convergence([21.0, 20.0]))
    assert [row.verdict for row in rows] == [Verdict.PASS, Verdict.PASS, Verdict.PASS]
    assert rows[1].result == "3,122 (minimum 3,122)"
    assert rows[2].result == "2 runs; slowest 21.0 s of 30 s"


def test_rows_fail_slow_or_rate_limited_throughput():
    slow = pruning.rows(throughput(17.9, counts(3000)), convergence([21.0]))[0]
    assert slow.verdict is Verdict.FAIL
    limited = pruning.rows(throughput(20.0, counts(3000, rate_limited=1)), convergence([21.0]))[0]
    assert limited.verdict is Verdict.FAIL


def test_rows_fail_extra_request():
    row = pruning.rows(throughput(20.0, counts(3000, extra=1)), convergence([21.0]))[1]
    assert row.verdict is Verdict.FAIL
    assert row.result == "3,123 (minimum 3,122)"


def test_rows_fail_run_over_budget_or_not_converged():
    over = pruning.rows(throughput(20.0, counts(3000)), convergence([21.0, 30.5]))[2]
    assert over.verdict is Verdict.FAIL
    stuck = pruning.rows(throughput(20.0, counts(3000)), convergence([21.0], last_remaining=5))[2]
    assert stuck.verdict is Verdict.FAIL
    assert "did not converge" in stuck.result


def test_sections_tables():
    sections = pruning.sections(throughput(20.0, counts(3000)), convergence([21.0, 15.0]))
    assert [section.title for section in sections] == [
        "Pruning throughput and requests",
        "Pruning convergence",
    ]
    convergence_rows = sections[1].tables[0].rows
    assert convergence_rows[0][:4] == ("1", "21.0 s", "70 %", "3.5 min")
    assert len(convergence_rows) == 2
