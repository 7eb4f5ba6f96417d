"""Run the whole product locally: the build trigger, the pruner and the status page, with no accounts.

By default everything runs against local stand-ins on 127.0.0.1: the Cloudflare Pages sandbox with a seeded
data set, moto for Secrets Manager and DynamoDB, and an API Gateway front for the status page. The three
Lambda handlers run in this process, unchanged, exactly as Lambda would call them.

With `--real`, the same runner talks to the real Cloudflare API with credentials from the environment
(moto still replaces AWS). The pruner then runs as a dry run unless `--no-dry-run` is given, and builds
are started only with `--trigger`, so an operator can preview what a deployed stack would do.

    PYTHONPATH=shared:functions:. python -m sandbox.demo --help
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
import uuid
import warnings
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType, ModuleType
from typing import Any, Final, TextIO

from sandbox.apigateway import ApiGatewayFront, FakeLambdaContext
from sandbox.aws import LocalAws
from sandbox.cloudflare_pages import MANAGED_PROJECTS, SANDBOX_ACCOUNT_ID, SANDBOX_API_TOKEN, PagesSandbox

REPO_ROOT: Final = Path(__file__).resolve().parent.parent
EVENTS: Final = REPO_ROOT / "events"
SECRET_NAME: Final = "cf-pages-ops/demo"  # noqa: S105 - the secret's name, not its value
TABLE_NAME: Final = "cf-pages-ops-demo-idempotency"
# The stand-in is local, so the demo lets the client go faster than a deployed stack may: a few thousand
# requests a minute instead of the default 120. Everything else is the deployed configuration.
DEMO_RATE_LIMIT_PER_MINUTE: Final = 6000.0
DEMO_MAX_DELETES_PER_RUN: Final = "150"
DEMO_STATUS_CACHE_SECONDS: Final = "2"
# Each build stage takes this long on the stand-in, so a build moves from queued to deployed in 15 s.
DEMO_STAGE_SECONDS: Final = 3.0
REAL_ENV_HELP: Final = """\
--real reads these environment variables:
  CLOUDFLARE_ACCOUNT_ID   the account id (32 hex characters)
  PAGES_PROJECTS          comma-separated project names to manage
  CLOUDFLARE_API_TOKEN    an API token with Pages Read (and Pages Write with --trigger or --no-dry-run)
  or CLOUDFLARE_EMAIL and CLOUDFLARE_API_KEY, the Global API Key pair
