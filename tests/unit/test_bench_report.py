"""The benchmark page: Markdown tables, the summary of measures, unit formatting."""

from __future__ import annotations

import pytest

from bench.report import (
    Page,
    Row,
    Section,
    Table,
    Verdict,
    escape_cell,
    mebibytes,
    megabytes,
    milliseconds,
    render_page,
    render_table,
)


def test_verdict_of_bool():
    assert Verdict.of(True) is Verdict.PASS
    assert Verdict.of(False) is Verdict.FAIL


def test_escape_cell_pipes_and_line_breaks():
    assert escape_cell("a | b\nc  d") == "a \\| b c d"


def test_render_table_markdown():
    table = Table(headers=("name", "value"), rows=(("x", "1"), ("y|z", "2")))
    assert render_table(table) == "| name | value |\n|---|---|\n| x | 1 |\n| y\\|z | 2 |"


def test_table_rejects_row_of_wrong_width():
    with pytest.raises(ValueError, match="2 columns"):
        Table(headers=("a", "b"), rows=(("only one",),))


def test_render_page_order_and_summary():
    page = Page(
        title="Benchmarks",
        preamble=("Generated.",),
        rows=(Row("cold start", "median", "1.10 x", "<= 1.15 x", Verdict.PASS),),
        sections=(Section(title="Details", paragraphs=("Text.",), tables=(Table(("k",), (("v",),)),)),),
    )
    expected = (
        "# Benchmarks\n\n"
        "Generated.\n\n"
        "## Summary\n\n"
        "| measure | how | result | target | verdict |\n"
        "|---|---|---|---|---|\n"
        "| cold start | median | 1.10 x | <= 1.15 x | pass |\n\n"
        "## Details\n\n"
        "Text.\n\n"
        "| k |\n|---|\n| v |\n"
    )
    assert render_page(page) == expected


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0.0001234, "0.1 ms"), (0.0456, "45.6 ms"), (0.0999, "99.9 ms"), (0.1234, "123 ms"), (2.5, "2500 ms")],
)
def test_milliseconds_format(seconds, text):
    assert milliseconds(seconds) == text


def test_megabytes_decimal():
    assert megabytes(1_859_366) == "1.86 MB"


def test_mebibytes_binary():
    assert mebibytes(100 * 1_048_576) == "100.0 MiB"
