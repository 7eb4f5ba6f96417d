"""Pruner benchmarks: deletion throughput against the client's rate ceiling, requests per run, convergence.

The real pruner (`pages_ops.pruner.prune` with a `PagesClient`) runs in this process against a stand-in
that adds latency to every request and enforces a rate limit of its own. Request counts and 429 responses
come from the stand-in's request log, so they are what the API saw, not what the client believes it sent.

Cloudflare allows 1,200 requests per 5 minutes (240 a minute), twice the client's default ceiling of 120 a
minute. The stand-in keeps that proportion when the ceiling is raised to keep the runs short: it allows
1,200 requests per 300 s x 120 / ceiling, twice the client's ceiling, so a client that keeps its ceiling
never sees a 429, and one that sends much faster does within the run.
"""

from __future__ import annotations

import logging
import math
import re
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

from bench.containers import BenchError
from bench.report import Row, Section, Table, Verdict, milliseconds
from bench.stand_ins import BACKLOG_KEPT, BACKLOG_PROJECT, SECRET_NAME, seed_backlog
from pages_ops.client import MAX_PER_PAGE, PagesClient
from pages_ops.config import (
    DEFAULT_MAX_DELETES_PER_RUN,
    DEFAULT_PRUNE_CONCURRENCY,
    DEFAULT_RATE_LIMIT_PER_MINUTE,
    Settings,
)
from pages_ops.credentials import Credentials, StaticCredentials
from pages_ops.errors import RunFailedError
from pages_ops.pruner import ProjectResult, prune
from pages_ops.timing import RateLimiter, RetryPolicy
from sandbox.apigateway import FakeLambdaContext
from sandbox.cloudflare_pages import SANDBOX_ACCOUNT_ID, SANDBOX_API_TOKEN, PagesSandbox, RequestRecord
from sandbox.cloudflare_pages.constants import DEFAULT_RATE_LIMIT, DEFAULT_RATE_WINDOW_SECONDS

logger = logging.getLogger(__name__)

# Deployed defaults (template.yaml and pages_ops.config): the pruner's Lambda timeout.
LAMBDA_TIMEOUT_SECONDS: Final = 300.0
MIN_THROUGHPUT_SHARE: Final = 0.9
MAX_CONVERGENCE_RUNS: Final = 40
_PROJECT_PATH: Final = re.compile(r"^/client/v4/accounts/[^/]+/pages/projects/[^/]+$")
_LISTING_PATH: Final = re.compile(r"^/client/v4/accounts/[^/]+/pages/projects/[^/]+/deployments$")
_DEPLOYMENT_PATH: Final = re.compile(r"^/client/v4/accounts/[^/]+/pages/projects/[^/]+/deployments/[^/]+$")


@dataclass(frozen=True, slots=True)
class RequestCounts:
    """The stand-in's log of one run, by kind of request."""

    project_reads: int
    listing_pages: int
    deletions: int
    other: int
    rate_limited: int

    @property
    def total(self) -> int:
        return self.project_reads + self.listing_pages + self.deletions + self.other

    @classmethod
    def of(cls, records: Sequence[RequestRecord]) -> RequestCounts:
        kinds = Counter(classify(record) for record in records)
        return cls(
            project_reads=kinds["project"],
            listing_pages=kinds["listing"],
            deletions=kinds["deletion"],
            other=kinds["other"],
            rate_limited=sum(1 for record in records if record.status == 429),
        )


def classify(record: RequestRecord) -> str:
    """Name a logged request: project, listing, deletion or other."""
    if record.method == "GET" and _PROJECT_PATH.match(record.path):
        return "project"
    if record.method == "GET" and _LISTING_PATH.match(record.path):
        return "listing"
    if record.method == "DELETE" and _DEPLOYMENT_PATH.match(record.path):
        return "deletion"
    return "other"


def minimum_requests(listed: int, deleted: int) -> int:
    """Requests a run cannot do without: the project, every listing page of `listed` deployments, and one
    DELETE per deletion."""
    return 1 + max(1, math.ceil(listed / MAX_PER_PAGE)) + deleted


def deletion_rate(records: Sequence[RequestRecord]) -> tuple[int, float]:
    """Successful deletions and the seconds from the first DELETE's start to the last one's end."""
    deletes = [record for record in records if classify(record) == "deletion"]
    if not deletes:
        return 0, 0.0
    succeeded = sum(1 for record in deletes if record.status == 200)
    span = max(record.ended for record in deletes) - min(record.started for record in deletes)
    return succeeded, span


