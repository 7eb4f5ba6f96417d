"""Data the status page reads from Cloudflare: cached per container, fetched concurrently, stale on failure.

Upstream calls per cache miss: the index makes one `get_project` per project in PAGES_PROJECTS. A project
page (HTML or JSON) makes one `get_project` and one `list_deployments_page`, in parallel. A badge makes one
`get_project`. The entries are shared, so a badge after the index costs nothing. A project outside
PAGES_PROJECTS is rejected before any call.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any, Final, Literal, cast

from pages_ops.client import PagesClient
from pages_ops.config import PROJECT_NAME_PATTERN, Settings
from pages_ops.errors import (
    CloudflareError,
    InvalidListOptionsError,
    NotFoundError,
    PagesOpsError,
    RateLimitedError,
    SecretError,
)
from pages_ops.models import DeploymentPage, Project
from pages_ops.status.cache import Cached, UpstreamCache, UpstreamUnavailableError

logger = logging.getLogger(__name__)

# Deployment listings are read 25 at a time, so this allows paging through 25,000 deployments.
MAX_PAGE: Final = 1000
# After a failed fetch, the key is not fetched again for this long (a 429 waits for its Retry-After).
FAILURE_BACKOFF_SECONDS: Final = 10.0
RATE_LIMIT_BACKOFF_SECONDS: Final = 60.0
MAX_BACKOFF_SECONDS: Final = 300.0
# The last good data is shown, marked stale, for at most this long after it was fetched.
MAX_STALE_SECONDS: Final = 86_400.0
# A known page count is trusted for at least this long, so "no such page" needs no call.
PAGE_COUNT_TRUST_SECONDS: Final = 60.0
MAX_FETCH_THREADS: Final = 8

RowState = Literal["ok", "not_found", "unavailable"]


class UnknownProjectError(PagesOpsError):
    """The project is not in PAGES_PROJECTS or does not exist in the account (callers cannot tell which)."""


class PageNotFoundError(PagesOpsError):
    """The requested page of the deployment listing is out of range."""


class InvalidUpstreamDataError(PagesOpsError):
    """Cloudflare answered with an object that cannot be read (for example a project without a name)."""


@dataclass(frozen=True, slots=True)
class ProjectRow:
    """One project of the index. `project` is None unless `state` is `ok`."""

    name: str
    state: RowState
    project: Project | None
    fetched_at: datetime | None
    age: float
    stale: bool
    version: int
    retry_after: float | None = None


@dataclass(frozen=True, slots=True)
class IndexView:
    """Every managed project's live and newest deployment, for the index page."""

    rows: tuple[ProjectRow, ...]

    @property
    def stale(self) -> bool:
        return any(row.stale or row.state == "unavailable" for row in self.rows)

    @property
    def age(self) -> float:
        """Seconds since the oldest row was fetched."""
        return max((row.age for row in self.rows if row.fetched_at is not None), default=0.0)

    @property
    def fetched_at(self) -> datetime | None:
        """When the oldest row was fetched."""
        return min((row.fetched_at for row in self.rows if row.fetched_at is not None), default=None)

    @property
    def versions(self) -> tuple[int, ...]:
        return tuple(row.version for row in self.rows)


@dataclass(frozen=True, slots=True)
class ProjectView:
    """One project with a page of its deployments, for the project page and its JSON."""

    project: Project
    deployments: DeploymentPage
    fetched_at: datetime
    age: float
    stale: bool
    versions: tuple[int, ...]


def is_upstream_failure(error: BaseException) -> bool:
    """Tell whether `error` means "Cloudflare could not be read" rather than a bug in this code."""
    return isinstance(error, CloudflareError | SecretError | InvalidUpstreamDataError)


def failure_backoff(error: BaseException) -> float:
    """Seconds to leave a key alone after `error`: the 429's Retry-After when given, capped."""
    if isinstance(error, RateLimitedError):
        wait = error.retry_after if error.retry_after is not None else RATE_LIMIT_BACKOFF_SECONDS
        return min(MAX_BACKOFF_SECONDS, max(1.0, wait))
    return FAILURE_BACKOFF_SECONDS


