"""Turn API values into text and links that are safe to show to anyone.

Anyone who can push to a repository writes commit messages, branch names and even URLs, so every value is
treated as hostile: control and bidirectional-override characters are removed, long text is truncated, and
only absolute `http`/`https` URLs ever become links. Escaping for HTML or SVG happens in the renderers; the
functions here decide what is shown.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Final
from urllib.parse import urlsplit

# C0 and C1 control characters, and the invisible characters that can reorder or hide text (bidirectional
# overrides and isolates, zero-width characters, the byte order mark).
_INVISIBLE: Final = re.compile(
    "[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]",
)
_WHITE_SPACE: Final = re.compile(r"\s+")
_HEX: Final = re.compile(r"^[0-9a-fA-F]{7,64}$")
# A DNS host name: dot-separated labels of letters, digits and inner hyphens (punycode included).
_HOST_NAME: Final = re.compile(
    r"^(?=.{1,253}$)(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$"
)
_URL_FORBIDDEN: Final = re.compile(r"[\s\x00-\x1f\x7f-\x9f\"'<>\\`]")
MAX_URL_CHARS: Final = 2048
ELLIPSIS: Final = "\u2026"

# Labels for each value of `Deployment.status`, plus `none` for a project without deployments.
STATUS_LABELS: Final = {
    "success": "Success",
    "failure": "Failed",
    "canceled": "Canceled",
    "skipped": "Skipped",
    "building": "Building",
    "queued": "Queued",
    "unknown": "Unknown",
    "none": "No deployments",
}
STAGE_NOUNS: Final = {
    "queued": "queue",
    "initialize": "initialization",
    "clone_repo": "repository clone",
    "build": "build",
    "deploy": "deploy",
}
STAGE_LABELS: Final = {
    "queued": "Queued",
    "initialize": "Initializing",
    "clone_repo": "Cloning repository",
    "build": "Building",
    "deploy": "Deploying",
}


def clean_text(value: str | None, *, max_chars: int) -> str:
    """Return `value` on one line, without invisible characters, cut to `max_chars` with an ellipsis."""
    if not value:
        return ""
    text = _INVISIBLE.sub(" ", value)
    text = _WHITE_SPACE.sub(" ", text).strip()
    if len(text) > max_chars:
        text = text[: max_chars - 1].rstrip() + ELLIPSIS
    return text


def first_line(message: str | None) -> str:
    """Return the subject line of a commit message (the text before the first line break)."""
    stripped = (message or "").strip()
    return stripped.splitlines()[0] if stripped else ""


def http_url(value: str | None) -> str | None:
    """Return `value` when it is an absolute http or https URL that is safe to use as a link, else None.

    Anything else (`javascript:`, `data:`, relative or protocol-relative URLs, URLs with spaces, quotes or
    control characters) is shown as text instead, never as a link.
    """
    if not value or len(value) > MAX_URL_CHARS or _URL_FORBIDDEN.search(value):
        return None
    try:
        parts = urlsplit(value)
        hostname = parts.hostname
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not hostname or parts.username or parts.password:
        return None
    return value


def host_url(domain: str | None) -> str | None:
    """Return `https://<domain>` for a valid DNS host name, else None (the value is then shown as text)."""
    if not domain or not _HOST_NAME.fullmatch(domain):
        return None
    return f"https://{domain.lower()}"


def short_hash(commit_hash: str | None) -> str:
    """Shorten a hex commit hash to 7 characters; other values are cleaned and cut short."""
    if not commit_hash:
        return ""
    if _HEX.fullmatch(commit_hash):
        return commit_hash[:7].lower()
    return clean_text(commit_hash, max_chars=12)


def relative_time(when: datetime | None, now: datetime) -> str:
    """Describe `when` relative to `now` for people, e.g. `3 hours ago`."""
    if when is None:
        return "at an unknown time"
    seconds = (now - when).total_seconds()
    if seconds < 10:
        # A few seconds in the future is clock skew between Cloudflare and this function.
        return "just now"
    return f"{duration_text(seconds)} ago"


def duration_text(seconds: float) -> str:
    """Express `seconds` in the largest fitting unit: `45 seconds`, `1 minute`, `3 hours`, `2 days`."""
    units = ((365 * 86_400, "year"), (30 * 86_400, "month"), (86_400, "day"), (3_600, "hour"), (60, "minute"))
    for size, name in units:
        if seconds >= size:
            count = int(seconds // size)
            return f"{count} {name}" if count == 1 else f"{count} {name}s"
    count = max(0, int(seconds))
    return f"{count} second" if count == 1 else f"{count} seconds"


def utc_iso(when: datetime) -> str:
    """RFC 3339 UTC timestamp with seconds, e.g. `2024-05-01T12:00:00Z` (for `<time datetime>`)."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def utc_text(when: datetime) -> str:
    """Format the exact UTC time for people, e.g. `2024-05-01 12:00:00 UTC`."""
    return when.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def status_label(status: str) -> str:
    return STATUS_LABELS.get(status, "Unknown")


def stage_noun(stage_name: str) -> str:
    """Name the step a stage runs, as a noun for "failed at ...": `build`, `deploy`, `repository clone`."""
    return STAGE_NOUNS.get(stage_name) or clean_text(stage_name, max_chars=24)


def stage_label(stage_name: str | None) -> str:
    if not stage_name:
        return ""
    return STAGE_LABELS.get(stage_name) or clean_text(stage_name, max_chars=24)