@dataclass(frozen=True, slots=True)
class Backlog:
    """A stand-in with a backlog project, and the window of its rate limit."""

    sandbox: PagesSandbox
    listed: int
    deletable: int
    window_seconds: float


def start_backlog(deletable: int, *, ceiling_per_minute: float, latency_seconds: float) -> Backlog:
    """Start a stand-in with BACKLOG_PROJECT and a rate limit scaled to the client's ceiling (see above)."""
    window = DEFAULT_RATE_WINDOW_SECONDS * DEFAULT_RATE_LIMIT_PER_MINUTE / ceiling_per_minute
    sandbox = PagesSandbox(
        port=0, seed=None, rate_limit=DEFAULT_RATE_LIMIT, rate_window_seconds=window, stage_seconds=0.0
    )
    listed = seed_backlog(sandbox.store, datetime.now(UTC), deletable)
    sandbox.faults.global_latency = latency_seconds
    sandbox.start()
    return Backlog(sandbox=sandbox, listed=listed, deletable=deletable, window_seconds=window)


def backlog_settings(base_url: str, max_deletes: int) -> Settings:
    return Settings(
        account_id=SANDBOX_ACCOUNT_ID,
        secret_id=SECRET_NAME,
        projects=(BACKLOG_PROJECT,),
        api_base_url=base_url,
        max_deletes_per_run=max_deletes,
    )


def backlog_client(base_url: str, ceiling_per_minute: float) -> PagesClient:
    """A client like the pruner's (`retry_rate_limited=False`, one request at a time) at this ceiling."""
    return PagesClient(
        SANDBOX_ACCOUNT_ID,
        StaticCredentials(Credentials(api_token=SANDBOX_API_TOKEN)),
        base_url=base_url,
        rate_limiter=RateLimiter(ceiling_per_minute),
        retry=RetryPolicy(retry_rate_limited=False),
    )


def run_pruner(
    settings: Settings, client: PagesClient, timeout_seconds: float
) -> tuple[ProjectResult, float]:
    """One invocation of the pruner with a Lambda context of `timeout_seconds`; its result and duration."""
    context = FakeLambdaContext(
        function_name="cf-pages-ops-prune-deployments",
        aws_request_id="bench",
        timeout_seconds=timeout_seconds,
    )
    started = time.monotonic()
    try:
        run = prune({}, context, settings=settings, client=client)
    except RunFailedError as exc:
        raise BenchError(f"the pruner run failed: {exc}") from exc
    return run.results[0], time.monotonic() - started


@dataclass(frozen=True, slots=True)
class Throughput:
    ceiling_per_minute: float
    latency_seconds: float
    window_seconds: float
    listed: int
    deleted: int
    deletion_seconds: float
    run_seconds: float
    requests: RequestCounts

    @property
    def per_second(self) -> float:
        return self.deleted / self.deletion_seconds if self.deletion_seconds > 0 else 0.0

    @property
    def ceiling_per_second(self) -> float:
        return self.ceiling_per_minute / 60.0

    @property
    def minimum(self) -> int:
        return minimum_requests(self.listed, self.deleted)


def measure_throughput(deletable: int, *, ceiling_per_minute: float, latency_seconds: float) -> Throughput:
    """Prune a whole backlog in one run (no cap, no time limit in reach) and time the deletion phase."""
    backlog = start_backlog(deletable, ceiling_per_minute=ceiling_per_minute, latency_seconds=latency_seconds)
    try:
        settings = backlog_settings(backlog.sandbox.base_url, max_deletes=deletable + BACKLOG_KEPT)
        client = backlog_client(backlog.sandbox.base_url, ceiling_per_minute)
        # Lambda's longest timeout, 15 minutes: far longer than the run, so only the rate ceiling limits it.
        result, run_seconds = run_pruner(settings, client, timeout_seconds=900.0)
        records = backlog.sandbox.request_log
    finally:
        backlog.sandbox.stop()
    if len(result.deleted) != deletable or result.remaining or result.stopped is not None:
        raise BenchError(
            f"the throughput run deleted {len(result.deleted)} of {deletable} deployments "
            f"(remaining {result.remaining}, stopped: {result.stopped}); "
            "the backlog data set is not what the benchmark expects"
        )
    deleted, span = deletion_rate(records)
    return Throughput(
        ceiling_per_minute=ceiling_per_minute,
        latency_seconds=latency_seconds,
        window_seconds=backlog.window_seconds,
        listed=backlog.listed,
        deleted=deleted,
        deletion_seconds=span,
        run_seconds=run_seconds,
        requests=RequestCounts.of(records),
    )


