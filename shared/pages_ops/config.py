"""Environment variables of the three functions, parsed once into a frozen `Settings` object.

Every variable name the product reads is defined here. `Settings.from_env()` runs at cold start, so a missing
or invalid value fails the first invocation with a `ConfigError` that names the variable and the value,
instead of failing later in the middle of a run.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlsplit

from pages_ops.errors import ConfigError

# Common to all functions.
CLOUDFLARE_ACCOUNT_ID: Final = "CLOUDFLARE_ACCOUNT_ID"
CLOUDFLARE_SECRET_ID: Final = "CLOUDFLARE_SECRET_ID"  # noqa: S105 - a variable name, not a secret
CLOUDFLARE_API_BASE_URL: Final = "CLOUDFLARE_API_BASE_URL"
PAGES_PROJECTS: Final = "PAGES_PROJECTS"
CLOUDFLARE_RATE_LIMIT_PER_MINUTE: Final = "CLOUDFLARE_RATE_LIMIT_PER_MINUTE"
# Build trigger.
TRIGGER_BRANCH: Final = "TRIGGER_BRANCH"
SKIP_IF_BUILDING: Final = "SKIP_IF_BUILDING"
IDEMPOTENCY_TABLE: Final = "IDEMPOTENCY_TABLE"
# Pruner.
RETENTION_DAYS: Final = "RETENTION_DAYS"
KEEP_LATEST: Final = "KEEP_LATEST"
DELETE_ALIASED: Final = "DELETE_ALIASED"
DRY_RUN: Final = "DRY_RUN"
MAX_DELETES_PER_RUN: Final = "MAX_DELETES_PER_RUN"
PRUNE_CONCURRENCY: Final = "PRUNE_CONCURRENCY"
# Status page.
STATUS_CACHE_SECONDS: Final = "STATUS_CACHE_SECONDS"

DEFAULT_API_BASE_URL: Final = "https://api.cloudflare.com/client/v4"
# Cloudflare allows 1,200 requests per 5 minutes (240 a minute) per user, shared with the dashboard and every
# other tool on the account. The default takes half of that budget, and more than all of it is rejected.
DEFAULT_RATE_LIMIT_PER_MINUTE: Final = 120.0
MAX_RATE_LIMIT_PER_MINUTE: Final = 240.0
# At the default rate of 2 requests a second, 300 deletions take about 150 s, well inside the pruner's 300 s
# Lambda timeout together with a listing of a few thousand deployments.
DEFAULT_MAX_DELETES_PER_RUN: Final = 300
DEFAULT_PRUNE_CONCURRENCY: Final = 4
MAX_PRUNE_CONCURRENCY: Final = 16

ACCOUNT_ID_PATTERN: Final = re.compile(r"^[0-9a-f]{32}$")
PROJECT_NAME_PATTERN: Final = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
# Git allows almost anything in a branch name, so only what could break a multipart field or a log line is
# rejected: control characters (C0, DEL and C1) and white space at either end. At most 255 characters.
BRANCH_PATTERN: Final = re.compile(r"^(?!\s)[^\x00-\x1f\x7f-\x9f]{1,255}(?<!\s)$")
LOOPBACK_HOSTS: Final = frozenset({"127.0.0.1", "localhost", "::1"})

_INTEGER_PATTERN: Final = re.compile(r"^[+-]?[0-9]+$")
_DECIMAL_PATTERN: Final = re.compile(r"^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)$")
_TRUE_WORDS: Final = frozenset({"true", "1", "yes"})
_FALSE_WORDS: Final = frozenset({"false", "0", "no"})


@dataclass(frozen=True, slots=True)
class Settings:
    """Configuration of one function instance, read from the environment at cold start."""

    account_id: str
    secret_id: str
    projects: tuple[str, ...]
    api_base_url: str = DEFAULT_API_BASE_URL
    rate_limit_per_minute: float = DEFAULT_RATE_LIMIT_PER_MINUTE
    trigger_branch: str | None = None
    skip_if_building: bool = True
    idempotency_table: str | None = None
    retention_days: int = 7
    keep_latest: int = 3
    delete_aliased: bool = False
    dry_run: bool = False
    max_deletes_per_run: int = DEFAULT_MAX_DELETES_PER_RUN
    prune_concurrency: int = DEFAULT_PRUNE_CONCURRENCY
    status_cache_seconds: int = 30

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Parse the environment (by default `os.environ`) and raise `ConfigError` on the first bad value."""
        env = os.environ if environ is None else environ
        return cls(
            account_id=_account_id(env),
            secret_id=_required(env, CLOUDFLARE_SECRET_ID),
            projects=parse_project_list(_required(env, PAGES_PROJECTS), variable=PAGES_PROJECTS),
            api_base_url=_base_url(env),
            rate_limit_per_minute=_number(
                env,
                CLOUDFLARE_RATE_LIMIT_PER_MINUTE,
                DEFAULT_RATE_LIMIT_PER_MINUTE,
                0.1,
                MAX_RATE_LIMIT_PER_MINUTE,
            ),
            trigger_branch=_branch(env),
            skip_if_building=_boolean(env, SKIP_IF_BUILDING, default=True),
            idempotency_table=_optional(env, IDEMPOTENCY_TABLE),
            retention_days=_integer(env, RETENTION_DAYS, 7, minimum=0, maximum=3650),
            keep_latest=_integer(env, KEEP_LATEST, 3, minimum=0, maximum=1000),
            delete_aliased=_boolean(env, DELETE_ALIASED, default=False),
            dry_run=_boolean(env, DRY_RUN, default=False),
            max_deletes_per_run=_integer(
                env, MAX_DELETES_PER_RUN, DEFAULT_MAX_DELETES_PER_RUN, minimum=1, maximum=100_000
            ),
            prune_concurrency=_integer(
                env, PRUNE_CONCURRENCY, DEFAULT_PRUNE_CONCURRENCY, minimum=1, maximum=MAX_PRUNE_CONCURRENCY
            ),
            status_cache_seconds=_integer(env, STATUS_CACHE_SECONDS, 30, minimum=0, maximum=86_400),
        )

    def manages(self, project: str) -> bool:
        """Tell whether `project` is one of the PAGES_PROJECTS this stack may touch or show."""
        return project in self.projects


