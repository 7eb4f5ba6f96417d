"""The machine description on the benchmark page."""

from __future__ import annotations

import sys

from bench.machine import Machine, cpu_model, describe, memory_total, python_version

X86_CPUINFO = """\
processor\t: 0
vendor_id\t: GenuineIntel
model name\t: Intel(R) Xeon(R) Processor
flags\t\t: fpu vme

processor\t: 1
model name\t: Intel(R) Xeon(R) Processor
"""
ARM_CPUINFO = "processor\t: 0\nBogoMIPS\t: 50.00\nCPU part\t: 0xd0c\nModel\t\t: Raspberry Pi 4 Model B\n"


def test_cpu_model_x86():
    assert cpu_model(X86_CPUINFO) == "Intel(R) Xeon(R) Processor"


def test_cpu_model_arm_model_line():
    assert cpu_model(ARM_CPUINFO) == "Raspberry Pi 4 Model B"


def test_cpu_model_unknown():
    assert cpu_model("processor\t: 0\n") == "unknown"


def test_memory_total_in_bytes():
    assert memory_total("MemTotal:       24684032 kB\nMemFree:  1 kB\n") == 24684032 * 1024


def test_memory_total_missing():
    assert memory_total("MemFree: 1 kB\n") is None


def test_python_version_of_this_interpreter():
    assert python_version(sys.executable).startswith("CPython 3.")


def test_python_version_of_missing_interpreter(tmp_path):
    text = python_version(str(tmp_path / "no-python"))
    assert "version unknown: FileNotFoundError" in text


def test_describe_this_machine():
    machine = describe(sys.executable)
    assert machine.cpus >= 1
    assert machine.runtime_python.startswith("CPython 3.")


def test_machine_lines():
    machine = Machine(
        cpus=2,
        cpu_model="Intel(R) Xeon(R) Processor",
        memory_bytes=24 * 1024**3,
        kernel="6.1.0",
        architecture="x86_64",
        bench_python="CPython 3.11.7",
        runtime_python="CPython 3.13.0",
    )
    assert machine.lines() == [
        "2 CPUs available to the process (nproc), Intel(R) Xeon(R) Processor, x86_64",
        "memory: 24.0 GiB; kernel: Linux 6.1.0",
        "Python: CPython 3.13.0 for the functions, CPython 3.11.7 for the benchmark driver",
    ]
