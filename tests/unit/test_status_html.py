"""Unit tests for pages_ops.status.html: what the pages show, and that hostile values stay inert text."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from typing import Any

import pytest

from pages_ops.models import DeploymentPage, Project
from pages_ops.status import html
from pages_ops.status.mount import Links
from pages_ops.status.service import IndexView, ProjectRow, ProjectView

NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
HOSTILE_MESSAGE = (
    '<script>alert("x")</script><img src=x onerror=alert(1)> "double" \'single\' & amp\x00\x1b\u202eevil\n'
    "second line <b>bold</b>"
)
HOSTILE_BRANCH = '"><svg onload=alert(1)>'
ALLOWED_TAGS = {
    "html", "head", "meta", "title", "style", "body", "header", "div", "span", "a", "main", "p", "h1", "h2",
    "ul", "li", "dl", "dt", "dd", "section", "strong", "time", "table", "thead", "tbody", "tr", "th", "td",
    "nav", "footer", "img", "link",
}  # fmt: skip


class Elements(HTMLParser):
    """Collects every start tag with its attributes, and the text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def hrefs(self) -> list[str]:
        return [attrs["href"] or "" for tag, attrs in self.tags if tag == "a" and "href" in attrs]

    def texts(self) -> str:
        return " ".join(" ".join(self.text).split())


def parse(page: str) -> Elements:
    parser = Elements()
    parser.feed(page)
    parser.close()
    return parser


def deployment_data(
    deployment_id: str,
    *,
    environment: str = "production",
    stage: str = "deploy",
    status: str = "success",
    branch: str = "main",
    message: str = "Update docs",
    commit_hash: str = "0123456789abcdef0123456789abcdef01234567",
    url: str | None = None,
    aliases: list[str] | None = None,
    created: datetime = NOW - timedelta(hours=3),
) -> dict[str, Any]:
    return {
        "id": deployment_id,
        "short_id": deployment_id[:8],
        "environment": environment,
        "url": url if url is not None else f"https://{deployment_id[:8]}.docs-abc.pages.dev",
        "created_on": created.isoformat().replace("+00:00", "Z"),
        "latest_stage": {"name": stage, "status": status},
        "aliases": aliases,
        "deployment_trigger": {
            "type": "github:push",
            "metadata": {"branch": branch, "commit_hash": commit_hash, "commit_message": message},
        },
    }


LIVE = deployment_data("aaaaaaaa-1111-4111-8111-111111111111", message="Release 1.2")
FAILED = deployment_data(
    "bbbbbbbb-2222-4222-8222-222222222222",
    stage="build",
    status="failure",
    message="Break the build",
    created=NOW - timedelta(minutes=10),
)


def project(
    *, live: dict[str, Any] | None = LIVE, latest: dict[str, Any] | None = LIVE, **fields: Any
) -> Project:
    data = {
        "name": "docs",
        "subdomain": "docs-abc.pages.dev",
        "domains": ["docs-abc.pages.dev", "docs.example.com"],
        "production_branch": "main",
        "source": {"type": "github"},
        "canonical_deployment": live,
        "latest_deployment": latest,
    }
    data.update(fields)
    return Project.from_api(data)


