"""A local stand-in for the Cloudflare Pages REST API, for integration tests, the demo and benchmarks.

It serves the routes cf-pages-ops uses under `http://127.0.0.1:<port>/client/v4`, with the response shapes,
error codes, pagination limits, authentication forms and rate limit of the real API, plus fault injection:

    with PagesSandbox(port=0, seed="demo") as sandbox:
        sandbox.base_url              # http://127.0.0.1:<port>/client/v4
        sandbox.store.add_project("docs")
        sandbox.faults.server_error(status=503, count=1)

Where the real behaviour is not documented, the stand-in does the strictest plausible thing and marks the
spot UNVERIFIED in its source.
"""

from sandbox.cloudflare_pages.constants import (
    SANDBOX_ACCOUNT_ID,
    SANDBOX_API_KEY,
    SANDBOX_API_TOKEN,
    SANDBOX_EMAIL,
)
from sandbox.cloudflare_pages.faults import Fault, FaultInjector, FaultKind
from sandbox.cloudflare_pages.ratelimit import RateLimiter
from sandbox.cloudflare_pages.seed import MANAGED_PROJECTS, UNMANAGED_PROJECT, seed_demo
from sandbox.cloudflare_pages.server import PagesSandbox, RequestRecord
from sandbox.cloudflare_pages.store import PagesStore

__all__ = [
    "MANAGED_PROJECTS",
    "SANDBOX_ACCOUNT_ID",
    "SANDBOX_API_KEY",
    "SANDBOX_API_TOKEN",
    "SANDBOX_EMAIL",
    "UNMANAGED_PROJECT",
    "Fault",
    "FaultInjector",
    "FaultKind",
    "PagesSandbox",
    "PagesStore",
    "RateLimiter",
    "RequestRecord",
    "seed_demo",
]
