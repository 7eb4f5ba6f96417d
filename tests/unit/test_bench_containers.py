"""Code layouts and stand-in Lambda processes of the benchmark, with this interpreter as the runtime."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import pytest

from bench import containers
from bench.containers import BenchError, ChildProcess, Layout, build_source_only, built_layout, run_child


def environment(home: Path) -> dict[str, str]:
    return {
        "PATH": "/usr/bin:/bin",
        "HOME": str(home),
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing-not-a-real-key",
        "AWS_SECRET_ACCESS_KEY": "testing-not-a-real-secret",
        # Port 9 (discard) on loopback: nothing here may reach AWS.
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
        "AWS_EC2_METADATA_DISABLED": "true",
    }


def test_run_child_baseline_reports_result(tmp_path):
    child = run_child(
        sys.executable,
        {"mode": "baseline", "prepend_paths": []},
        environment=environment(tmp_path),
        cwd=tmp_path,
    )
    result = child.result
    assert child.exit_code == 0
    assert result["mode"] == "baseline"
    assert child.spawned < result["started"] < result["done"]
    assert result["peak_rss_bytes"] > 10_000_000
    assert result["modules"] > 100


def test_run_child_unknown_mode_has_no_result(tmp_path):
    child = run_child(sys.executable, {"mode": "nope"}, environment=environment(tmp_path), cwd=tmp_path)
    assert child.exit_code != 0
    with pytest.raises(BenchError, match="unknown mode 'nope'"):
        _ = child.result


def write_script(path: Path, body: str) -> Path:
    path.write_text(body, encoding="utf-8")
    return path


def test_child_silence_times_out(tmp_path, monkeypatch):
    monkeypatch.setattr(
        containers, "CHILD_SCRIPT", write_script(tmp_path / "sleep.py", "import time\ntime.sleep(30)\n")
    )
    monkeypatch.setattr(containers, "CHILD_TIMEOUT_SECONDS", 0.3)
    with ChildProcess(sys.executable, {}, environment=environment(tmp_path), cwd=tmp_path) as child:
        with pytest.raises(BenchError, match="sent nothing"):
            child.wait_for("ready")
        process = child.process
    assert process.poll() is not None


def test_child_messages_in_order(tmp_path, monkeypatch):
    script = (
        "import json, os, sys\n"
        "fd = json.loads(sys.argv[1])['report_fd']\n"
        'os.write(fd, b\'{"kind": "latency", "n": 1}\\n{"kind": "ready"}\\n\')\n'
        "sys.stdin.read()\n"
        'os.write(fd, b\'{"kind": "result", "n": 2}\\n\')\n'
    )
    monkeypatch.setattr(containers, "CHILD_SCRIPT", write_script(tmp_path / "talk.py", script))
    with ChildProcess(sys.executable, {}, environment=environment(tmp_path), cwd=tmp_path) as child:
        assert child.wait_for("latency") == {"kind": "latency", "n": 1}
        assert child.wait_for("ready") == {"kind": "ready"}
        finished = child.finish()
    assert finished.exit_code == 0
    assert finished.result == {"kind": "result", "n": 2}
    assert [message["kind"] for message in finished.messages] == ["latency", "ready", "result"]


def test_child_ending_before_message_raises(tmp_path, monkeypatch):
    script = "import sys\nsys.stderr.write('boom\\n')\nsys.exit(3)\n"
    monkeypatch.setattr(containers, "CHILD_SCRIPT", write_script(tmp_path / "fail.py", script))
    expected = r"(?s)ended \(exit 3\) before reporting 'ready'.*boom"
    with (
        ChildProcess(sys.executable, {}, environment=environment(tmp_path), cwd=tmp_path) as child,
        pytest.raises(BenchError, match=expected),
    ):
        child.wait_for("ready")


def test_child_missing_interpreter(tmp_path):
    with pytest.raises(BenchError, match="could not start"):
        ChildProcess(str(tmp_path / "no-python"), {}, environment=environment(tmp_path), cwd=tmp_path)


def make_build(root: Path) -> Path:
    build = root / "build"
    pages_ops = build / "PagesOpsLayer" / "python" / "pages_ops"
    (pages_ops / "__pycache__").mkdir(parents=True)
    (pages_ops / "__init__.py").write_text("", encoding="utf-8")
    (pages_ops / "__pycache__" / "__init__.cpython-313.pyc").write_bytes(b"bytecode")
    for directory in containers.FUNCTION_BUILD_NAMES.values():
        (build / directory).mkdir()
        (build / directory / "app.py").write_text("def lambda_handler(event, context):\n    return {}\n")
    return build


def test_built_layout_paths(tmp_path):
    layout = built_layout(make_build(tmp_path))
    assert layout.name == "built"
    assert layout.layer == tmp_path / "build" / "PagesOpsLayer" / "python"
    assert layout.function("status_page") == tmp_path / "build" / "StatusPageFunction"


def test_built_layout_missing_output(tmp_path):
    with pytest.raises(BenchError, match="run `make build`"):
        built_layout(tmp_path / "nothing")


def test_built_layout_without_pages_ops(tmp_path):
    build = make_build(tmp_path)
    (build / "PagesOpsLayer" / "python" / "pages_ops" / "__init__.py").unlink()
    for path in sorted((build / "PagesOpsLayer" / "python" / "pages_ops").rglob("*"), reverse=True):
        path.unlink() if path.is_file() else path.rmdir()
    (build / "PagesOpsLayer" / "python" / "pages_ops").rmdir()
    with pytest.raises(BenchError, match="no pages_ops package"):
        built_layout(build)


def fake_pip(path: Path, extra: str = "") -> str:
    """An interpreter stand-in whose `-m pip install ... --target DIR` writes a package with an extension."""
    script = (
        "#!/bin/sh\n"
        'while [ "$#" -gt 0 ]; do if [ "$1" = --target ]; then target="$2"; fi; shift; done\n'
        'mkdir -p "$target/pkg"\n'
        'echo "x = 1" > "$target/pkg/__init__.py"\n'
        'echo elf > "$target/pkg/speedup.cpython-313-aarch64-linux-gnu.so"\n'
        f"{extra}"
    )
    path.write_text(script, encoding="utf-8")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return str(path)


def test_build_source_only_without_bytecode(tmp_path):
    built = built_layout(make_build(tmp_path))
    layout = build_source_only(fake_pip(tmp_path / "python"), built, tmp_path / "out")
    assert layout.name == "source only"
    assert (layout.layer / "pkg" / "__init__.py").is_file()
    assert not list(layout.layer.rglob("*.so"))
    assert (layout.layer / "pages_ops" / "__init__.py").is_file()
    assert not (layout.layer / "pages_ops" / "__pycache__").exists()
    assert (layout.function("trigger_build") / "app.py").is_file()


def test_build_source_only_rejects_leftover_bytecode(tmp_path):
    built = built_layout(make_build(tmp_path))
    python = fake_pip(tmp_path / "python", extra='echo x > "$target/pkg/__init__.pyc"\n')
    with pytest.raises(BenchError, match="still contains bytecode"):
        build_source_only(python, built, tmp_path / "out")


def test_build_source_only_reports_pip_failure(tmp_path):
    built = built_layout(make_build(tmp_path))
    python = tmp_path / "python"
    python.write_text("#!/bin/sh\necho 'No matching distribution found' >&2\nexit 1\n", encoding="utf-8")
    python.chmod(python.stat().st_mode | stat.S_IEXEC)
    with pytest.raises(BenchError, match=r"exit 1\).*No matching distribution found"):
        build_source_only(str(python), built, tmp_path / "out")


def test_layout_hashes_by_identity():
    first = Layout(name="built", layer=Path("/opt/python"), functions={})
    second = Layout(name="built", layer=Path("/opt/python"), functions={})
    assert first != second
    assert len({first, second, first}) == 2
    assert os.fspath(first.layer) == "/opt/python"
