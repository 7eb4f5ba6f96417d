"""The status page in a real browser: Debian's Chromium driven by Playwright, through the local API Gateway.

The page is served by the real handler behind `sandbox.apigateway.ApiGatewayFront` (under the base path
`/status`), with the Cloudflare stand-in's demo data behind it. The tests check what a person can read at
a phone and a desktop size: project names, live and newest status, hostile text shown as text, no console
errors and no Content-Security-Policy violations.

Chromium comes from the distribution (`apt-get install chromium`), never from `playwright install`. Without
/usr/bin/chromium the tests fail when CI is set and are skipped otherwise. With UPDATE_SCREENSHOTS=1 the
desktop test also writes docs/status-page.png.
"""

from __future__ import annotations

import importlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from pages_ops import runtime
from pages_ops.client import PagesClient
from pages_ops.config import Settings
from pages_ops.credentials import SecretSource
from pages_ops.status import web
from pages_ops.timing import RateLimiter, RetryPolicy
from sandbox.apigateway import ApiGatewayFront
from sandbox.cloudflare_pages import MANAGED_PROJECTS, SANDBOX_ACCOUNT_ID, SANDBOX_API_TOKEN, PagesSandbox

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page, ViewportSize

pytestmark = [pytest.mark.integration, pytest.mark.browser]

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "status-page.png"
PHONE: ViewportSize = {"width": 390, "height": 844}
DESKTOP: ViewportSize = {"width": 1280, "height": 900}
HOSTILE_MESSAGE = (
    '<img src=x onerror="document.title=\'pwned\'"><script>document.title="pwned"</script> & "q"'
)
HOSTILE_BRANCH = '"><b id="injected">bold</b>'
# Records every Content-Security-Policy violation; injected by Playwright, so the page's CSP does not apply.
CSP_RECORDER = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(event.violatedDirective + " " + event.blockedURI);
});
"""


def require_chromium() -> None:
    if CHROMIUM.exists():
        return
    reason = f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium)"
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@dataclass
class Site:
    """The status page served on 127.0.0.1 with the demo data behind it."""

    url: str
    sandbox: PagesSandbox
    console_errors: list[str] = field(default_factory=list)


@pytest.fixture
def site() -> Iterator[Site]:
    now = datetime.now(UTC)
    with PagesSandbox(port=0, seed="demo") as sandbox:
        store = sandbox.store
        # A realistic failure, so the index shows a newest build that did not go live.
        store.add_deployment(
            "blog",
            commit_message="feat(feed): add category feeds",
            status="failure",
            stage="build",
            created_on=now - timedelta(minutes=25),
        )
        settings = Settings(
            account_id=SANDBOX_ACCOUNT_ID,
            secret_id="cf-pages-ops/browser",
            projects=MANAGED_PROJECTS,
            api_base_url=sandbox.base_url,
            rate_limit_per_minute=240,
        )
        secrets = SecretSource(
            settings.secret_id, fetcher=lambda _id, _force: json.dumps({"api_token": SANDBOX_API_TOKEN})
        )
        client = PagesClient(
            SANDBOX_ACCOUNT_ID,
            secrets,
            base_url=sandbox.base_url,
            rate_limiter=RateLimiter(240, burst=8),
            retry=RetryPolicy(base_delay=0.01, max_delay=0.05, retry_rate_limited=False),
        )
        runtime.override(
            settings_value=settings, secrets_value=secrets, clients={True: client, False: client}
        )
        module = importlib.import_module("status_page.app")
        try:
            with ApiGatewayFront(module.lambda_handler, base_path="status", function_name="status") as front:
                yield Site(url=front.url, sandbox=sandbox)
        finally:
            web.reset()


def open_page(browser: Browser, site: Site, viewport: ViewportSize, **options: Any) -> Page:
    context = browser.new_context(viewport=viewport, **options)
    page = context.new_page()
    page.add_init_script(CSP_RECORDER)
    page.on(
        "console",
        lambda message: site.console_errors.append(message.text) if message.type == "error" else None,
    )
    page.on("pageerror", lambda error: site.console_errors.append(str(error)))
    return page


def assert_clean(page: Page, site: Site) -> None:
    assert page.evaluate("window.__cspViolations") == []
    assert site.console_errors == []
    assert page.locator("script").count() == 0
    assert page.evaluate("document.querySelectorAll('[onerror], [onload], #injected').length") == 0


def assert_fits_width(page: Page) -> None:
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"the page is {overflow}px wider than the viewport"


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_index_shows_projects_and_status(browser: Browser, site: Site, viewport: ViewportSize) -> None:
    page = open_page(browser, site, viewport)
    response = page.goto(site.url)
    assert response is not None
    assert response.status == 200
    assert page.title() == "Cloudflare Pages status"
    for name in MANAGED_PROJECTS:
        assert page.get_by_role("link", name=name, exact=True).is_visible()
    assert page.get_by_text("internal-tools").count() == 0
    blog = page.locator("li.card", has=page.get_by_role("link", name="blog", exact=True))
    assert blog.locator("dt", has_text="Live").is_visible()
    assert "Failed" in blog.locator("dd").nth(1).inner_text()
    assert "feat(feed): add category feeds" in blog.inner_text()
    assert "Success" in blog.locator("dd").nth(0).inner_text()
    assert_fits_width(page)
    assert_clean(page, site)


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_project_shows_live_apart_from_newest(browser: Browser, site: Site, viewport: ViewportSize) -> None:
    page = open_page(browser, site, viewport)
    page.goto(f"{site.url}projects/blog")
    alert = page.get_by_role("alert")
    assert "The newest build failed at the build step" in alert.inner_text()
    live = page.locator("section[aria-labelledby=live]")
    newest = page.locator("section[aria-labelledby=newest]")
    assert live.locator(".status").first.inner_text() == "Success"
    assert newest.locator(".status").first.inner_text() == "Failed"
    assert "feat(feed): add category feeds" in newest.inner_text()
    badge = page.locator("img")
    assert badge.count() == 1
    assert badge.evaluate("image => image.complete && image.naturalWidth > 0")
    assert (
        page.get_by_role("link", name="Older \u2192").get_attribute("href") == "/status/projects/blog?page=2"
    )
    assert_fits_width(page)
    assert_clean(page, site)


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_hostile_commit_shows_as_text(browser: Browser, site: Site, viewport: ViewportSize) -> None:
    site.sandbox.store.add_deployment(
        "docs",
        branch=HOSTILE_BRANCH,
        commit_message=HOSTILE_MESSAGE,
        created_on=datetime.now(UTC) - timedelta(minutes=5),
    )
    page = open_page(browser, site, viewport)
    page.goto(f"{site.url}projects/docs")
    assert page.title().startswith("docs")
    assert page.get_by_text(HOSTILE_MESSAGE).first.is_visible()
    assert page.get_by_text(HOSTILE_BRANCH).first.is_visible()
    assert page.locator("#injected").count() == 0
    assert page.locator("img").count() == 1  # only the badge
    assert_fits_width(page)
    assert_clean(page, site)


def test_dark_scheme_changes_colours(browser: Browser, site: Site) -> None:
    backgrounds = {}
    for scheme in ("light", "dark"):
        page = open_page(browser, site, DESKTOP, color_scheme=scheme)
        page.goto(site.url)
        backgrounds[scheme] = page.evaluate("getComputedStyle(document.body).backgroundColor")
        assert_clean(page, site)
    assert backgrounds["light"] != backgrounds["dark"]


def test_desktop_screenshot(browser: Browser, site: Site, tmp_path: Path) -> None:
    """Capture the demo's busiest project; UPDATE_SCREENSHOTS=1 also writes it to docs/status-page.png."""
    page = open_page(browser, site, DESKTOP)
    page.goto(f"{site.url}projects/marketing-site")
    target = tmp_path / "status-page.png"
    page.screenshot(path=str(target), clip={"x": 0, "y": 0, "width": 1280, "height": 1180}, full_page=True)
    image = target.read_bytes()
    assert image.startswith(b"\x89PNG\r\n\x1a\n")
    assert int.from_bytes(image[16:20], "big") == 1280
    assert_clean(page, site)
    if os.environ.get("UPDATE_SCREENSHOTS") == "1":
        SCREENSHOT.write_bytes(image)
