"""Stand-in Lambda containers: the code layouts the benchmarks run, and the python3.13 processes running them.

A layout is a function's code directory and the layer's `python/` directory. `built_layout` is what
`make build` produced (third-party packages as bytecode only, `pages_ops` with source and bytecode).
`build_source_only` makes the same code without any bytecode, so that every module is compiled on import,
as happens when a layer ships sources to a read-only `/opt`.

`ChildProcess` starts `bench/child.py` under the runtime interpreter (a python3.13 virtual environment with
the runtime's boto3) and reads its JSON reports from a pipe.
"""

from __future__ import annotations

import json
import logging
import os
import select
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Final

logger = logging.getLogger(__name__)

REPO_ROOT: Final = Path(__file__).resolve().parent.parent
CHILD_SCRIPT: Final = Path(__file__).resolve().parent / "child.py"
BUILD_DIR: Final = REPO_ROOT / ".aws-sam" / "build"
LAYER_BUILD_NAME: Final = "PagesOpsLayer"
# Function name in functions/ -> logical id in template.yaml, which names its directory in .aws-sam/build.
FUNCTION_BUILD_NAMES: Final = {
    "trigger_build": "TriggerBuildFunction",
    "prune_deployments": "PruneDeploymentsFunction",
    "status_page": "StatusPageFunction",
}
FUNCTIONS: Final = tuple(FUNCTION_BUILD_NAMES)
# Maximum seconds a child may run before the benchmark gives up on it.
CHILD_TIMEOUT_SECONDS: Final = 120.0


class BenchError(Exception):
    """A benchmark could not run or produced an invalid measurement. The message names the next step."""


@dataclass(frozen=True, slots=True, eq=False)
class Layout:
    """Code of one variant: the layer's python/ directory and each function's directory.

    Layouts compare and hash by identity, so they can key the samples of a run.
    """

    name: str
    layer: Path
    functions: Mapping[str, Path]

    def function(self, name: str) -> Path:
        return self.functions[name]


def built_layout(build_dir: Path = BUILD_DIR) -> Layout:
    """Return the output of `make build`; BenchError names the missing directory when it is incomplete."""
    layer = build_dir / LAYER_BUILD_NAME / "python"
    functions = {name: build_dir / directory for name, directory in FUNCTION_BUILD_NAMES.items()}
    for path in (layer, *functions.values()):
        if not path.is_dir():
            raise BenchError(f"build output {path} is missing: run `make build` before the benchmarks")
    if not (layer / "pages_ops").is_dir():
        raise BenchError(f"{layer} has no pages_ops package: run `make build` again")
    return Layout(name="built", layer=layer, functions=functions)


def build_source_only(
    runtime_python: str,
    built: Layout,
    destination: Path,
    requirements: Path = REPO_ROOT / "shared" / "requirements.txt",
) -> Layout:
    """Install the layer's requirements without bytecode, add pages_ops and the functions as source only.

    pip picks the same wheels as the layer build (manylinux2014_aarch64, CPython 3.13). Compiled extension
    modules are removed as the layer build removes them, so every module of the copy is plain source.
    pages_ops and the functions are copied from the build, without their bytecode.
    """
    layer = destination / "layer" / "python"
    layer.mkdir(parents=True)
    command = [
        runtime_python,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--no-compile",
        "--platform",
        "manylinux2014_aarch64",
        "--only-binary=:all:",
        "--python-version",
        "3.13",
        "--implementation",
        "cp",
        "--target",
        str(layer),
        "-r",
        str(requirements),
    ]
    try:
        subprocess.run(command, check=True, capture_output=True, text=True, timeout=600)  # noqa: S603
    except subprocess.CalledProcessError as exc:
        raise BenchError(
            f"pip could not install {requirements} for the source-only layer (exit {exc.returncode}): "
            f"{exc.stderr.strip()[-2000:]}"
        ) from exc
    except subprocess.TimeoutExpired as exc:
        raise BenchError(
            f"pip did not install {requirements} within {exc.timeout:.0f}s: check the package index"
        ) from exc
    for extension in layer.rglob("*.so"):
        extension.unlink()

    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(built.layer / "pages_ops", layer / "pages_ops", ignore=ignore)
    functions = {}
    for name, source in built.functions.items():
        target = destination / "functions" / name
        shutil.copytree(source, target, ignore=ignore)
        functions[name] = target

    leftovers = [
        path for path in destination.rglob("*") if path.suffix == ".pyc" or path.name == "__pycache__"
    ]
    if leftovers:
        raise BenchError(f"the source-only copy still contains bytecode, e.g. {leftovers[0]}")
    return Layout(name="source only", layer=layer, functions=functions)


