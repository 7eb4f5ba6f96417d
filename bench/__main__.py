"""Run the benchmarks and write docs/benchmarks.md: `python -m bench --help` (or `make bench`)."""

from __future__ import annotations

import argparse
import logging
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

from bench import coldstart, packages, pruning, status
from bench.containers import REPO_ROOT, BenchError, build_source_only, built_layout
from bench.machine import Machine, describe
from bench.report import Page, Row, Section, Verdict, render_page
from bench.stand_ins import LocalAccount

logger = logging.getLogger("bench")

DEFAULT_RUNTIME_PYTHON: Final = REPO_ROOT / ".venv-bench313" / "bin" / "python"
DEFAULT_OUTPUT: Final = REPO_ROOT / "docs" / "benchmarks.md"
MEASURES: Final = ("size", "coldstart", "status", "pruning")
MAX_CHANGED_PATHS_SHOWN: Final = 5


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description=(
            "Measure cold start, memory, pruning throughput and requests, status page latency and package "
            "size against local stand-ins, and write the results as Markdown. Run `make build` first."
        ),
    )
    parser.add_argument(
        "--runtime-python",
        default=str(DEFAULT_RUNTIME_PYTHON),
        help="python3.13 with boto3, used in place of the Lambda runtime (default: %(default)s)",
    )
    parser.add_argument("--output", default=str(DEFAULT_OUTPUT), help="page to write (default: %(default)s)")
    parser.add_argument(
        "--rounds",
        type=int,
        default=15,
        help="cold-start rounds, each running every variant once (default: 15)",
    )
    parser.add_argument(
        "--backlog",
        type=int,
        default=3000,
        help="deletable deployments for the pruner measures (default: 3000)",
    )
    parser.add_argument(
        "--ceiling",
        type=float,
        default=1200.0,
        help="client rate ceiling of the throughput run, requests a minute (default: 1200)",
    )
    parser.add_argument(
        "--scale", type=float, default=10.0, help="time scale of the convergence run (default: 10)"
    )
    parser.add_argument(
        "--only",
        default=",".join(MEASURES),
        help=f"comma-separated measures to run, of {', '.join(MEASURES)} (default: all)",
    )
    args = parser.parse_args(argv)
    selected = [item.strip() for item in args.only.split(",") if item.strip()]
    unknown = sorted(set(selected) - set(MEASURES))
    if unknown or not selected:
        parser.error(f"--only takes {', '.join(MEASURES)}, got {args.only!r}")
    args.only = tuple(measure for measure in MEASURES if measure in selected)
    # Absolute, because the stand-in processes start in other directories. Symbolic links stay as they are:
    # a virtual environment's interpreter finds its site-packages through the path it was started with.
    args.runtime_python = os.path.abspath(args.runtime_python)
    if args.rounds < 1 or args.backlog < 1 or args.ceiling <= 0 or args.scale <= 0:
        parser.error("--rounds, --backlog, --ceiling and --scale must be positive")
    return args


def check_runtime_python(interpreter: str) -> None:
    """Raise BenchError unless `interpreter` is a CPython 3.13 that can import boto3."""
    code = "import sys, boto3; sys.exit(sys.version_info[:2] != (3, 13))"
    try:
        subprocess.run([interpreter, "-I", "-c", code], check=True, capture_output=True, timeout=60)  # noqa: S603
    except (OSError, subprocess.SubprocessError) as exc:
        raise BenchError(
            f"{interpreter} is not a python3.13 with boto3 ({type(exc).__name__}): run `make bench`, which "
            "creates .venv-bench313 from bench/requirements-runtime313.txt, or pass --runtime-python"
        ) from exc


