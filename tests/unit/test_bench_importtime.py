"""Parsing of `python -X importtime` output for the cold-start tables."""

from __future__ import annotations

from bench.importtime import ImportRecord, parse, self_time_by_package, top_cumulative, total_us

# Shaped exactly as CPython 3.13 prints it: a header, then one line per module after its own imports.
SAMPLE = """\
import time: self [us] | cumulative | imported package
import time:       162 |        162 |   _io
import time:       597 |       1035 | _frozen_importlib_external
import time:       445 |        445 |       _json
import time:       405 |        849 |     json.scanner
import time:       949 |       9406 |   json.decoder
import time:       330 |      10189 | json
some other line on stderr
import time:      1200 |       3000 |   botocore.session
import time:       100 |       3100 | botocore
"""


def test_parse_records_with_depth():
    records = parse(SAMPLE.splitlines())
    assert records[0] == ImportRecord(module="_io", self_us=162, cumulative_us=162, depth=1)
    assert records[2] == ImportRecord(module="_json", self_us=445, cumulative_us=445, depth=3)
    assert records[5] == ImportRecord(module="json", self_us=330, cumulative_us=10189, depth=0)
    assert [record.module for record in records] == [
        "_io",
        "_frozen_importlib_external",
        "_json",
        "json.scanner",
        "json.decoder",
        "json",
        "botocore.session",
        "botocore",
    ]


def test_parse_skips_header_and_other_lines():
    assert (
        parse(["import time: self [us] | cumulative | imported package", "Traceback (most recent call)"])
        == []
    )


def test_parse_skips_malformed_numbers():
    assert parse(["import time:  abc |  12 | module"]) == []


def test_package_is_top_level_name():
    assert ImportRecord("botocore.session", 1, 1, 0).package == "botocore"
    assert ImportRecord("json", 1, 1, 0).package == "json"


def test_top_cumulative_order_and_count():
    records = parse(SAMPLE.splitlines())
    top = top_cumulative(records, 3)
    assert [record.module for record in top] == ["json", "json.decoder", "botocore"]


def test_top_cumulative_ties_by_name():
    records = [ImportRecord("b", 1, 5, 0), ImportRecord("a", 1, 5, 0)]
    assert [record.module for record in top_cumulative(records)] == ["a", "b"]


def test_self_time_by_package_sums():
    totals = dict(self_time_by_package(parse(SAMPLE.splitlines())))
    assert totals["json"] == 330 + 405 + 949
    assert totals["botocore"] == 1300
    assert self_time_by_package(parse(SAMPLE.splitlines()))[0] == ("json", 1684)


def test_total_counts_top_level_only():
    assert total_us(parse(SAMPLE.splitlines())) == 1035 + 10189 + 3100