def project_view(
    target: Project,
    deployments: list[dict[str, Any]],
    *,
    page: int = 1,
    total: int | None = None,
    stale=False,
) -> ProjectView:
    from pages_ops.models import Deployment

    listing = DeploymentPage(
        deployments=tuple(Deployment.from_api(item) for item in deployments),
        page=page,
        per_page=25,
        total_count=total,
        total_pages=None if total is None else max(1, -(-total // 25)),
    )
    return ProjectView(
        project=target,
        deployments=listing,
        fetched_at=NOW - timedelta(minutes=12),
        age=720.0,
        stale=stale,
        versions=(1, 2),
    )


def render_project(view: ProjectView, prefix: str = "") -> str:
    return html.render_project(view, links=Links(prefix), now=NOW, cache_seconds=30)


def assert_inert(page: str, *, prefix: str = "") -> Elements:
    """No element, attribute or link beyond what the renderer itself writes."""
    elements = parse(page)
    for tag, attrs in elements.tags:
        assert tag in ALLOWED_TAGS, f"unexpected <{tag}> element"
        for name in attrs:
            assert not name.startswith("on"), f"event handler attribute {name} on <{tag}>"
        if tag == "img":
            assert (attrs.get("src") or "").startswith(f"{prefix}/projects/"), attrs
        if tag == "link":
            assert attrs.get("rel") == "icon"
            assert (attrs.get("href") or "").startswith("data:image/svg+xml,")
    for href in elements.hrefs():
        assert href.startswith(("https://", "http://", f"{prefix}/")), href
        assert "javascript" not in href.lower()
    assert "<script" not in page.lower()
    return elements


def test_project_page_shows_live_deployment() -> None:
    page = render_project(project_view(project(), [LIVE], total=1))
    elements = assert_inert(page)
    text = elements.texts()
    assert "Live production" in text
    assert "aaaaaaaa" in text
    assert "Release 1.2" in text
    assert "The newest build is the live production deployment." in text
    assert "3 hours ago" in text
    assert '<time datetime="2024-05-01T09:00:00Z" title="2024-05-01 09:00:00 UTC">' in page
    assert "https://aaaaaaaa.docs-abc.pages.dev" in elements.hrefs()
    assert "https://docs.example.com" in elements.hrefs()


def test_project_page_failed_newest_build() -> None:
    page = render_project(project_view(project(latest=FAILED), [FAILED, LIVE], total=2))
    text = assert_inert(page).texts()
    assert "The newest build failed at the build step" in text
    assert "Production is still serving aaaaaaaa" in text
    assert 'role="alert"' in page
    assert "Failed" in text
    assert "Break the build" in text
    assert 'class="status s-failure"' in page


def test_project_page_without_live_deployment() -> None:
    page = render_project(project_view(project(live=None, latest=FAILED), [FAILED], total=1))
    text = assert_inert(page).texts()
    assert "This project has no live production deployment." in text
    assert "There is no live production deployment." in text


def test_project_page_without_deployments() -> None:
    page = render_project(project_view(project(live=None, latest=None), [], total=0))
    text = assert_inert(page).texts()
    assert "This project has no deployments yet." in text
    assert "No deployments." in text


def test_hostile_commit_message_and_branch_are_text() -> None:
    hostile = deployment_data(
        "cccccccc-3333-4333-8333-333333333333",
        environment="preview",
        branch=HOSTILE_BRANCH,
        message=HOSTILE_MESSAGE,
        commit_hash='"><i>',
        aliases=["https://x.docs-abc.pages.dev"],
    )
    page = render_project(project_view(project(latest=hostile), [hostile, LIVE], total=2))
    elements = assert_inert(page)
    text = elements.texts()
    assert '<script>alert("x")</script><img src=x onerror=alert(1)> "double" \'single\' & amp' in text
    assert HOSTILE_BRANCH in text
    # Only the subject line is shown; the whole message sits in a title attribute.
    assert "second line" not in text
    assert "\x00" not in page
    assert "\u202e" not in page
    assert "&lt;script&gt;" in page
    assert "&quot;&gt;&lt;svg onload=alert(1)&gt;" in page


def test_hostile_urls_are_shown_as_text_not_links() -> None:
    hostile = deployment_data(
        "dddddddd-4444-4444-8444-444444444444",
        environment="preview",
        url="javascript:alert(document.cookie)",
        aliases=[
            "javascript:alert(1)",
            "data:text/html,<script>alert(1)</script>",
            "https://ok.docs-abc.pages.dev",
        ],
    )
    target = project(
        latest=hostile, domains=["javascript:alert(2)", '"><b>x</b>'], subdomain="docs-abc.pages.dev"
    )
    page = render_project(project_view(target, [hostile], total=1))
    elements = assert_inert(page)
    text = elements.texts()
    assert "javascript:alert(document.cookie)" not in elements.hrefs()
    assert "javascript:alert(1)" in text
    assert "javascript:alert(2)" in text
    assert '"><b>x</b>' in text
    assert "https://ok.docs-abc.pages.dev" in elements.hrefs()
    assert [tag for tag, _ in elements.tags].count("b") == 0


def test_very_long_values_are_truncated() -> None:
    long_message = "word " * 2000
    long_branch = "b" * 300
    long_deployment = deployment_data(
        "eeeeeeee-5555-4555-8555-555555555555",
        environment="preview",
        branch=long_branch,
        message=long_message,
    )
    page = render_project(project_view(project(latest=long_deployment), [long_deployment], total=1))
    text = assert_inert(page).texts()
    assert "b" * 47 + "\u2026" in text
    assert "b" * 48 not in text
    assert len(page) < 40_000
    assert ("word " * 200) not in page


def test_branch_previews_list_aliases_as_returned() -> None:
    preview = deployment_data(
        "ffffffff-6666-4666-8666-666666666666",
        environment="preview",
        branch="feature/Long_Name",
        aliases=["https://feature-long-name.docs-abc.pages.dev"],
    )
    page = render_project(project_view(project(), [preview, LIVE], total=2))
    elements = assert_inert(page)
    assert "Branch previews" in elements.texts()
    assert "https://feature-long-name.docs-abc.pages.dev" in elements.hrefs()
    # The only link for the branch is the alias the API returned, never one built from the branch name.
    assert {href for href in elements.hrefs() if "feature" in href} == {
        "https://feature-long-name.docs-abc.pages.dev"
    }


def test_pager_links_carry_prefix() -> None:
    view = project_view(project(), [LIVE] * 25, page=2, total=80)
    page = render_project(view, prefix="/status")
    elements = assert_inert(page, prefix="/status")
    assert "/status/projects/docs" in elements.hrefs()
    assert "/status/projects/docs?page=3" in elements.hrefs()
    assert "/status/" in elements.hrefs()
    assert "/status/api/projects/docs" in elements.hrefs()
    assert "Page 2 of 4 \u00b7 80 deployments" in elements.texts()


def test_pager_on_last_page_has_no_older_link() -> None:
    page = render_project(project_view(project(), [LIVE] * 5, page=4, total=80))
    hrefs = parse(page).hrefs()
    assert "/projects/docs?page=5" not in hrefs
    assert "/projects/docs?page=3" in hrefs


def test_stale_banner_shows_age() -> None:
    page = render_project(project_view(project(), [LIVE], total=1, stale=True))
    text = parse(page).texts()
    assert "Cloudflare could not be reached." in text
    assert "from 12 minutes ago" in text
    assert "2024-05-01 11:48:00 UTC" in text


def test_fresh_page_has_no_banner() -> None:
    page = render_project(project_view(project(), [LIVE], total=1))
    assert "could not be reached" not in page


def row(name: str, target: Project | None, *, state: str = "ok", stale: bool = False) -> ProjectRow:
    return ProjectRow(
        name=name,
        state=state,  # type: ignore[arg-type]
        project=target,
        fetched_at=NOW - timedelta(minutes=5) if target is not None else None,
        age=300.0,
        stale=stale,
        version=1,
    )


def test_index_shows_every_project_at_a_glance() -> None:
    view = IndexView(
        rows=(
            row("docs", project(latest=FAILED)),
            row("blog", project(name="blog")),
            row("shop", None, state="not_found"),
            row("wiki", None, state="unavailable"),
        )
    )
    page = html.render_index(view, links=Links("/status"), now=NOW, cache_seconds=30)
    elements = assert_inert(page, prefix="/status")
    text = elements.texts()
    for name in ("docs", "blog", "shop", "wiki"):
        assert f"/status/projects/{name}" in elements.hrefs()
    assert "Newest build" in text
    assert "Break the build" in text
    assert "The live deployment" in text
    assert "Not found in the Cloudflare account." in text
    assert "Could not be loaded from Cloudflare just now" in text
    assert "Some projects could not be loaded." in text
    assert 'class="card attention-failure"' in page


def test_index_stale_rows_show_banner() -> None:
    view = IndexView(rows=(row("docs", project(), stale=True),))
    page = html.render_index(view, links=Links(""), now=NOW, cache_seconds=30)
    assert "from 5 minutes ago" in parse(page).texts()


def test_error_page_is_generic() -> None:
    page = html.render_error(
        "Temporarily unavailable", "Try again.", links=Links("/prod"), request_id='req-1"<x>'
    )
    elements = assert_inert(page, prefix="/prod")
    assert 'Request id: req-1"<x>' in elements.texts()
    assert "/prod/" in elements.hrefs()


@pytest.mark.parametrize("scheme_word", ["light", "dark"])
def test_style_supports_light_and_dark(scheme_word: str) -> None:
    page = html.render_error("x", "y", links=Links(""))
    assert "prefers-color-scheme:dark" in page
    assert "color-scheme" in page
    assert scheme_word in page
