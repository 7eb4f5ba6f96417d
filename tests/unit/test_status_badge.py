"""Unit tests for pages_ops.status.badge: valid SVG, status text and colour, escaped labels."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from pages_ops.status.badge import COLOURS, render_badge, text_width

SVG = "{http://www.w3.org/2000/svg}"


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # noqa: S314 - the badge renderer's own output, not untrusted input


def texts(root: ET.Element) -> list[str]:
    return [element.text or "" for element in root.iter(f"{SVG}text")]


@pytest.mark.parametrize(
    ("status", "message"),
    [
        ("success", "success"),
        ("failure", "failed"),
        ("building", "building"),
        ("queued", "queued"),
        ("canceled", "canceled"),
        ("skipped", "skipped"),
        ("unknown", "unknown"),
        ("none", "no deployments"),
    ],
)
def test_badge_reads_label_and_status(status: str, message: str) -> None:
    root = parse(render_badge("docs", status))
    assert root.tag == f"{SVG}svg"
    assert root.get("role") == "img"
    assert root.get("aria-label") == f"docs: {message}"
    title = root.find(f"{SVG}title")
    assert title is not None
    assert title.text == f"docs: {message}"
    assert texts(root) == ["docs", "docs", message, message]
    fills = [rect.get("fill") for rect in root.iter(f"{SVG}rect")]
    assert COLOURS[status] in fills


def test_badge_width_fits_text() -> None:
    root = parse(render_badge("marketing-site", "success"))
    width = int(root.get("width") or 0)
    assert width >= text_width("marketing-site") + text_width("success") + 20
    assert root.get("viewBox") == f"0 0 {width} 20"


def test_badge_escapes_hostile_label() -> None:
    label = '<script>alert(1)</script>"&\x00'
    svg = render_badge(label, "failure")
    root = parse(svg)
    assert texts(root)[0] == '<script>alert(1)</script>"&'
    assert "<script>" not in svg
    assert root.find(f".//{SVG}script") is None


def test_badge_with_unknown_status_word() -> None:
    root = parse(render_badge("status", "not found"))
    assert texts(root)[2] == "not found"
    assert COLOURS["not found"] in [rect.get("fill") for rect in root.iter(f"{SVG}rect")]
