"""Unit tests for pages_ops.status.auth: parsing Basic credentials and checking them in constant time."""

from __future__ import annotations

import base64
import hmac

import pytest

from pages_ops.status import auth
from pages_ops.status.auth import BasicAuth, parse_basic

USERS = {"alice": "correct horse battery staple", "bob": "hunter2:with:colons"}


def basic(credentials: str | bytes) -> str:
    raw = credentials.encode("utf-8") if isinstance(credentials, str) else credentials
    return "Basic " + base64.b64encode(raw).decode("ascii")


def test_parse_basic_returns_user_and_password() -> None:
    assert parse_basic(basic("alice:secret")) == ("alice", "secret")


def test_parse_basic_keeps_colons_in_password() -> None:
    assert parse_basic(basic("bob:a:b:c")) == ("bob", "a:b:c")


def test_parse_basic_accepts_any_scheme_case_and_utf8() -> None:
    assert parse_basic("bAsIc " + basic("j\u00fcrgen:p\u00e4ss")[6:]) == ("j\u00fcrgen", "p\u00e4ss")


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "Basic",
        "Basic ",
        "Bearer abc.def",
        "Basic not base64!!",
        "Basic " + base64.b64encode(b"no-colon").decode(),
        "Basic " + base64.b64encode(b"\xff\xfe:\xff").decode(),
        "Basic " + "A" * 5000,
        "Digest username=alice",
    ],
)
def test_parse_basic_rejects_malformed_headers(header: str | None) -> None:
    assert parse_basic(header) is None


def test_check_accepts_each_configured_user() -> None:
    checker = BasicAuth(USERS)
    assert checker.check(basic("alice:correct horse battery staple")) is True
    assert checker.check(basic("bob:hunter2:with:colons")) is True


@pytest.mark.parametrize(
    "credentials",
    [
        "alice:wrong",
        "alice:",
        "ALICE:correct horse battery staple",
        "mallory:correct horse battery staple",
        "bob:correct horse battery staple",
        ":",
    ],
)
def test_check_rejects_wrong_credentials(credentials: str) -> None:
    assert BasicAuth(USERS).check(basic(credentials)) is False


def test_check_rejects_malformed_header_without_raising() -> None:
    checker = BasicAuth(USERS)
    assert checker.check("Basic %%%") is False
    assert checker.check(None) is False


def test_check_same_work_for_unknown_user(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[int, int]] = []
    real_compare = hmac.compare_digest

    def counting_compare(left: bytes, right: bytes) -> bool:
        calls.append((len(left), len(right)))
        return real_compare(left, right)

    monkeypatch.setattr(hmac, "compare_digest", counting_compare)
    checker = BasicAuth(USERS)

    checker.check(basic("alice:correct horse battery staple"))
    known = list(calls)
    calls.clear()
    checker.check(basic("nobody-by-this-name:x"))
    unknown = list(calls)

    # Two fixed-length digest comparisons per configured user, for any user name.
    assert known == [(32, 32)] * 4
    assert unknown == known


def test_basic_auth_needs_users() -> None:
    with pytest.raises(ValueError, match="at least one user"):
        BasicAuth({})


def test_challenge_header_value() -> None:
    assert auth.CHALLENGE == 'Basic realm="cf-pages-ops", charset="UTF-8"'
