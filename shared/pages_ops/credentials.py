"""Cloudflare credentials: the secret's format, and reading it from AWS Secrets Manager with a cache.

The secret is a JSON object with either `api_token`, or `email` and `api_key` (the Global API Key pair), and
optionally `deploy_hooks` ({project: URL}) and `status_page_users` ({user: password}). Parse errors name the
key that is missing or wrong and never include a value.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from pages_ops.errors import SecretError

logger = logging.getLogger(__name__)

# Powertools keeps a fetched secret this long. A rotated token is picked up sooner than that, because an
# authentication failure makes the client fetch the secret again (see `SecretSource.refresh`).
SECRET_CACHE_SECONDS: Final = 300
# After a forced fetch brought back the credentials Cloudflare rejected, another one within this time would
# bring them back again. A token that lacks a permission is rejected with 403 on every such call, and each
# rejection would otherwise read Secrets Manager once more.
REFETCH_INTERVAL_SECONDS: Final = 30.0


@dataclass(frozen=True, slots=True)
class Credentials:
    """One of Cloudflare's two authentication forms, turned into request headers by `headers()`."""

    api_token: str | None = field(default=None, repr=False)
    email: str | None = field(default=None, repr=False)
    api_key: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        token_form = self.api_token is not None
        key_form = self.email is not None or self.api_key is not None
        if token_form == key_form or (key_form and (self.email is None or self.api_key is None)):
            raise SecretError("credentials need either api_token, or both email and api_key")

    @property
    def kind(self) -> str:
        """`api_token` or `global_api_key`, safe to log."""
        return "api_token" if self.api_token is not None else "global_api_key"

    def headers(self) -> dict[str, str]:
        if self.api_token is not None:
            return {"Authorization": f"Bearer {self.api_token}"}
        # __post_init__ guarantees both are set when there is no token.
        return {"X-Auth-Email": self.email or "", "X-Auth-Key": self.api_key or ""}


@dataclass(frozen=True, slots=True)
class SecretDocument:
    """The parsed secret: credentials, optional deploy hooks and optional status page users."""

    credentials: Credentials
    deploy_hooks: Mapping[str, str] = field(default_factory=dict, repr=False)
    status_page_users: Mapping[str, str] = field(default_factory=dict, repr=False)


def parse_secret(text: str | bytes, *, secret_id: str) -> SecretDocument:
    """Parse the secret's JSON text. Raise `SecretError` naming the problem, never a value."""
    try:
        document = json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        # The decoder's message gives only a position, never the text around it.
        raise SecretError(f"secret {secret_id} is not valid JSON ({type(exc).__name__})") from exc
    if not isinstance(document, dict):
        raise SecretError(f"secret {secret_id} must be a JSON object, got a JSON {type(document).__name__}")

    has_token = "api_token" in document
    has_key_pair = "email" in document or "api_key" in document
    if has_token and has_key_pair:
        raise SecretError(
            f"secret {secret_id} has both api_token and email/api_key: keep exactly one credential form"
        )
    if has_token:
        credentials = Credentials(api_token=_string(document, "api_token", secret_id))
    elif has_key_pair:
        credentials = Credentials(
            email=_string(document, "email", secret_id), api_key=_string(document, "api_key", secret_id)
        )
    else:
        raise SecretError(
            f"secret {secret_id} has no credentials: add api_token, or email and api_key (Global API Key)"
        )

    return SecretDocument(
        credentials=credentials,
        deploy_hooks=_string_map(document, "deploy_hooks", secret_id),
        status_page_users=_string_map(document, "status_page_users", secret_id),
    )


def _string(document: Mapping[str, Any], key: str, secret_id: str) -> str:
    if key not in document:
        raise SecretError(f"secret {secret_id} is missing the key {key!r}")
    value = document[key]
    if not isinstance(value, str) or not value.strip():
        raise SecretError(f"secret {secret_id}: {key!r} must be a non-empty string")
    if value != value.strip() or any(ord(char) < 0x20 for char in value):
        # A stray newline from copy and paste would otherwise fail as a confusing header error.
        raise SecretError(
            f"secret {secret_id}: {key!r} has white space at its ends or control characters in it"
        )
    return value


