"""`make demo` end to end: start it, trigger, prune, fetch every status route over HTTP, stop it."""

from __future__ import annotations

import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import pytest
import requests

from sandbox import demo
from tests.conftest import REPO_ROOT

STARTUP_SECONDS = 120
STATUS_LINE = re.compile(r"^Status page: (http://127\.0\.0\.1:\d+/)$")


@dataclass
class DemoProcess:
    """The demo in a child process, with its output read line by line on a thread."""

    process: subprocess.Popen[str]
    lines: queue.Queue[str] = field(default_factory=queue.Queue)
    output: list[str] = field(default_factory=list)

    def read_until(self, pattern: str, timeout: float) -> re.Match[str]:
        expected = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.2)
            except queue.Empty:
                if self.process.poll() is not None:
                    break
                continue
            self.output.append(line)
            match = expected.search(line)
            if match:
                return match
        output = "\n".join(self.output)
        raise AssertionError(f"demo printed no line matching {pattern!r} in {timeout}s; output:\n{output}")

    def send(self, command: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()


@pytest.fixture
def running_demo() -> Iterator[DemoProcess]:
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join(["shared", "functions", "."])}
    # The demo sets its own AWS endpoint and credentials; nothing from the test process may leak in.
    environment.pop("AWS_ENDPOINT_URL", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "sandbox.demo", "--port", "0"],
        cwd=REPO_ROOT,
        env=environment,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        bufsize=1,
    )
    running = DemoProcess(process)

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            running.lines.put(line.rstrip("\n"))

    threading.Thread(target=pump, daemon=True).start()
    try:
        yield running
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)


def test_demo_runs_end_to_end(running_demo: DemoProcess) -> None:
    running_demo.read_until(r"^Build trigger \(tick ", STARTUP_SECONDS)
    running_demo.read_until(r"^  docs +build started: https://", 30)
    running_demo.read_until(r"^  shop +skipped: Direct Upload project", 30)
    running_demo.read_until(r"^Pruner \(deleting\)", 30)
    running_demo.read_until(r"^  marketing-site +deleted \d+ of \d+ selected", 120)
    url = running_demo.read_until(STATUS_LINE.pattern, 60).group(1)

    index = requests.get(url, timeout=10)
    assert index.status_code == 200
    assert index.headers["Content-Type"] == "text/html; charset=utf-8"
    assert "marketing-site" in index.text
    project = requests.get(f"{url}projects/docs", timeout=10)
    assert project.status_code == 200
    assert "Live production" in project.text
    document = requests.get(f"{url}api/projects/docs", timeout=10)
    assert document.status_code == 200
    assert document.json()["project"]["name"] == "docs"
    badge = requests.get(f"{url}projects/docs/badge.svg", timeout=10)
    assert badge.status_code == 200
    assert badge.headers["Content-Type"].startswith("image/svg+xml")
    unmanaged = requests.get(f"{url}projects/internal-tools", timeout=10)
    assert unmanaged.status_code == 404

    running_demo.send("t")
    tick = running_demo.read_until(r"^Build trigger \(tick (\S+)\)$", 60).group(1)
    running_demo.read_until(r"^  docs +(build started|skipped)", 60)
    running_demo.send("r")
    running_demo.read_until(rf"^Build trigger \(tick {re.escape(tick)} delivered again\)$", 60)
    running_demo.read_until(
        rf"^  docs +(build already started|skipped): .*tick {re.escape(tick)} was already handled", 60
    )
    running_demo.send("p")
    running_demo.read_until(r"^Pruner \(deleting\)", 60)
    running_demo.read_until(r"^  marketing-site +deleted \d+ of \d+ selected", 120)

    running_demo.process.send_signal(signal.SIGINT)
    assert running_demo.process.wait(timeout=30) == 0
    running_demo.read_until(r"^Stopping", 5)
    assert not _port_open(url)


def test_demo_stops_on_sigterm(running_demo: DemoProcess) -> None:
    url = running_demo.read_until(STATUS_LINE.pattern, STARTUP_SECONDS).group(1)

    running_demo.process.send_signal(signal.SIGTERM)

    assert running_demo.process.wait(timeout=30) == 0
    assert not _port_open(url)