"""

logger = logging.getLogger(__name__)


class StartupError(Exception):
    """The demo cannot start: a busy port or invalid configuration. The message names what to change."""


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="make demo ARGS=...",
        description="Run the build trigger and the pruner once, then serve the status page on 127.0.0.1.",
        epilog=REAL_ENV_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--port",
        type=int,
        default=8080,
        help="port of the status page on 127.0.0.1 (default 8080; 0 picks a free one)",
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="run the pruner as a dry run: report, delete nothing"
    )
    parser.add_argument(
        "--no-dry-run",
        action="store_true",
        help="with --real, let the pruner really delete (without --real, pruning is real by default)",
    )
    parser.add_argument(
        "--real",
        action="store_true",
        help="use the real Cloudflare API with credentials from the environment (see below)",
    )
    parser.add_argument(
        "--trigger", action="store_true", help="with --real, also start a build of each project"
    )
    parser.add_argument(
        "--once", action="store_true", help="run the trigger and the pruner, print the results and exit"
    )
    parser.add_argument("--verbose", action="store_true", help="show the functions' JSON logs (INFO level)")
    args = parser.parse_args(argv)
    if not 0 <= args.port <= 65535:
        parser.error(f"--port must be between 0 and 65535, got {args.port}")
    if args.dry_run and args.no_dry_run:
        parser.error("--dry-run and --no-dry-run contradict each other: give one of them")
    if args.no_dry_run and not args.real:
        parser.error("--no-dry-run only applies with --real; the local demo deletes for real by default")
    if args.trigger and not args.real:
        parser.error("--trigger only applies with --real; the local demo always triggers builds")
    args.environment_dry_run = _environment_dry_run(os.environ, parser)
    if args.no_dry_run and args.environment_dry_run:
        parser.error(
            "DRY_RUN in the environment asks for a dry run, but --no-dry-run asks for deletions: unset "
            "DRY_RUN or leave out --no-dry-run"
        )
    return args


def _environment_dry_run(environ: Mapping[str, str], parser: argparse.ArgumentParser) -> bool:
    """Return DRY_RUN from the environment, read as the deployed pruner reads it (unset means false)."""
    from pages_ops.config import DRY_RUN, parse_boolean  # noqa: PLC0415 - imported on use, like the handlers
    from pages_ops.errors import ConfigError  # noqa: PLC0415

    value = environ.get(DRY_RUN, "")
    if not value.strip():
        return False
    try:
        return parse_boolean(value, variable=DRY_RUN)
    except ConfigError as exc:
        parser.error(str(exc))


class Demo:
    """The running demo: stand-ins, the handlers, and the commands to run them again."""

    def __init__(self, args: argparse.Namespace, out: TextIO) -> None:
        self.args = args
        self.out = out
        self.dry_run = args.dry_run or args.environment_dry_run or (args.real and not args.no_dry_run)
        self._closers: list[Callable[[], None]] = []
        self._handlers: dict[str, ModuleType] = {}
        self._lock = threading.Lock()
        self.front: ApiGatewayFront | None = None
        self.sandbox: Any = None
        self._last_trigger_event: dict[str, Any] | None = None
        # Invocations that raised, so `--once` can exit non-zero.
        self.failures = 0

    # Start and stop

    def start(self) -> None:
        aws = LocalAws().start()
        self._closers.append(aws.stop)
        environment = {**aws.environment(), **self._function_environment()}

        if self.args.real:
            secret = _real_credentials(os.environ)
        else:
            self.sandbox = PagesSandbox(port=0, seed="demo", stage_seconds=DEMO_STAGE_SECONDS).start()
            self._closers.append(self.sandbox.stop)
            environment.update(
                {
                    "CLOUDFLARE_ACCOUNT_ID": SANDBOX_ACCOUNT_ID,
                    "CLOUDFLARE_API_BASE_URL": self.sandbox.base_url,
                    "PAGES_PROJECTS": ",".join(MANAGED_PROJECTS),
                }
            )
            secret = {"api_token": SANDBOX_API_TOKEN}

        aws.put_secret(SECRET_NAME, secret)
        aws.create_idempotency_table(TABLE_NAME)
        os.environ.update(environment)
        self._load_handlers()

    def stop(self) -> None:
        if self.front is not None:
            self.front.stop()
            self.front = None
        while self._closers:
            self._closers.pop()()

    def _function_environment(self) -> dict[str, str]:
        environment = {
            "CLOUDFLARE_SECRET_ID": SECRET_NAME,
            "IDEMPOTENCY_TABLE": TABLE_NAME,
            "DRY_RUN": "true" if self.dry_run else "false",
            "POWERTOOLS_SERVICE_NAME": "cf-pages-ops-demo",
            "POWERTOOLS_METRICS_NAMESPACE": "CfPagesOpsDemo",
            # Metrics would print one EMF document per invocation to stdout; the demo prints results instead.
            "POWERTOOLS_METRICS_DISABLED": "true",
            "POWERTOOLS_LOG_LEVEL": "INFO" if self.args.verbose else "WARNING",
        }
        if not self.args.real:
            environment["MAX_DELETES_PER_RUN"] = DEMO_MAX_DELETES_PER_RUN
            # Shorter than a stage, so the page shows a new build queued, building and deployed.
            environment["STATUS_CACHE_SECONDS"] = DEMO_STATUS_CACHE_SECONDS
        return environment

    def _load_handlers(self) -> None:
        import importlib  # noqa: PLC0415 - the handlers read the environment at import, set just above

        from pages_ops import runtime  # noqa: PLC0415
        from pages_ops.errors import ConfigError  # noqa: PLC0415

        for name in ("trigger_build", "prune_deployments", "status_page"):
            try:
                self._handlers[name] = importlib.import_module(f"{name}.app")
            except ConfigError as exc:
                raise StartupError(f"invalid configuration: {exc}") from exc
        if not self.args.real:
            _speed_up_clients(runtime)

    # Runs

    def run_trigger(self, *, redeliver: bool = False) -> None:
        """Invoke the build trigger for a new tick, or with `redeliver` for the last tick again.

        A redelivery is what EventBridge sends when it delivers an event twice: the same payload.
        """
        if self.args.real and not self.args.trigger:
            self._print("\nBuild trigger: skipped (with --real, builds start only with --trigger)")
            return
        if redeliver:
            if self._last_trigger_event is None:
                self._print("\nNo tick to deliver again yet: run the build trigger with t first")
                return
            event = dict(self._last_trigger_event)
            self._print(f"\nBuild trigger (tick {event['scheduled_time']} delivered again)")
        else:
            event = _scheduler_event("trigger_build/scheduler.json")
            self._last_trigger_event = dict(event)
            self._print(f"\nBuild trigger (tick {event['scheduled_time']})")
        result = self._invoke("trigger_build", event, timeout_seconds=60)
        if result is not None:
            self._print(format_trigger_results(result))

    def run_pruner(self) -> None:
        event = _scheduler_event("prune_deployments/scheduler.json")
        mode = "dry run" if self.dry_run else "deleting"
        self._print(f"\nPruner ({mode})")
        result = self._invoke("prune_deployments", event, timeout_seconds=300)
        if result is not None:
            self._print(format_prune_results(result))

    def serve_status_page(self) -> str:
        handler = self._handlers["status_page"].lambda_handler
        self.front = ApiGatewayFront(handler, port=self.args.port, function_name="cf-pages-ops-status-page")
        try:
            self.front.start()
        except OSError as exc:
            self.front = None
            raise StartupError(
                f"cannot serve the status page on 127.0.0.1:{self.args.port} ({exc.strerror}): "
                "pass another port, or --port 0 for a free one"
            ) from exc
        return self.front.url

    def _invoke(self, name: str, event: Mapping[str, Any], *, timeout_seconds: float) -> Any:
        context = FakeLambdaContext(
            function_name=f"cf-pages-ops-{name.replace('_', '-')}",
            aws_request_id=str(uuid.uuid4()),
            timeout_seconds=timeout_seconds,
        )
        with self._lock:
            try:
                return self._handlers[name].lambda_handler(dict(event), context)
            except Exception as exc:  # noqa: BLE001 - the demo reports a failed run and keeps serving
                self.failures += 1
                self._print(f"  the invocation failed: {type(exc).__name__}: {exc}")
                results = getattr(exc, "results", None)
                if isinstance(results, list):
                    formatter = format_trigger_results if name == "trigger_build" else format_prune_results
                    self._print(formatter({"results": results}))
                return None

    def _print(self, text: str) -> None:
        print(text, file=self.out, flush=True)


def _speed_up_clients(runtime: ModuleType) -> None:
    """Give the handlers clients with the demo's higher request ceiling (the stand-in is local)."""
    from pages_ops.client import PagesClient  # noqa: PLC0415
    from pages_ops.timing import RateLimiter, RetryPolicy  # noqa: PLC0415

    settings = runtime.settings()
    secrets = runtime.secrets()
    limiter = RateLimiter(DEMO_RATE_LIMIT_PER_MINUTE, burst=8)
    clients = {
        retry: PagesClient(
            settings.account_id,
            secrets,
            base_url=settings.api_base_url,
            rate_limiter=limiter,
            retry=RetryPolicy(retry_rate_limited=retry),
        )
        for retry in (True, False)
    }
    runtime.override(clients=clients)