def _string_map(document: Mapping[str, Any], key: str, secret_id: str) -> dict[str, str]:
    value = document.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise SecretError(f"secret {secret_id}: {key!r} must be a JSON object of strings")
    for name, item in value.items():
        if not isinstance(item, str) or not item:
            raise SecretError(f"secret {secret_id}: {key}[{name!r}] must be a non-empty string")
    return dict(value)


SecretFetcher = Callable[[str, bool], str | bytes]
"""Fetch a secret's text by id. When the flag is True, the fetch bypasses any cache."""


def fetch_with_powertools(secret_id: str, force_fetch: bool) -> str | bytes:
    """Read the secret through Powertools parameters, which caches it for `SECRET_CACHE_SECONDS`."""
    # Imported here because Powertools parameters pulls in boto3, which the cold start pays for only once
    # the secret is actually needed.
    from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError  # noqa: PLC0415

    from pages_ops import aws  # noqa: PLC0415

    try:
        value = aws.secrets_provider().get(secret_id, max_age=SECRET_CACHE_SECONDS, force_fetch=force_fetch)
    except GetParameterError as exc:
        # Powertools' message carries the AWS error (not found, access denied), never the secret value.
        raise SecretError(f"could not read secret {secret_id} from Secrets Manager: {exc}") from exc
    if not isinstance(value, str | bytes):
        raise SecretError(f"secret {secret_id} has no SecretString or SecretBinary value")
    return value


class SecretSource:
    """The current secret, fetched lazily through the fetcher's cache and refreshed after a rejection.

    Thread-safe: when several requests fail authentication at once and the first refresh brings new
    credentials, the others reuse them without fetching again.
    """

    def __init__(
        self,
        secret_id: str,
        fetcher: SecretFetcher = fetch_with_powertools,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.secret_id = secret_id
        self._fetch = fetcher
        self._clock = clock
        self._lock = threading.Lock()
        self._document: SecretDocument | None = None
        self._text: str | bytes | None = None
        # The clock's time of the last forced fetch that returned credentials Cloudflare had just rejected.
        self._rejected_again_at: float | None = None

    def get(self) -> SecretDocument:
        """Return the secret, parsing it again only when its text changed.

        Every call goes through the fetcher, whose cache (Powertools', `SECRET_CACHE_SECONDS`) decides when
        Secrets Manager is read again. A changed secret (a new status page password, a removed user) thus
        takes effect within that time even when no request failed authentication.
        """
        with self._lock:
            return self._load(force_fetch=False)

    def credentials(self) -> Credentials:
        return self.get().credentials

    def refresh(self, rejected: Credentials) -> Credentials:
        """Fetch the secret again, bypassing the cache, after Cloudflare rejected `rejected`.

        Returns the credentials to try next. When another thread already replaced `rejected`, its result is
        returned without another fetch. When a forced fetch in the last REFETCH_INTERVAL_SECONDS brought
        back `rejected`, `rejected` is returned without a fetch, and the caller gives up.
        """
        with self._lock:
            if self._document is not None and self._document.credentials != rejected:
                return self._document.credentials
            if (
                self._rejected_again_at is not None
                and self._clock() - self._rejected_again_at < REFETCH_INTERVAL_SECONDS
            ):
                return rejected
            logger.info("Cloudflare rejected the credentials; fetching secret %s again", self.secret_id)
            current = self._load(force_fetch=True).credentials
            self._rejected_again_at = self._clock() if current == rejected else None
            return current

    def _load(self, *, force_fetch: bool) -> SecretDocument:
        text = self._fetch(self.secret_id, force_fetch)
        if self._document is None or text != self._text:
            self._document = parse_secret(text, secret_id=self.secret_id)
            self._text = text
        return self._document


class StaticCredentials:
    """A credentials provider for fixed credentials (tests, the local runner). Refreshing changes nothing."""

    def __init__(self, credentials: Credentials) -> None:
        self._credentials = credentials

    def credentials(self) -> Credentials:
        return self._credentials

    def refresh(self, rejected: Credentials) -> Credentials:
        return self._credentials
