"""The benchmark page: a summary table of measures against targets, then one section per measure."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field


class Verdict(enum.StrEnum):
    PASS = "pass"  # noqa: S105 - a verdict, not a password
    FAIL = "fail"
    # A measure with no pass/fail target, only a figure to report.
    REPORTED = "reported"

    @classmethod
    def of(cls, passed: bool) -> Verdict:
        return cls.PASS if passed else cls.FAIL


@dataclass(frozen=True, slots=True)
class Row:
    """One line of the summary: what was measured, how, the result, the target and the verdict."""

    measure: str
    how: str
    result: str
    target: str
    verdict: Verdict


@dataclass(frozen=True, slots=True)
class Table:
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]

    def __post_init__(self) -> None:
        for row in self.rows:
            if len(row) != len(self.headers):
                raise ValueError(
                    f"table row has {len(row)} cells but the table has {len(self.headers)} columns: {row!r}"
                )


@dataclass(frozen=True, slots=True)
class Section:
    """A titled part of the page: paragraphs of text, then tables."""

    title: str
    paragraphs: tuple[str, ...] = ()
    tables: tuple[Table, ...] = ()


@dataclass(frozen=True, slots=True)
class Page:
    title: str
    preamble: tuple[str, ...]
    rows: tuple[Row, ...]
    sections: tuple[Section, ...] = field(default=())


def escape_cell(text: str) -> str:
    """Make `text` safe inside a Markdown table cell: pipes escaped, line breaks turned into spaces."""
    return " ".join(text.replace("|", "\\|").split())


def render_table(table: Table) -> str:
    lines = [
        "| " + " | ".join(escape_cell(header) for header in table.headers) + " |",
        "|" + "|".join("---" for _ in table.headers) + "|",
    ]
    lines.extend("| " + " | ".join(escape_cell(cell) for cell in row) + " |" for row in table.rows)
    return "\n".join(lines)


def summary_table(rows: Sequence[Row]) -> Table:
    return Table(
        headers=("measure", "how", "result", "target", "verdict"),
        rows=tuple((row.measure, row.how, row.result, row.target, row.verdict.value) for row in rows),
    )


def render_page(page: Page) -> str:
    """Render the page as Markdown, ending with a newline."""
    parts = [f"# {page.title}", *page.preamble, "## Summary", render_table(summary_table(page.rows))]
    for section in page.sections:
        parts.append(f"## {section.title}")
        parts.extend(section.paragraphs)
        parts.extend(render_table(table) for table in section.tables)
    return "\n\n".join(parts) + "\n"


def milliseconds(seconds: float) -> str:
    """Format a duration given in seconds as milliseconds, with one decimal below 100 ms."""
    value = seconds * 1000.0
    return f"{value:.1f} ms" if abs(value) < 100 else f"{value:.0f} ms"


def megabytes(size: int) -> str:
    """Format a byte count in MB of 1,000,000 bytes, with two decimals."""
    return f"{size / 1_000_000:.2f} MB"


def mebibytes(size: int) -> str:
    """Format a byte count in MiB (1,048,576 bytes), the unit of Lambda's memory setting."""
    return f"{size / 1_048_576:.1f} MiB"