def _real_credentials(environ: Mapping[str, str]) -> dict[str, str]:
    """Build the secret for --real from CLOUDFLARE_API_TOKEN, or CLOUDFLARE_EMAIL and CLOUDFLARE_API_KEY."""
    missing = [name for name in ("CLOUDFLARE_ACCOUNT_ID", "PAGES_PROJECTS") if not environ.get(name)]
    token = environ.get("CLOUDFLARE_API_TOKEN", "").strip()
    email = environ.get("CLOUDFLARE_EMAIL", "").strip()
    key = environ.get("CLOUDFLARE_API_KEY", "").strip()
    if not token and not (email and key):
        missing.append("CLOUDFLARE_API_TOKEN (or CLOUDFLARE_EMAIL and CLOUDFLARE_API_KEY)")
    if missing:
        raise SystemExit("--real needs these environment variables: " + ", ".join(missing))
    return {"api_token": token} if token else {"email": email, "api_key": key}


def _scheduler_event(relative_path: str) -> dict[str, Any]:
    """Load a sample Scheduler event from events/, stamped with the current time as a new tick."""
    event: dict[str, Any] = json.loads((EVENTS / relative_path).read_text(encoding="utf-8"))
    now = datetime.now(UTC).replace(microsecond=0)
    event["scheduled_time"] = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    event["execution_id"] = str(uuid.uuid4())
    return event