def parse_boolean(value: str, *, variable: str) -> bool:
    """Parse a boolean setting: true/false, 1/0 or yes/no, in any case."""
    word = value.strip().lower()
    if word in _TRUE_WORDS:
        return True
    if word in _FALSE_WORDS:
        return False
    raise ConfigError(f"{variable} must be one of true, false, 1, 0, yes, no (any case), got {value!r}")


def parse_project_list(value: str, *, variable: str) -> tuple[str, ...]:
    """Split a comma-separated list of Pages project names, validating each and dropping duplicates."""
    names: list[str] = []
    for raw in value.split(","):
        name = raw.strip()
        if not name:
            continue
        if not PROJECT_NAME_PATTERN.fullmatch(name):
            raise ConfigError(
                f"{variable} contains an invalid Pages project name {name!r}: names are lower-case letters, "
                "digits and hyphens, starting with a letter or digit"
            )
        if name not in names:
            names.append(name)
    if not names:
        raise ConfigError(f"{variable} must name at least one Pages project, got {value!r}")
    return tuple(names)


def _required(env: Mapping[str, str], variable: str) -> str:
    value = env.get(variable, "").strip()
    if not value:
        raise ConfigError(f"{variable} is required but is missing or empty")
    return value


def _optional(env: Mapping[str, str], variable: str) -> str | None:
    return env.get(variable, "").strip() or None


def _account_id(env: Mapping[str, str]) -> str:
    value = _required(env, CLOUDFLARE_ACCOUNT_ID)
    if not ACCOUNT_ID_PATTERN.fullmatch(value):
        raise ConfigError(
            f"{CLOUDFLARE_ACCOUNT_ID} must be the 32-character lower-case hex account id, got {value!r}"
        )
    return value


def _base_url(env: Mapping[str, str]) -> str:
    value = _optional(env, CLOUDFLARE_API_BASE_URL) or DEFAULT_API_BASE_URL
    parts = urlsplit(value)
    if parts.username is not None or parts.password is not None:
        # requests would replace the API token with Basic auth from the URL. The value is not shown
        # because it contains a password.
        raise ConfigError(
            f"{CLOUDFLARE_API_BASE_URL} must not contain a user name or password: remove the part before '@'"
        )
    # Plain HTTP would send the API token in clear text, so it is allowed only to a local stand-in.
    secure = parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS)
    if not secure or not parts.hostname or parts.query or parts.fragment:
        raise ConfigError(
            f"{CLOUDFLARE_API_BASE_URL} must be an https URL without query or fragment "
            f"(http only on 127.0.0.1, localhost or ::1), got {value!r}"
        )
    return value.rstrip("/")


def _branch(env: Mapping[str, str]) -> str | None:
    value = env.get(TRIGGER_BRANCH, "")
    if not value.strip():
        return None
    if not BRANCH_PATTERN.fullmatch(value):
        raise ConfigError(
            f"{TRIGGER_BRANCH} must be a git branch name without control characters or surrounding "
            f"white space, got {value!r}"
        )
    return value


def _boolean(env: Mapping[str, str], variable: str, *, default: bool) -> bool:
    value = env.get(variable, "")
    if not value.strip():
        return default
    return parse_boolean(value, variable=variable)


def _integer(env: Mapping[str, str], variable: str, default: int, *, minimum: int, maximum: int) -> int:
    value = env.get(variable, "").strip()
    if not value:
        return default
    # int() would also accept "1_000" and non-ASCII digits.
    if not _INTEGER_PATTERN.fullmatch(value):
        raise ConfigError(f"{variable} must be a whole number, got {value!r}")
    number = int(value, 10)
    if not minimum <= number <= maximum:
        raise ConfigError(f"{variable} must be between {minimum} and {maximum}, got {value!r}")
    return number


def _number(env: Mapping[str, str], variable: str, default: float, minimum: float, maximum: float) -> float:
    value = env.get(variable, "").strip()
    if not value:
        return default
    # float() would also accept "1_0", "inf" and non-ASCII digits.
    if not _DECIMAL_PATTERN.fullmatch(value):
        raise ConfigError(f"{variable} must be a number, got {value!r}")
    number = float(value)
    if not minimum <= number <= maximum:  # also rejects nan
        raise ConfigError(f"{variable} must be between {minimum:g} and {maximum:g}, got {value!r}")
    return number
