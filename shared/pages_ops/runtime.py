"""Objects a Lambda container builds once and reuses across warm invocations.

Handlers call these instead of constructing clients per invocation: the HTTP connection pool, the rate
limiter and the secret cache then survive between invocations. Tests inject their own objects with
`override()` and undo it with `reset()`.
"""

from __future__ import annotations

import threading

from pages_ops import aws
from pages_ops.client import PagesClient
from pages_ops.config import Settings
from pages_ops.credentials import SecretSource
from pages_ops.timing import RetryPolicy

_lock = threading.Lock()
_settings: Settings | None = None
_secrets: SecretSource | None = None
_clients: dict[bool, PagesClient] = {}


def settings() -> Settings:
    """Return the settings, parsed from the environment on first use."""
    global _settings  # noqa: PLW0603 - one per container, by design
    with _lock:
        if _settings is None:
            _settings = Settings.from_env()
        return _settings


def secrets() -> SecretSource:
    """Return the source of the secret named by CLOUDFLARE_SECRET_ID, created on first use."""
    global _secrets  # noqa: PLW0603 - one per container, by design
    current = settings()
    with _lock:
        if _secrets is None:
            _secrets = SecretSource(current.secret_id)
        return _secrets


def client(*, retry_rate_limited: bool = True, rate_burst: int = 1) -> PagesClient:
    """Return the container's API client, created on first use.

    `retry_rate_limited=False` gives a client that raises on the first 429.

    `rate_burst` requests may start at once after an idle spell (the status page fetches several projects in
    parallel). All clients of a container share one rate limiter, so only the first client's value counts.
    """
    current = settings()
    source = secrets()
    with _lock:
        existing = _clients.get(retry_rate_limited)
        if existing is None:
            if _clients:
                # Share the rate limiter so both clients together stay under the configured ceiling.
                sibling = next(iter(_clients.values()))
                existing = PagesClient(
                    current.account_id,
                    source,
                    base_url=current.api_base_url,
                    rate_limiter=sibling.transport.rate_limiter,
                    retry=RetryPolicy(retry_rate_limited=retry_rate_limited),
                    session=sibling.transport.session,
                )
            else:
                existing = PagesClient.from_settings(
                    current,
                    source,
                    retry=RetryPolicy(retry_rate_limited=retry_rate_limited),
                    rate_burst=rate_burst,
                )
            _clients[retry_rate_limited] = existing
        return existing


def override(
    *,
    settings_value: Settings | None = None,
    secrets_value: SecretSource | None = None,
    clients: dict[bool, PagesClient] | None = None,
) -> None:
    """Replace the container's objects, for tests and the local runner."""
    global _settings, _secrets  # noqa: PLW0603 - test seam for the module-level singletons
    with _lock:
        if settings_value is not None:
            _settings = settings_value
        if secrets_value is not None:
            _secrets = secrets_value
        if clients is not None:
            _clients.clear()
            _clients.update(clients)


def reset() -> None:
    """Forget every cached object, as a fresh container would, including the AWS session and its secrets."""
    global _settings, _secrets  # noqa: PLW0603 - test seam for the module-level singletons
    with _lock:
        _settings = None
        _secrets = None
        _clients.clear()
    aws.reset()
