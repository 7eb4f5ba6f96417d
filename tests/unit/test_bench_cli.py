"""Command line of `python -m bench`."""

from __future__ import annotations

import os
import sys

import pytest

from bench.__main__ import MEASURES, check_runtime_python, command_line, parse_args
from bench.containers import BenchError


def test_defaults():
    args = parse_args([])
    assert args.only == MEASURES
    assert args.rounds == 15
    assert args.backlog == 3000
    assert args.ceiling == 1200.0
    assert args.scale == 10.0
    assert args.output.endswith(os.path.join("docs", "benchmarks.md"))


def test_only_keeps_canonical_order():
    assert parse_args(["--only", "pruning, size"]).only == ("size", "pruning")


def test_runtime_python_made_absolute_without_resolving_links():
    args = parse_args(["--runtime-python", ".venv-bench313/bin/python"])
    assert args.runtime_python == os.path.join(os.getcwd(), ".venv-bench313", "bin", "python")


@pytest.mark.parametrize(
    "argv",
    [
        ["--only", "coldstart,speed"],
        ["--only", ","],
        ["--rounds", "0"],
        ["--backlog", "-1"],
        ["--scale", "0"],
    ],
)
def test_invalid_arguments_exit(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        parse_args(argv)
    assert exit_info.value.code == 2
    assert "--" in capsys.readouterr().err


def test_command_line_names_make_when_run_by_make(monkeypatch):
    monkeypatch.setenv("MAKELEVEL", "1")
    assert command_line(["--rounds", "5"]) == "make bench (python -m bench --rounds 5)"
    monkeypatch.delenv("MAKELEVEL")
    assert command_line([]) == "python -m bench"


def test_check_runtime_python_rejects_wrong_interpreter(tmp_path):
    with pytest.raises(BenchError, match="make bench"):
        check_runtime_python(str(tmp_path / "missing-python"))
    if sys.version_info[:2] != (3, 13):
        with pytest.raises(BenchError, match=r"not a python3\.13 with boto3"):
            check_runtime_python(sys.executable)
