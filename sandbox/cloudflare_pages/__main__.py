"""Serve the Cloudflare Pages stand-in on 127.0.0.1 until Ctrl-C or SIGTERM.

    python -m sandbox.cloudflare_pages --port 8787 --seed demo

Prints the base URL and the sandbox's fake credentials, ready to paste into the functions' environment.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType

from sandbox.cloudflare_pages.constants import (
    DEFAULT_RATE_LIMIT,
    DEFAULT_RATE_WINDOW_SECONDS,
    DEFAULT_STAGE_SECONDS,
    SANDBOX_ACCOUNT_ID,
    SANDBOX_API_KEY,
    SANDBOX_API_TOKEN,
    SANDBOX_EMAIL,
)
from sandbox.cloudflare_pages.server import PagesSandbox

logger = logging.getLogger("sandbox.cloudflare_pages")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m sandbox.cloudflare_pages",
        description="Serve a local stand-in for the Cloudflare Pages API on 127.0.0.1.",
    )
    parser.add_argument(
        "--port", type=int, default=8787, help="TCP port, 0 lets the OS choose (default 8787)"
    )
    parser.add_argument(
        "--seed", choices=("demo", "none"), default="demo", help="data set to load (default demo)"
    )
    parser.add_argument(
        "--stage-seconds",
        type=float,
        default=DEFAULT_STAGE_SECONDS,
        help=f"seconds a new build spends in each of its five stages (default {DEFAULT_STAGE_SECONDS})",
    )
    parser.add_argument(
        "--rate-limit",
        type=int,
        default=DEFAULT_RATE_LIMIT,
        help=f"requests allowed per window, 0 for no limit (default {DEFAULT_RATE_LIMIT})",
    )
    parser.add_argument(
        "--rate-window",
        type=float,
        default=DEFAULT_RATE_WINDOW_SECONDS,
        help=f"rate limit window and block time in seconds (default {DEFAULT_RATE_WINDOW_SECONDS:g})",
    )
    parser.add_argument(
        "--latency", type=float, default=0.0, help="seconds added to every response (default 0)"
    )
    parser.add_argument(
        "--no-retry-after", action="store_true", help="leave the Retry-After header out of 429 responses"
    )
    parser.add_argument(
        "--log-level",
        default="WARNING",
        choices=("DEBUG", "INFO", "WARNING", "ERROR"),
        help="log level of the sandbox's own messages (default WARNING)",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    sandbox = PagesSandbox(
        port=args.port,
        seed=None if args.seed == "none" else args.seed,
        rate_limit=args.rate_limit or None,
        rate_window_seconds=args.rate_window,
        stage_seconds=args.stage_seconds,
        retry_after_on_rate_limit=not args.no_retry_after,
    )
    sandbox.faults.global_latency = args.latency
    try:
        sandbox.start()
    except OSError as error:
        print(
            f"error: cannot listen on 127.0.0.1:{args.port} ({error.strerror}); pass --port 0 or a free port",
            file=sys.stderr,
        )
        return 2

    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    print(
        "Cloudflare Pages sandbox running (fake credentials, 127.0.0.1 only). Press Ctrl-C to stop.\n"
        f"CLOUDFLARE_API_BASE_URL={sandbox.base_url}\n"
        f"CLOUDFLARE_ACCOUNT_ID={SANDBOX_ACCOUNT_ID}\n"
        f"API token secret:      {json.dumps({'api_token': SANDBOX_API_TOKEN})}\n"
        f"Global API Key secret: {json.dumps({'email': SANDBOX_EMAIL, 'api_key': SANDBOX_API_KEY})}\n"
        f"Projects: {', '.join(sandbox.store.project_names()) or '(none)'}",
        flush=True,
    )
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        sandbox.stop()
    print("Cloudflare Pages sandbox stopped.", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
