"""Helpers of the stand-in Lambda process (bench/child.py), run here in the test interpreter."""

from __future__ import annotations

import json
import os
import re
import sys
import time
from typing import Any

import pytest

from bench import child


def test_lambda_context_counts_down():
    context = child.LambdaContext("cf-pages-ops-status-page", timeout_seconds=10.0)
    assert context.function_name == "cf-pages-ops-status-page"
    assert context.memory_limit_in_mb == 128
    assert context.invoked_function_arn == (
        "arn:aws:lambda:us-east-1:123456789012:function:cf-pages-ops-status-page"
    )
    assert 9_000 < context.get_remaining_time_in_millis() <= 10_000


def test_lambda_context_never_negative():
    context = child.LambdaContext("f", timeout_seconds=0.0)
    time.sleep(0.01)
    assert context.get_remaining_time_in_millis() == 0


def test_request_id_is_uuid_shaped_and_unique():
    first = child.LambdaContext("f", 1.0).aws_request_id
    second = child.LambdaContext("f", 1.0).aws_request_id
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", first)
    assert first != second


def test_reporter_writes_json_lines():
    read_fd, write_fd = os.pipe()
    reporter = child.Reporter(write_fd)
    reporter.send({"kind": "result", "done": 1.5})
    reporter.send({"kind": "ready", "url": "http://127.0.0.1:1/"})
    os.close(write_fd)
    with os.fdopen(read_fd, "rb") as pipe:
        lines = pipe.read().decode("utf-8").splitlines()
    assert [json.loads(line) for line in lines] == [
        {"kind": "result", "done": 1.5},
        {"kind": "ready", "url": "http://127.0.0.1:1/"},
    ]


def test_lay_out_path_prepends_and_appends(monkeypatch):
    monkeypatch.setattr(sys, "path", ["/stdlib", "/site-packages"])
    child.lay_out_path(["/var/task", "/opt/python"], ["/repo"])
    assert sys.path == ["/var/task", "/opt/python", "/stdlib", "/site-packages", "/repo"]


def test_peak_rss_is_positive():
    assert child.peak_rss_bytes() > 1_000_000


@pytest.mark.parametrize(
    ("response", "summary"),
    [
        ({"statusCode": 200, "body": "<html>"}, {"status": 200}),
        (
            {
                "results": [
                    {"project": "docs", "action": "triggered"},
                    {"project": "blog", "action": "skipped"},
                ]
            },
            {"projects": 2, "actions": {"triggered": 1, "skipped": 1}, "deleted": 0},
        ),
        (
            {"results": [{"project": "docs", "deleted": ["a", "b"]}, {"project": "blog", "deleted": []}]},
            {"projects": 2, "actions": {}, "deleted": 2},
        ),
        ({"other": 1}, {}),
        (None, {"type": "NoneType"}),
    ],
)
def test_summarize_response(response, summary):
    assert child.summarize_response(response) == summary


def test_copy_is_independent():
    event = {"headers": {"host": "example"}}
    copied = child._copy(event)
    copied["headers"]["host"] = "changed"
    assert event["headers"]["host"] == "example"


def test_time_calls_records_durations_and_statuses():
    calls = []

    def handler(event, context):
        calls.append((event, context.function_name))
        return {"statusCode": 200 if len(calls) < 3 else 503}

    durations, statuses = child.time_calls(
        handler, {"path": "/"}, {"function_name": "status", "timeout_seconds": 10}, 3
    )
    assert len(durations) == 3
    assert all(duration >= 0 for duration in durations)
    assert statuses == [200, 200, 503]
    assert calls[0] == ({"path": "/"}, "status")


class RecordingDynamoDb:
    """Records the calls `write_records` makes, in place of a boto3 DynamoDB client."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def put_item(self, **request):
        self.calls.append(("PutItem", request))

    def update_item(self, **request):
        self.calls.append(("UpdateItem", request))


def test_write_records_put_then_update():
    dynamodb = RecordingDynamoDb()
    child.write_records(dynamodb, "bench-table", 2)

    assert [name for name, _ in dynamodb.calls] == ["PutItem", "UpdateItem", "PutItem", "UpdateItem"]
    put, update = dynamodb.calls[0][1], dynamodb.calls[1][1]
    assert put["TableName"] == "bench-table"
    assert put["ConditionExpression"] == "attribute_not_exists(id)"
    assert put["Item"]["status"] == {"S": "INPROGRESS"}
    assert update["Key"] == {"id": put["Item"]["id"]}
    assert dynamodb.calls[2][1]["Item"]["id"] != put["Item"]["id"]


def test_run_baseline_stamps_imports_then_client():
    result = child.run_baseline("boto3 and requests")

    [(label, imported)] = result["steps"]
    assert label == "boto3 and requests"
    assert imported == result["imported"]
    assert result["imported"] <= result["done"]
