"""Helpers for tests of the Cloudflare Pages stand-in: a movable clock, an HTTP helper and fixture files.

Imported explicitly by the sandbox test modules; the fixtures they need are defined in those modules.
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

import requests

from sandbox.cloudflare_pages import SANDBOX_ACCOUNT_ID, SANDBOX_API_KEY, SANDBOX_API_TOKEN, SANDBOX_EMAIL
from sandbox.cloudflare_pages.server import PagesSandbox

FIXTURES: Final = Path(__file__).resolve().parent.parent / "fixtures" / "cloudflare"
START: Final = datetime(2026, 3, 2, 12, 0, 0, tzinfo=UTC)
BEARER: Final = {"Authorization": f"Bearer {SANDBOX_API_TOKEN}"}
GLOBAL_KEY: Final = {"X-Auth-Email": SANDBOX_EMAIL, "X-Auth-Key": SANDBOX_API_KEY}
TIMEOUT: Final = 5.0


def load_fixture(name: str) -> Any:
    """Load a response body from tests/fixtures/cloudflare, where SOURCES.txt gives the source of each."""
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


class FakeClock:
    """A clock that stays at one time until a test moves it. Thread-safe, since handler threads read it."""

    def __init__(self, start: datetime = START) -> None:
        self._now = start
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += timedelta(seconds=seconds)


class PagesHttp:
    """Sends requests to a sandbox's project routes with the sandbox's API token (or given headers)."""

    def __init__(self, sandbox: PagesSandbox) -> None:
        self.sandbox = sandbox
        self.session = requests.Session()

    def __enter__(self) -> PagesHttp:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def projects_url(self) -> str:
        return f"{self.sandbox.base_url}/accounts/{SANDBOX_ACCOUNT_ID}/pages/projects"

    def request(
        self, method: str, path: str = "", *, headers: dict[str, str] | None = None, **options: Any
    ) -> requests.Response:
        """Send `method` to the projects URL plus `path`; `headers=None` means the Bearer token."""
        return self.session.request(
            method,
            self.projects_url + path,
            headers=BEARER if headers is None else headers,
            timeout=options.pop("timeout", TIMEOUT),
            **options,
        )

    def get(self, path: str = "", **options: Any) -> requests.Response:
        return self.request("GET", path, **options)

    def post(self, path: str = "", **options: Any) -> requests.Response:
        return self.request("POST", path, **options)

    def delete(self, path: str = "", **options: Any) -> requests.Response:
        return self.request("DELETE", path, **options)

    def result(self, path: str = "", **options: Any) -> Any:
        """GET `path`, check it succeeded, and return the envelope's `result`."""
        response = self.get(path, **options)
        assert response.status_code == 200, response.text
        return response.json()["result"]

    def close(self) -> None:
        self.session.close()