@dataclass(frozen=True, slots=True)
class ChildResult:
    """Messages of a finished child, with the parent's spawn time on the same monotonic clock."""

    spawned: float
    messages: tuple[dict[str, Any], ...]
    exit_code: int
    stderr: str

    @property
    def result(self) -> dict[str, Any]:
        """The final `result` message. Raises BenchError with the child's stderr when there is none."""
        results = [message for message in self.messages if message.get("kind") == "result"]
        if results:
            return results[-1]
        raise BenchError(
            f"the child exited with {self.exit_code} without a result; the end of its stderr:\n"
            f"{self.stderr[-4000:]}"
        )


class ChildProcess:
    """One run of bench/child.py. Use as a context manager, so the process is always ended."""

    def __init__(
        self,
        runtime_python: str,
        config: Mapping[str, Any],
        *,
        environment: Mapping[str, str],
        cwd: Path,
        python_options: Sequence[str] = ("-B",),
    ) -> None:
        self._read_fd, write_fd = os.pipe()
        message = {**config, "report_fd": write_fd}
        self.command = [runtime_python, "-I", *python_options, str(CHILD_SCRIPT), json.dumps(message)]
        self._stderr: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 - closed in close()
        self.spawned = time.monotonic()
        try:
            self.process = subprocess.Popen(  # noqa: S603 - the interpreter and script are the bench's own
                self.command,
                env=dict(environment),
                cwd=cwd,
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=self._stderr,
                pass_fds=(write_fd,),
            )
        except OSError as exc:
            os.close(self._read_fd)
            self._stderr.close()
            raise BenchError(f"could not start {runtime_python} in {cwd}: {exc}") from exc
        finally:
            os.close(write_fd)
        self._buffer = b""
        self._closed = False
        self.messages: list[dict[str, Any]] = []

    def __enter__(self) -> ChildProcess:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()

    def read_messages(self) -> Iterator[dict[str, Any]]:
        """Yield the child's messages as they arrive, until it closes the pipe.

        Raises BenchError when no message arrives for CHILD_TIMEOUT_SECONDS, so a hung child cannot stall
        the benchmark (the context manager then kills it).
        """
        while True:
            line = self._read_line(time.monotonic() + CHILD_TIMEOUT_SECONDS)
            if line is None:
                return
            message: dict[str, Any] = json.loads(line)
            self.messages.append(message)
            yield message

    def _read_line(self, deadline: float) -> bytes | None:
        """Return the next line from the pipe without its newline, or None at the end of the pipe."""
        while b"\n" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise BenchError(
                    f"the child sent nothing for {CHILD_TIMEOUT_SECONDS:.0f}s; the end of its stderr:\n"
                    f"{self.stderr()[-4000:]}"
                )
            readable, _, _ = select.select([self._read_fd], [], [], remaining)
            if not readable:
                continue
            chunk = os.read(self._read_fd, 65536)
            if not chunk:
                return None
            self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line

    def wait_for(self, kind: str) -> dict[str, Any]:
        """Read messages until one of `kind` arrives. Raises BenchError when the child ends first."""
        for message in self.read_messages():
            if message.get("kind") == kind:
                return message
        self.process.wait(timeout=CHILD_TIMEOUT_SECONDS)
        raise BenchError(
            f"the child ended (exit {self.process.returncode}) before reporting {kind!r}; its stderr:\n"
            f"{self.stderr()[-4000:]}"
        )

    def finish(self) -> ChildResult:
        """Close the child's standard input, read its remaining messages and wait for it to exit."""
        if self.process.stdin is not None and not self.process.stdin.closed:
            self.process.stdin.close()
        for _ in self.read_messages():
            pass
        try:
            code = self.process.wait(timeout=CHILD_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired as exc:
            self.process.kill()
            raise BenchError(
                f"the child did not exit within {CHILD_TIMEOUT_SECONDS:.0f}s: {self.command[:4]}"
            ) from exc
        return ChildResult(
            spawned=self.spawned, messages=tuple(self.messages), exit_code=code, stderr=self.stderr()
        )

    def stderr(self) -> str:
        self._stderr.seek(0)
        return self._stderr.read().decode("utf-8", errors="replace")

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        if self.process.stdin is not None and not self.process.stdin.closed:
            self.process.stdin.close()
        if not self._closed:
            self._closed = True
            os.close(self._read_fd)
            self._stderr.close()


def run_child(
    runtime_python: str,
    config: Mapping[str, Any],
    *,
    environment: Mapping[str, str],
    cwd: Path,
    python_options: Sequence[str] = ("-B",),
) -> ChildResult:
    """Run a child to completion and return its messages."""
    with ChildProcess(
        runtime_python, config, environment=environment, cwd=cwd, python_options=python_options
    ) as child:
        return child.finish()
