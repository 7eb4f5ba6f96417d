"""Description of the machine a benchmark ran on: processors, memory, kernel and Python versions."""

from __future__ import annotations

import os
import platform
import subprocess
from dataclasses import dataclass
from pathlib import Path

UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class Machine:
    cpus: int
    cpu_model: str
    memory_bytes: int | None
    kernel: str
    architecture: str
    bench_python: str
    runtime_python: str

    def lines(self) -> list[str]:
        memory = UNKNOWN if self.memory_bytes is None else f"{self.memory_bytes / 1024**3:.1f} GiB"
        return [
            f"{self.cpus} CPUs available to the process (nproc), {self.cpu_model}, {self.architecture}",
            f"memory: {memory}; kernel: Linux {self.kernel}",
            f"Python: {self.runtime_python} for the functions, {self.bench_python} for the benchmark driver",
        ]


def cpu_model(cpuinfo: str) -> str:
    """Return the processor model from the text of /proc/cpuinfo, or "unknown"."""
    for line in cpuinfo.splitlines():
        key, separator, value = line.partition(":")
        if separator and key.strip() in ("model name", "Model", "Hardware", "cpu model") and value.strip():
            return value.strip()
    return UNKNOWN


def memory_total(meminfo: str) -> int | None:
    """Return MemTotal in bytes from the text of /proc/meminfo, or None when it is missing."""
    for line in meminfo.splitlines():
        if line.startswith("MemTotal:"):
            fields = line.split()
            if len(fields) >= 2 and fields[1].isdigit():
                return int(fields[1]) * 1024
    return None


def _read(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def python_version(interpreter: str) -> str:
    """Return `interpreter`'s version and build, e.g. "CPython 3.13.0 (gcc 12.2.0)"."""
    code = "import platform; print(platform.python_implementation(), platform.python_version())"
    try:
        completed = subprocess.run(  # noqa: S603 - runs the interpreter the bench was given, fixed code
            [interpreter, "-I", "-c", code], capture_output=True, text=True, check=True, timeout=30
        )
    except (OSError, subprocess.SubprocessError) as exc:
        return f"{interpreter} (version unknown: {type(exc).__name__})"
    return completed.stdout.strip()


def describe(runtime_python: str) -> Machine:
    return Machine(
        cpus=len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 0,
        cpu_model=cpu_model(_read("/proc/cpuinfo")),
        memory_bytes=memory_total(_read("/proc/meminfo")),
        kernel=platform.release(),
        architecture=platform.machine(),
        bench_python=f"{platform.python_implementation()} {platform.python_version()}",
        runtime_python=python_version(runtime_python),
    )