@dataclass(frozen=True, slots=True)
class ConvergenceRun:
    duration: float
    deleted: int
    remaining: int
    stopped: str | None
    requests: RequestCounts


@dataclass(frozen=True, slots=True)
class Convergence:
    scale: float
    ceiling_per_minute: float
    deletable: int
    budget_seconds: float
    latency_seconds: float
    runs: tuple[ConvergenceRun, ...]

    @property
    def converged(self) -> bool:
        return bool(self.runs) and self.runs[-1].remaining == 0

    @property
    def within_budget(self) -> bool:
        return all(run.duration <= self.budget_seconds for run in self.runs)


def measure_convergence(
    deletable: int,
    *,
    scale: float,
    latency_seconds: float,
    progress: Callable[[str], None] = logger.info,
) -> Convergence:
    """Run the pruner with the deployed limits, time scaled by `scale`, until the backlog is gone.

    The ceiling is 120 x scale requests a minute, the Lambda timeout 300 s / scale and the added latency
    `latency_seconds` (already scaled by the caller). MAX_DELETES_PER_RUN keeps its default of 300: it is a
    count, not a time.
    """
    ceiling = DEFAULT_RATE_LIMIT_PER_MINUTE * scale
    budget = LAMBDA_TIMEOUT_SECONDS / scale
    backlog = start_backlog(deletable, ceiling_per_minute=ceiling, latency_seconds=latency_seconds)
    runs: list[ConvergenceRun] = []
    try:
        settings = backlog_settings(backlog.sandbox.base_url, max_deletes=DEFAULT_MAX_DELETES_PER_RUN)
        client = backlog_client(backlog.sandbox.base_url, ceiling)
        while len(runs) < MAX_CONVERGENCE_RUNS:
            backlog.sandbox.reset_request_log()
            result, duration = run_pruner(settings, client, timeout_seconds=budget)
            run = ConvergenceRun(
                duration=duration,
                deleted=len(result.deleted),
                remaining=result.remaining,
                stopped=None if result.stopped is None else result.stopped.value,
                requests=RequestCounts.of(backlog.sandbox.request_log),
            )
            runs.append(run)
            progress(
                f"convergence: run {len(runs)} deleted {run.deleted} in {run.duration:.1f}s, "
                f"{run.remaining} remaining"
            )
            if run.remaining == 0 or run.deleted == 0:
                break
    finally:
        backlog.sandbox.stop()
    return Convergence(
        scale=scale,
        ceiling_per_minute=ceiling,
        deletable=deletable,
        budget_seconds=budget,
        latency_seconds=latency_seconds,
        runs=tuple(runs),
    )


def rows(throughput: Throughput, convergence: Convergence) -> list[Row]:
    share = throughput.per_second / throughput.ceiling_per_second
    requests = throughput.requests
    slowest = max((run.duration for run in convergence.runs), default=0.0)
    converged = "" if convergence.converged else " (did not converge)"
    return [
        Row(
            measure="pruning throughput",
            how=(
                f"{throughput.deleted:,} deletable deployments, "
                f"{milliseconds(throughput.latency_seconds)} added per request, client ceiling "
                f"{throughput.ceiling_per_minute:,.0f}/min; deletions per second over the deletion phase, "
                "429s from the stand-in's log"
            ),
            result=(
                f"{throughput.per_second:.2f}/s = {share:.3f} x ceiling "
                f"({throughput.ceiling_per_second:.2f}/s); {requests.rate_limited} x 429"
            ),
            target=f">= {MIN_THROUGHPUT_SHARE} x ceiling, no 429",
            verdict=Verdict.of(share >= MIN_THROUGHPUT_SHARE and requests.rate_limited == 0),
        ),
        Row(
            measure="pruning requests",
            how="requests of that run in the stand-in's log vs project + listing pages + deletions",
            result=f"{requests.total:,} (minimum {throughput.minimum:,})",
            target="exactly the minimum",
            verdict=Verdict.of(requests.total == throughput.minimum),
        ),
        Row(
            measure="pruning convergence",
            how=(
                f"{convergence.deletable:,}-deployment backlog, deployed limits with time scaled by "
                f"1/{convergence.scale:g}: {DEFAULT_MAX_DELETES_PER_RUN} deletions per run, "
                f"{convergence.ceiling_per_minute:,.0f}/min, {convergence.budget_seconds:g} s timeout"
            ),
            result=(
                f"{len(convergence.runs)} runs{converged}; slowest {slowest:.1f} s "
                f"of {convergence.budget_seconds:g} s"
            ),
            target="reported; every run inside its budget",
            verdict=Verdict.of(convergence.within_budget and convergence.converged),
        ),
    ]