def test_demo_busy_port_fails_before_running() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        environment = {**os.environ, "PYTHONPATH": os.pathsep.join(["shared", "functions", "."])}
        environment.pop("AWS_ENDPOINT_URL", None)

        completed = subprocess.run(
            [sys.executable, "-m", "sandbox.demo", "--port", str(port)],
            cwd=REPO_ROOT,
            env=environment,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=STARTUP_SECONDS,
            check=False,
        )

    assert completed.returncode == 2
    assert f"cannot serve the status page on 127.0.0.1:{port}" in completed.stderr
    assert "Build trigger" not in completed.stdout


def test_demo_rejects_no_dry_run_without_real(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        demo.parse_args(["--no-dry-run"])

    assert exit_info.value.code == 2
    assert "--no-dry-run only applies with --real" in capsys.readouterr().err


def test_demo_real_mode_names_missing_variables() -> None:
    with pytest.raises(SystemExit) as exit_info:
        demo._real_credentials({})

    message = str(exit_info.value)
    assert "CLOUDFLARE_ACCOUNT_ID" in message
    assert "PAGES_PROJECTS" in message
    assert "CLOUDFLARE_API_TOKEN" in message


def test_demo_real_mode_prefers_api_token() -> None:
    environ = {
        "CLOUDFLARE_ACCOUNT_ID": "0123456789abcdef0123456789abcdef",
        "PAGES_PROJECTS": "docs",
        "CLOUDFLARE_API_TOKEN": "fake-token-for-test",
    }

    assert demo._real_credentials(environ) == {"api_token": "fake-token-for-test"}


def test_demo_real_mode_dry_runs_by_default() -> None:
    args = demo.parse_args(["--real"])

    assert demo.Demo(args, out=sys.stdout).dry_run is True


def test_demo_rejects_both_dry_run_flags(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        demo.parse_args(["--real", "--dry-run", "--no-dry-run"])

    assert exit_info.value.code == 2
    assert "--dry-run and --no-dry-run contradict each other" in capsys.readouterr().err


def test_trigger_results_mark_replayed_build() -> None:
    result = {
        "results": [
            {
                "project": "docs",
                "action": "triggered",
                "deployment_id": "d1",
                "url": "https://d1.docs.pages.dev",
                "reason": "tick 2026-12-04T10:00:00Z was already handled by an earlier delivery",
            },
            {"project": "blog", "action": "triggered", "deployment_id": "d2", "url": None, "reason": None},
        ]
    }

    lines = [" ".join(line.split()) for line in demo.format_trigger_results(result).splitlines()]

    assert lines == [
        "docs build already started: https://d1.docs.pages.dev (tick 2026-12-04T10:00:00Z was already "
        "handled by an earlier delivery)",
        "blog build started: d2",
    ]


def test_demo_honours_dry_run_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DRY_RUN", "true")

    args = demo.parse_args([])

    assert demo.Demo(args, out=sys.stdout).dry_run is True


def test_demo_dry_run_variable_conflict(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DRY_RUN", "yes")

    with pytest.raises(SystemExit) as exit_info:
        demo.parse_args(["--real", "--no-dry-run"])

    assert exit_info.value.code == 2
    assert "DRY_RUN in the environment asks for a dry run, but --no-dry-run asks for deletions" in (
        capsys.readouterr().err
    )


def test_demo_rejects_invalid_dry_run(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DRY_RUN", "maybe")

    with pytest.raises(SystemExit) as exit_info:
        demo.parse_args([])

    assert exit_info.value.code == 2
    assert "DRY_RUN" in capsys.readouterr().err


def test_prune_results_format_lists_reasons() -> None:
    result = {
        "results": [
            {
                "project": "docs",
                "dry_run": False,
                "selected": ["a", "b"],
                "deleted": ["a"],
                "kept": {"live_production": 1, "keep_latest": 3},
                "failed": [{"id": "b", "code": 10000, "message": "Authentication error"}],
                "remaining": 4,
                "stopped": "max_deletes",
            }
        ]
    }

    lines = [" ".join(line.split()) for line in demo.format_prune_results(result).splitlines()]

    assert lines == [
        "docs deleted 1 of 2 selected, 4 left for the next run (stopped: max_deletes)",
        "kept: keep_latest 3, live_production 1",
        "failed b: [10000] Authentication error",
    ]


def _port_open(url: str) -> bool:
    parts = urlsplit(url)
    with socket.socket() as probe:
        probe.settimeout(1)
        return probe.connect_ex((parts.hostname or "127.0.0.1", parts.port or 80)) == 0
