"""Package sizes as `sam deploy` zips them, and their summary rows."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from bench import packages
from bench.containers import Layout
from bench.report import Verdict


def make_tree(root: Path) -> None:
    (root / "python" / "pkg").mkdir(parents=True)
    (root / "python" / "pkg" / "__init__.py").write_text("x = 1\n" * 100, encoding="utf-8")
    (root / "python" / "pkg" / "data.bin").write_bytes(bytes(range(256)) * 4)
    (root / "top.txt").write_text("hello\n", encoding="utf-8")


def test_measure_counts_and_sums(tmp_path):
    make_tree(tmp_path)
    size = packages.measure(tmp_path)
    assert size.files == 3
    assert size.unzipped_bytes == 600 + 1024 + 6


def test_measure_zip_matches_deflate_archive(tmp_path):
    make_tree(tmp_path)
    size = packages.measure(tmp_path)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in packages.package_files(tmp_path):
            info = zipfile.ZipInfo(path.relative_to(tmp_path).as_posix())
            info.create_system = 3
            info.external_attr = path.stat().st_mode << 16
            archive.writestr(info, path.read_bytes(), compress_type=zipfile.ZIP_DEFLATED)
    assert size.zipped_bytes == len(buffer.getvalue())
    # Repetitive text compresses: the archive is smaller than the files.
    assert size.zipped_bytes < size.unzipped_bytes


def test_package_files_relative_order(tmp_path):
    make_tree(tmp_path)
    names = [path.relative_to(tmp_path).as_posix() for path in packages.package_files(tmp_path)]
    assert names == ["python/pkg/__init__.py", "python/pkg/data.bin", "top.txt"]


def test_measure_missing_directory(tmp_path):
    with pytest.raises(FileNotFoundError, match="make build"):
        packages.measure(tmp_path / "absent")


def test_measure_all_and_rows(tmp_path):
    layer = tmp_path / "PagesOpsLayer" / "python"
    layer.mkdir(parents=True)
    (layer / "module.py").write_text("print('hi')\n", encoding="utf-8")
    function = tmp_path / "Function"
    function.mkdir()
    (function / "app.py").write_text("def lambda_handler(event, context):\n    return {}\n", encoding="utf-8")
    sizes = packages.measure_all(Layout(name="built", layer=layer, functions={"status_page": function}))
    assert set(sizes) == {"layer", "status_page"}
    assert sizes["layer"].files == 1

    rows = packages.rows(sizes)
    assert rows[0].measure == "size, layer"
    assert rows[0].verdict is Verdict.PASS
    assert rows[1].verdict is Verdict.REPORTED
    assert "status_page" in rows[1].result


def test_rows_fail_over_two_megabytes():
    sizes = {
        "layer": packages.PackageSize(files=1, unzipped_bytes=3_000_000, zipped_bytes=2_000_001),
        "trigger_build": packages.PackageSize(files=1, unzipped_bytes=10, zipped_bytes=10),
    }
    assert packages.rows(sizes)[0].verdict is Verdict.FAIL