def format_trigger_results(result: Mapping[str, Any]) -> str:
    lines = []
    for item in result.get("results", []):
        project = item.get("project")
        if item.get("action") == "triggered":
            target = item.get("url") or item.get("deployment_id") or "a new deployment"
            reason = item.get("reason") or ""
            # A redelivered tick replays the stored result: its build was started by the earlier delivery.
            replayed = "already handled by an earlier delivery" in reason
            started = "build already started" if replayed else "build started"
            lines.append(f"  {project:<16} {started}: {target}" + (f" ({reason})" if reason else ""))
        elif item.get("action") == "skipped":
            lines.append(f"  {project:<16} skipped: {item.get('reason')}")
        else:
            lines.append(f"  {project:<16} failed: {item.get('reason') or item.get('error') or item}")
    return "\n".join(lines) or "  no projects"


def format_prune_results(result: Mapping[str, Any]) -> str:
    lines = []
    for item in result.get("results", []):
        project = item.get("project")
        selected = item.get("selected") or []
        deleted = item.get("deleted") or []
        kept = item.get("kept") or {}
        if item.get("dry_run"):
            head = f"  {project:<16} would delete {len(selected)}"
        else:
            head = f"  {project:<16} deleted {len(deleted)} of {len(selected)} selected"
        stopped = item.get("stopped")
        tail = f", {item.get('remaining', 0)} left for the next run" if item.get("remaining") else ""
        lines.append(head + tail + (f" (stopped: {stopped})" if stopped else ""))
        if kept:
            reasons = ", ".join(f"{reason} {count}" for reason, count in sorted(kept.items()))
            lines.append(f"  {'':<16} kept: {reasons}")
        for failure in item.get("failed") or []:
            code = failure.get("code")
            lines.append(f"  {'':<16} failed {failure.get('id')}: [{code}] {failure.get('message')}")
    return "\n".join(lines) or "  no projects"


def interact(demo: Demo, stdin: TextIO, stop: threading.Event) -> None:
    """Read commands from stdin until EOF, `q`, or a stop signal."""
    demo._print(
        "\nCommands: t = run the build trigger, r = deliver the last tick again, p = run the pruner, "
        "q = quit (Ctrl-C works too)"
    )
    for raw in stdin:
        command = raw.strip().lower()
        if command in ("q", "quit", "exit"):
            break
        if command in ("t", "trigger"):
            demo.run_trigger()
        elif command in ("r", "redeliver"):
            demo.run_trigger(redeliver=True)
        elif command in ("p", "prune"):
            demo.run_pruner()
        elif command:
            demo._print(f"unknown command {command!r}: use t, r, p or q")
        if stop.is_set():
            break
    else:
        # stdin closed (for example under a test or `nohup`): keep serving until a signal arrives.
        stop.wait()


def main(argv: Sequence[str] | None = None, out: TextIO = sys.stdout) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING)
    # moto's web server logs every request it serves at INFO.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    # Powertools warns on every invocation that ended before adding a metric; metrics are off here anyway.
    warnings.filterwarnings("ignore", message="No application metrics to publish")
    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, request_stop)
    demo = Demo(args, out)
    try:
        demo.start()
        # The page's port is taken before anything runs, so a busy port fails before builds start.
        url = None if args.once else demo.serve_status_page()
        if args.real:
            # CLOUDFLARE_API_BASE_URL, when set, replaces Cloudflare's address, as it does when deployed.
            base_url = os.environ.get("CLOUDFLARE_API_BASE_URL", "").strip()
            mode = f"the Cloudflare API at {base_url}" if base_url else "the real Cloudflare API"
        else:
            mode = "the local Cloudflare Pages sandbox"
        demo._print(f"cf-pages-ops demo on {mode}; AWS is moto on 127.0.0.1")
        demo.run_trigger()
        demo.run_pruner()
        if url is None:
            return 1 if demo.failures else 0
        demo._print(f"\nStatus page: {url}")
        demo._print(f"  JSON: {url}api/projects/<name>   badge: {url}projects/<name>/badge.svg")
        interact(demo, sys.stdin, stop)
    except KeyboardInterrupt:
        demo._print("\nStopping")
    except StartupError as exc:
        print(f"make demo: {exc}", file=sys.stderr)
        return 2
    finally:
        demo.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
