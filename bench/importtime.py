"""Parsing of CPython's `-X importtime` output, to name the imports that cost a cold start the most.

Each line reads `import time: <self us> | <cumulative us> | <indent><module>`, where the indent is two
spaces per nesting level and a module is printed after the modules it imported. Cumulative time includes
the nested imports, self time does not.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

PREFIX = "import time:"


@dataclass(frozen=True, slots=True)
class ImportRecord:
    """One module's import, times in microseconds. `depth` 0 is an import made by the program itself."""

    module: str
    self_us: int
    cumulative_us: int
    depth: int

    @property
    def package(self) -> str:
        """The top-level package, for example `botocore` for `botocore.session`."""
        return self.module.split(".", 1)[0]


def parse(lines: Iterable[str]) -> list[ImportRecord]:
    """Parse `-X importtime` lines, skipping the header and every line that is not an import record."""
    records = []
    for line in lines:
        if not line.startswith(PREFIX):
            continue
        fields = line[len(PREFIX) :].split("|", 2)
        if len(fields) != 3:
            continue
        self_text, cumulative_text, name_field = fields
        try:
            self_us = int(self_text.strip())
            cumulative_us = int(cumulative_text.strip())
        except ValueError:
            continue  # the header line: "self [us] | cumulative | imported package"
        name = name_field.removeprefix(" ")
        module = name.lstrip(" ")
        depth = (len(name) - len(module)) // 2
        records.append(
            ImportRecord(module=module.strip(), self_us=self_us, cumulative_us=cumulative_us, depth=depth)
        )
    return records


def top_cumulative(records: Sequence[ImportRecord], count: int = 10) -> list[ImportRecord]:
    """The `count` imports with the highest cumulative time, highest first (ties by module name)."""
    return sorted(records, key=lambda record: (-record.cumulative_us, record.module))[:count]


def self_time_by_package(records: Sequence[ImportRecord]) -> list[tuple[str, int]]:
    """Self time summed per top-level package, highest first: where the import time is actually spent."""
    totals: dict[str, int] = {}
    for record in records:
        totals[record.package] = totals.get(record.package, 0) + record.self_us
    return sorted(totals.items(), key=lambda item: (-item[1], item[0]))


def total_us(records: Sequence[ImportRecord]) -> int:
    """Time spent importing, in microseconds: the sum of the top-level imports' cumulative times."""
    return sum(record.cumulative_us for record in records if record.depth == 0)
