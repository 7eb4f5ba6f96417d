"""Unit tests for pages_ops.status.display: cleaning hostile text, choosing links, describing times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from pages_ops.status import display

NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)


def test_clean_text_removes_control_and_bidi_characters() -> None:
    value = "fix\x00 the\x1b[31m build\u202e\u2066 now\ufeff\u200b"
    assert display.clean_text(value, max_chars=100) == "fix the [31m build now"


def test_clean_text_joins_lines_and_collapses_white_space() -> None:
    assert display.clean_text("  first line\n\nsecond\tline  ", max_chars=100) == "first line second line"


def test_clean_text_truncates_with_ellipsis() -> None:
    cleaned = display.clean_text("a" * 500, max_chars=20)
    assert len(cleaned) == 20
    assert cleaned.endswith("\u2026")


def test_clean_text_keeps_markup_characters_for_the_escaper() -> None:
    # Escaping is the renderer's job; cleaning must not half-escape or drop markup characters.
    assert display.clean_text('<b>"x"</b> & y', max_chars=100) == '<b>"x"</b> & y'


def test_clean_text_of_none_is_empty() -> None:
    assert display.clean_text(None, max_chars=10) == ""


def test_first_line_of_commit_message() -> None:
    assert display.first_line("feat: add search\n\nLong body text") == "feat: add search"
    assert display.first_line("   ") == ""
    assert display.first_line(None) == ""


@pytest.mark.parametrize(
    "value",
    [
        "https://abc123.docs.pages.dev",
        "http://localhost:8080/path?x=1",
        "https://feature-x.docs.pages.dev/",
    ],
)
def test_http_url_accepts_http_and_https(value: str) -> None:
    assert display.http_url(value) == value


@pytest.mark.parametrize(
    "value",
    [
        "javascript:alert(1)",
        "JAVASCRIPT:alert(1)",
        " javascript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "vbscript:msgbox(1)",
        "//evil.example/path",
        "/relative/path",
        "https://",
        'https://x.example/"onmouseover="alert(1)',
        "https://x.example/<script>",
        "https://x.example/a b",
        "https://x.example/\nnext",
        "https://user:secret@x.example/",
        "https://[::1",
        "",
        None,
        "https://x.example/" + "a" * 3000,
    ],
)
def test_http_url_rejects_everything_else(value: str | None) -> None:
    assert display.http_url(value) is None


@pytest.mark.parametrize(
    ("domain", "expected"),
    [
        ("docs.example.com", "https://docs.example.com"),
        ("Docs-abc.Pages.dev", "https://docs-abc.pages.dev"),
        ("xn--bcher-kva.example", "https://xn--bcher-kva.example"),
    ],
)
def test_host_url_links_valid_host_names(domain: str, expected: str) -> None:
    assert display.host_url(domain) == expected


@pytest.mark.parametrize(
    "domain",
    ["javascript:alert(1)", '"><b>x</b>', "localhost", "-bad.example", "a..b", "exa mple.com", "", None],
)
def test_host_url_rejects_non_host_names(domain: str | None) -> None:
    assert display.host_url(domain) is None


@pytest.mark.parametrize(
    ("delta", "expected"),
    [
        (timedelta(seconds=3), "just now"),
        (timedelta(seconds=-30), "just now"),
        (timedelta(seconds=45), "45 seconds ago"),
        (timedelta(minutes=1, seconds=5), "1 minute ago"),
        (timedelta(hours=3, minutes=59), "3 hours ago"),
        (timedelta(days=1), "1 day ago"),
        (timedelta(days=45), "1 month ago"),
        (timedelta(days=800), "2 years ago"),
    ],
)
def test_relative_time(delta: timedelta, expected: str) -> None:
    assert display.relative_time(NOW - delta, NOW) == expected


def test_relative_time_unknown() -> None:
    assert display.relative_time(None, NOW) == "at an unknown time"


def test_utc_formats() -> None:
    when = datetime(2024, 5, 1, 14, 30, 5, 999, tzinfo=UTC)
    assert display.utc_iso(when) == "2024-05-01T14:30:05Z"
    assert display.utc_text(when) == "2024-05-01 14:30:05 UTC"


def test_short_hash() -> None:
    assert display.short_hash("ABCDEF0123456789abcdef0123456789abcdef01") == "abcdef0"
    assert display.short_hash("mock-github-sha") == "mock-github\u2026"
    assert display.short_hash(None) == ""


def test_status_and_stage_labels() -> None:
    assert display.status_label("failure") == "Failed"
    assert display.status_label("made-up") == "Unknown"
    assert display.stage_label("clone_repo") == "Cloning repository"
    assert display.stage_noun("clone_repo") == "repository clone"
    assert display.stage_noun("brand_new_stage") == "brand_new_stage"
