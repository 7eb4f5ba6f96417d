"""Optional HTTP Basic authentication (RFC 7617) against the secret's `status_page_users`.

Both the user name and the password are compared, for every configured user, as SHA-256 digests with
`hmac.compare_digest`. Digests have a fixed length and every entry is checked on every request, so the
time taken does not reveal whether a user exists or how much of a password matched.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping
from typing import Final

REALM: Final = "cf-pages-ops"
CHALLENGE: Final = f'Basic realm="{REALM}", charset="UTF-8"'
# Longer Authorization headers are rejected before decoding; no sane user name and password need more.
MAX_HEADER_CHARS: Final = 4096


def parse_basic(header: str | None) -> tuple[str, str] | None:
    """Return the (user, password) of a Basic Authorization header, or None when it is absent or malformed."""
    if not header or len(header) > MAX_HEADER_CHARS:
        return None
    scheme, _, encoded = header.strip().partition(" ")
    if scheme.lower() != "basic" or not encoded.strip():
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        # ValueError covers UnicodeDecodeError: RFC 7617 with charset="UTF-8" requires UTF-8.
        return None
    user, separator, password = decoded.partition(":")
    if not separator:
        return None
    return user, password


def _digest(value: str) -> bytes:
    return hashlib.sha256(value.encode("utf-8")).digest()


class BasicAuth:
    """Checks Authorization headers against a fixed set of users."""

    def __init__(self, users: Mapping[str, str]) -> None:
        if not users:
            raise ValueError("BasicAuth needs at least one user")
        self._users = tuple((_digest(user), _digest(password)) for user, password in users.items())

    def check(self, header: str | None) -> bool:
        """True when `header` carries the credentials of a configured user. Never raises."""
        credentials = parse_basic(header)
        if credentials is None:
            return False
        user_digest = _digest(credentials[0])
        password_digest = _digest(credentials[1])
        matched = False
        for expected_user, expected_password in self._users:
            user_ok = hmac.compare_digest(user_digest, expected_user)
            password_ok = hmac.compare_digest(password_digest, expected_password)
            # `&` and `|` rather than `and`/`or`: no short circuit, so every entry costs the same.
            matched |= user_ok & password_ok
        return matched