class StatusService:
    """Reads projects and deployment pages through per-container caches of `settings.status_cache_seconds`.

    Thread-safe. Independent fetches run on a small thread pool, so a miss costs about the slowest single
    call rather than the sum of all of them (the client's rate limiter must allow a burst for that).
    """

    def __init__(
        self,
        settings: Settings,
        client: PagesClient,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        max_threads: int = MAX_FETCH_THREADS,
    ) -> None:
        self.settings = settings
        self.client = client
        self._clock = clock
        ttl = float(settings.status_cache_seconds)
        self._projects: UpstreamCache[str, Project | None] = UpstreamCache(
            ttl=ttl,
            max_stale=MAX_STALE_SECONDS,
            is_upstream_failure=is_upstream_failure,
            backoff=failure_backoff,
            max_entries=max(16, 2 * len(settings.projects)),
            clock=clock,
            wall_clock=wall_clock,
        )
        self._listings: UpstreamCache[tuple[str, int], DeploymentPage | None] = UpstreamCache(
            ttl=ttl,
            max_stale=MAX_STALE_SECONDS,
            is_upstream_failure=is_upstream_failure,
            backoff=failure_backoff,
            max_entries=256,
            clock=clock,
            wall_clock=wall_clock,
        )
        self._page_counts: dict[str, tuple[int, float]] = {}
        self._lock = threading.Lock()
        self._executor: ThreadPoolExecutor | None = None
        self._max_threads = max(1, max_threads)
        self._upstream_calls = 0

    @property
    def upstream_calls(self) -> int:
        """Number of Cloudflare calls made so far (each logical call, retries not counted)."""
        with self._lock:
            return self._upstream_calls

    def index(self) -> IndexView:
        """Read every managed project's status.

        Raises `UpstreamUnavailableError` only when no row can be shown.
        """
        names = self.settings.projects
        found: dict[str, Cached[Project | None] | UpstreamUnavailableError] = {}
        misses: list[str] = []
        for name in names:
            hit = self._projects.peek(name)
            if hit is None:
                misses.append(name)
            else:
                found[name] = hit
        results = self._gather([partial(self._project_entry, name) for name in misses])
        for name, result in zip(misses, results, strict=True):
            found[name] = cast(Cached[Project | None] | UpstreamUnavailableError, result)

        rows = tuple(_row(name, found[name]) for name in names)
        if rows and all(row.state == "unavailable" for row in rows):
            retry_after = min(row.retry_after or FAILURE_BACKOFF_SECONDS for row in rows)
            raise UpstreamUnavailableError(
                "no managed project could be read from Cloudflare", retry_after=retry_after
            )
        return IndexView(rows=rows)

    def project(self, name: str, page: int = 1) -> ProjectView:
        """Read one project with page `page` of its deployments.

        Raises `UnknownProjectError` (unmanaged or missing), `PageNotFoundError` or
        `UpstreamUnavailableError`.
        """
        self._check_managed(name)
        self._check_page(name, page)
        calls: list[Callable[[], Any]] = []
        project_hit = self._projects.peek(name)
        listing_hit = self._listings.peek((name, page))
        if project_hit is None:
            calls.append(partial(self._project_entry, name))
        if listing_hit is None:
            calls.append(partial(self._listing_entry, name, page))
        results = iter(self._gather(calls))
        project_result = project_hit if project_hit is not None else next(results)
        listing_result = listing_hit if listing_hit is not None else next(results)

        if isinstance(project_result, UpstreamUnavailableError):
            raise project_result
        project_entry = cast(Cached[Project | None], project_result)
        if project_entry.value is None:
            raise UnknownProjectError(f"project {name!r} does not exist in the account")
        if isinstance(listing_result, UpstreamUnavailableError):
            raise listing_result
        listing_entry = cast(Cached[DeploymentPage | None], listing_result)
        if listing_entry.value is None:
            raise PageNotFoundError(f"project {name!r} has no deployment page {page}")

        return ProjectView(
            project=project_entry.value,
            deployments=listing_entry.value,
            fetched_at=min(project_entry.fetched_at, listing_entry.fetched_at),
            age=max(project_entry.age, listing_entry.age),
            stale=project_entry.stale or listing_entry.stale,
            versions=(project_entry.version, listing_entry.version),
        )

    def project_summary(self, name: str) -> Cached[Project]:
        """Read the project with its live and newest deployment only (one call on a miss), for the badge."""
        self._check_managed(name)
        entry = self._project_entry(name)
        if entry.value is None:
            raise UnknownProjectError(f"project {name!r} does not exist in the account")
        return cast(Cached[Project], entry)

    def close(self) -> None:
        """Stop the fetch threads (tests and the local runner; Lambda simply freezes them)."""
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)

    # Fetching

    def _project_entry(self, name: str) -> Cached[Project | None]:
        return self._projects.get(name, partial(self._fetch_project, name))

    def _listing_entry(self, name: str, page: int) -> Cached[DeploymentPage | None]:
        return self._listings.get((name, page), partial(self._fetch_listing, name, page))

    def _fetch_project(self, name: str) -> Project | None:
        self._count_call()
        try:
            return self.client.get_project(name)
        except NotFoundError:
            return None
        except ValueError as exc:
            raise InvalidUpstreamDataError(f"project {name!r} from Cloudflare cannot be read: {exc}") from exc

    def _fetch_listing(self, name: str, page: int) -> DeploymentPage | None:
        self._count_call()
        try:
            listing = self.client.list_deployments_page(name, page=page)
        except NotFoundError:
            return None
        except InvalidListOptionsError:
            # Cloudflare may reject a page past the end with 8000024 instead of returning an empty list.
            if page > 1:
                return None
            raise
        except ValueError as exc:
            raise InvalidUpstreamDataError(
                f"deployments of {name!r} from Cloudflare cannot be read: {exc}"
            ) from exc
        if listing.total_pages is not None:
            with self._lock:
                self._page_counts[name] = (listing.total_pages, self._clock())
        if page > 1 and not listing.deployments:
            return None
        return listing

    def _count_call(self) -> None:
        with self._lock:
            self._upstream_calls += 1

    def _gather(self, calls: Sequence[Callable[[], Any]]) -> list[Any]:
        """Run `calls` concurrently (the first on this thread) and return each result or its
        `UpstreamUnavailableError`, in order. Any other exception propagates."""
        if not calls:
            return []
        futures: list[Future[Any]] = [self._pool().submit(call) for call in calls[1:]]
        results = [_capture(calls[0])]
        results.extend(_capture(future.result) for future in futures)
        return results

    def _pool(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(
                    max_workers=self._max_threads, thread_name_prefix="status-fetch"
                )
            return self._executor

    # Checks made before any call

    def _check_managed(self, name: str) -> None:
        if not PROJECT_NAME_PATTERN.fullmatch(name) or not self.settings.manages(name):
            raise UnknownProjectError(f"project {name!r} is not in PAGES_PROJECTS")

    def _check_page(self, name: str, page: int) -> None:
        if not 1 <= page <= MAX_PAGE:
            raise PageNotFoundError(f"page must be between 1 and {MAX_PAGE}, got {page}")
        with self._lock:
            known = self._page_counts.get(name)
        trust_seconds = max(PAGE_COUNT_TRUST_SECONDS, float(self.settings.status_cache_seconds))
        if known is not None and page > max(1, known[0]) and self._clock() - known[1] < trust_seconds:
            raise PageNotFoundError(f"project {name!r} has {known[0]} pages of deployments, not {page}")


def _capture(call: Callable[[], Any]) -> Any:
    try:
        return call()
    except UpstreamUnavailableError as exc:
        return exc


def _row(name: str, result: Cached[Project | None] | UpstreamUnavailableError) -> ProjectRow:
    if isinstance(result, UpstreamUnavailableError):
        return ProjectRow(
            name=name,
            state="unavailable",
            project=None,
            fetched_at=None,
            age=0.0,
            stale=True,
            version=0,
            retry_after=result.retry_after,
        )
    return ProjectRow(
        name=name,
        state="ok" if result.value is not None else "not_found",
        project=result.value,
        fetched_at=result.fetched_at,
        age=result.age,
        stale=result.stale,
        version=result.version,
    )