def sections(throughput: Throughput, convergence: Convergence) -> list[Section]:
    return [_throughput_section(throughput), _convergence_section(convergence)]


def _throughput_section(throughput: Throughput) -> Section:
    requests = throughput.requests
    table = Table(
        headers=("figure", "value"),
        rows=(
            ("deployments listed", f"{throughput.listed:,}"),
            ("deleted", f"{throughput.deleted:,}"),
            ("deletion phase", f"{throughput.deletion_seconds:.1f} s"),
            ("whole run", f"{throughput.run_seconds:.1f} s"),
            (
                "deletions per second",
                f"{throughput.per_second:.2f} (ceiling {throughput.ceiling_per_second:.2f})",
            ),
            ("project reads", str(requests.project_reads)),
            ("listing pages", f"{requests.listing_pages} ({MAX_PER_PAGE} deployments a page)"),
            ("DELETE requests", f"{requests.deletions:,}"),
            ("other requests", str(requests.other)),
            ("429 responses", str(requests.rate_limited)),
        ),
    )
    text = " ".join(
        (
            f"One pruner run (pages_ops.pruner.prune, {DEFAULT_PRUNE_CONCURRENCY} deletion threads) over a",
            f"project with {throughput.listed:,} successful production deployments 8 to 400 days old, of",
            f"which the newest {BACKLOG_KEPT} are kept and the rest selected. The stand-in adds",
            f"{milliseconds(throughput.latency_seconds)} to every request. The client's ceiling is",
            f"{throughput.ceiling_per_minute:,.0f} requests a minute (deployed: at most 240), and the",
            f"stand-in allows {DEFAULT_RATE_LIMIT:,} requests per {throughput.window_seconds:g} s, twice the",
            "ceiling, as Cloudflare allows twice the default ceiling. The deletion phase runs from the first",
            "DELETE's arrival to the last one's response.",
        )
    )
    return Section(title="Pruning throughput and requests", paragraphs=(text,), tables=(table,))


def _convergence_section(convergence: Convergence) -> Section:
    table = Table(
        headers=(
            "run",
            "duration",
            "of budget",
            "real time (x scale)",
            "deleted",
            "remaining",
            "stopped",
            "listing pages",
            "429s",
        ),
        rows=tuple(
            (
                str(index),
                f"{run.duration:.1f} s",
                f"{100 * run.duration / convergence.budget_seconds:.0f} %",
                f"{run.duration * convergence.scale / 60:.1f} min",
                str(run.deleted),
                str(run.remaining),
                run.stopped or "-",
                str(run.requests.listing_pages),
                str(run.requests.rate_limited),
            )
            for index, run in enumerate(convergence.runs, start=1)
        ),
    )
    text = " ".join(
        (
            f"The same backlog under the deployed limits, with time scaled by 1/{convergence.scale:g}:",
            f"a ceiling of {convergence.ceiling_per_minute:,.0f} requests a minute instead of",
            f"{DEFAULT_RATE_LIMIT_PER_MINUTE:g}, a {convergence.budget_seconds:g} s Lambda timeout",
            f"instead of {LAMBDA_TIMEOUT_SECONDS:g} s, {milliseconds(convergence.latency_seconds)} added",
            "latency instead",
            f"of {milliseconds(convergence.latency_seconds * convergence.scale)}, and the stand-in's window",
            f"scaled the same way. MAX_DELETES_PER_RUN stays {DEFAULT_MAX_DELETES_PER_RUN}: it is a count.",
            "The code's fixed reserves (2 s before the deadline, 3 s for the end of the run) are not scaled,",
            "which makes the scaled budget stricter than the real one. Runs follow each other without a",
            "pause; deployed, they run on the pruner's schedule (hourly by default).",
        )
    )
    return Section(title="Pruning convergence", paragraphs=(text,), tables=(table,))
