"""Command line of `python -m bench`."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

import bench.__main__ as bench_main
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


def git(repository, *arguments):
    subprocess.run(["git", *arguments], cwd=repository, check=True, capture_output=True)  # noqa: S607 - git from PATH


def test_git_revision_names_changed_files(tmp_path, monkeypatch):
    git(tmp_path, "init", "-q")
    for name in ("README.md", "app.py"):
        (tmp_path / name).write_text("first\n", encoding="utf-8")
    git(tmp_path, "add", ".")
    git(
        tmp_path, "-c", "user.name=Bench Test", "-c", "user.email=bench@example.invalid", "commit", "-qm", "x"
    )
    monkeypatch.setattr(bench_main, "REPO_ROOT", tmp_path)
    commit = bench_main.git_revision()
    assert " " not in commit

    (tmp_path / "README.md").write_text("second\n", encoding="utf-8")
    (tmp_path / "untracked.txt").write_text("ignored\n", encoding="utf-8")
    assert bench_main.git_revision() == f"{commit} with uncommitted changes to README.md"

    (tmp_path / "app.py").write_text("second\n", encoding="utf-8")
    assert bench_main.git_revision() == f"{commit} with uncommitted changes to README.md, app.py"


def test_git_revision_outside_git(tmp_path, monkeypatch):
    monkeypatch.setattr(bench_main, "REPO_ROOT", tmp_path)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    assert bench_main.git_revision() == "unknown"