def git_revision() -> str:
    """Return the checked-out commit, naming the files with uncommitted changes ("unknown" outside git)."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],  # noqa: S607 - git from PATH, read-only command
            cwd=REPO_ROOT,
            check=True,
            capture_output=True,
            text=True,
            timeout=30,
        ).stdout.strip()
        changes = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],  # noqa: S607
            cwd=REPO_ROOT,
            check=True,
            capture_output=True,
            text=True,
            timeout=30,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    # Porcelain lines are two status letters (the first may be a space), a space and the path.
    paths = sorted(line[3:] for line in changes.splitlines() if line.strip())
    if not paths:
        return commit
    listed = ", ".join(paths[:MAX_CHANGED_PATHS_SHOWN])
    more = f" and {len(paths) - MAX_CHANGED_PATHS_SHOWN} more" if len(paths) > MAX_CHANGED_PATHS_SHOWN else ""
    return f"{commit} with uncommitted changes to {listed}{more}"


def command_line(argv: Sequence[str]) -> str:
    own = " ".join(["python -m bench", *argv])
    return f"make bench ({own})" if "MAKELEVEL" in os.environ else own


def preamble(machine: Machine, argv: Sequence[str], started: datetime, elapsed: float) -> tuple[str, ...]:
    machine_lines = "\n".join(f"- {line}" for line in machine.lines())
    return (
        "Generated by the benchmark itself; do not edit by hand. Run `make bench` to measure again "
        "(it runs `make build` first).",
        f"- command: `{command_line(argv)}`\n"
        f"- date: {started:%Y-%m-%d %H:%M} UTC, {elapsed / 60:.1f} minutes\n"
        f"- code: commit {git_revision()}\n{machine_lines}",
        "Every figure on this page comes from one run on this machine, and every ratio divides two figures "
        "of that run. Other processes on a shared machine add noise, so compare ratios, not absolute times, "
        "across machines. Nothing leaves 127.0.0.1: Cloudflare is the local stand-in "
        "(sandbox.cloudflare_pages) and AWS is moto.",
    )


def run(args: argparse.Namespace, argv: Sequence[str]) -> tuple[Page, int]:
    started_at = datetime.now(UTC)
    started = time.monotonic()
    check_runtime_python(args.runtime_python)
    machine = describe(args.runtime_python)
    built = built_layout()
    rows: list[Row] = []
    sections: list[Section] = []

    if "size" in args.only:
        logger.info("measuring package sizes")
        sizes = packages.measure_all(built)
        rows += packages.rows(sizes)
        sections += packages.sections(sizes)

    account = LocalAccount().start()
    try:
        with tempfile.TemporaryDirectory(prefix="cf-pages-ops-bench-") as scratch_name:
            scratch = Path(scratch_name)
            if "coldstart" in args.only:
                logger.info("building the source-only copy of the layer and functions")
                source_only = build_source_only(args.runtime_python, built, scratch / "source-only")
                runner = coldstart.Runner(args.runtime_python, account, scratch)
                cold = coldstart.measure(runner, [built, source_only], args.rounds)
                rows += coldstart.rows(cold, built)
                sections += coldstart.sections(cold)
            if "status" in args.only:
                logger.info("measuring the status page")
                status_results = status.measure(
                    args.runtime_python,
                    built,
                    account,
                    scratch,
                    latency_seconds=0.05,
                    hits=500,
                    misses=40,
                    load_seconds=5.0,
                    load_threads=4,
                )
                rows += status.rows(status_results)
                sections += status.sections(status_results)
    finally:
        account.stop()

    if "pruning" in args.only:
        logger.info("measuring pruning throughput: %d deletions at %g a minute", args.backlog, args.ceiling)
        throughput = pruning.measure_throughput(
            args.backlog, ceiling_per_minute=args.ceiling, latency_seconds=0.05
        )
        logger.info("measuring pruning convergence with time scaled by 1/%g", args.scale)
        convergence = pruning.measure_convergence(
            args.backlog, scale=args.scale, latency_seconds=0.05 / args.scale
        )
        rows += pruning.rows(throughput, convergence)
        sections += pruning.sections(throughput, convergence)

    elapsed = time.monotonic() - started
    page = Page(
        title="Benchmarks",
        preamble=preamble(machine, argv, started_at, elapsed),
        rows=tuple(rows),
        sections=tuple(sections),
    )
    failed = sum(1 for row in rows if row.verdict is Verdict.FAIL)
    return page, failed


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(arguments)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s: %(message)s", datefmt="%H:%M:%S")
    logger.setLevel(logging.INFO)
    # moto's web server logs every request it serves at INFO.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    try:
        page, failed = run(args, arguments)
    except BenchError as exc:
        logger.error("benchmark failed: %s", exc)  # noqa: TRY400 - the message is the whole story
        return 1
    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(render_page(page), encoding="utf-8")
    logger.info("wrote %s: %d of %d targets missed", output, failed, len(page.rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
