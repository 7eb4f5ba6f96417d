"""Deployment package sizes: unzipped on disk, and zipped the way `sam deploy` uploads them.

SAM CLI zips a build directory with `zipfile.ZIP_DEFLATED` at the default level, one entry per file with
paths relative to the directory and no directory entries (`make_zip_with_permissions` in
samcli/lib/package/utils.py, SAM CLI 1.170.0). The same is done here in memory.
"""

from __future__ import annotations

import io
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from bench.containers import Layout
from bench.report import Row, Section, Table, Verdict, megabytes

LAYER: Final = "layer"
MAX_LAYER_ZIPPED_BYTES: Final = 2_000_000


@dataclass(frozen=True, slots=True)
class PackageSize:
    files: int
    unzipped_bytes: int
    zipped_bytes: int


def package_files(root: Path) -> list[Path]:
    """Return every file under `root`, following links as SAM does, in a stable order."""
    files: list[Path] = []
    for directory, _, names in os.walk(root, followlinks=True):
        files.extend(Path(directory) / name for name in names)
    return sorted(files)


def measure(root: Path) -> PackageSize:
    """Count, sum and zip the files under `root`. Raises FileNotFoundError when it is not a directory."""
    if not root.is_dir():
        raise FileNotFoundError(f"package directory {root} does not exist: run `make build` first")
    files = package_files(root)
    buffer = io.BytesIO()
    unzipped = 0
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in files:
            data = path.read_bytes()
            unzipped += len(data)
            info = zipfile.ZipInfo(path.relative_to(root).as_posix())
            info.create_system = 3
            info.external_attr = path.stat().st_mode << 16
            archive.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED)
    return PackageSize(files=len(files), unzipped_bytes=unzipped, zipped_bytes=len(buffer.getvalue()))


def measure_all(built: Layout) -> dict[str, PackageSize]:
    """Measure the layer (its build directory, which contains python/) and each function."""
    sizes = {LAYER: measure(built.layer.parent)}
    for name, directory in built.functions.items():
        sizes[name] = measure(directory)
    return sizes


def rows(sizes: dict[str, PackageSize]) -> list[Row]:
    layer = sizes[LAYER]
    functions = [name for name in sizes if name != LAYER]
    largest = max(functions, key=lambda name: sizes[name].zipped_bytes)
    return [
        Row(
            measure="size, layer",
            how="the built layer zipped with deflate as `sam deploy` does, and unzipped",
            result=f"{megabytes(layer.zipped_bytes)} zipped, {megabytes(layer.unzipped_bytes)} unzipped",
            target=f"<= {megabytes(MAX_LAYER_ZIPPED_BYTES)} zipped",
            verdict=Verdict.of(layer.zipped_bytes <= MAX_LAYER_ZIPPED_BYTES),
        ),
        Row(
            measure="size, functions",
            how="each built function zipped and unzipped",
            result=(
                f"largest {largest}: {sizes[largest].zipped_bytes:,} bytes zipped, "
                f"{sizes[largest].unzipped_bytes:,} unzipped"
            ),
            target="reported",
            verdict=Verdict.REPORTED,
        ),
    ]


def sections(sizes: dict[str, PackageSize]) -> list[Section]:
    table = Table(
        headers=("package", "files", "zipped", "unzipped"),
        rows=tuple(
            (name, str(size.files), f"{size.zipped_bytes:,} bytes", f"{size.unzipped_bytes:,} bytes")
            for name, size in sizes.items()
        ),
    )
    return [
        Section(
            title="Package size",
            paragraphs=(
                "Each directory of `.aws-sam/build` zipped in memory with deflate at the default level, one "
                "entry per file, as SAM CLI packages it. The layer's directory contains `python/`, which "
                "Lambda mounts at /opt/python. MB here are 1,000,000 bytes.",
            ),
            tables=(table,),
        )
    ]
