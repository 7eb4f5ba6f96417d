"""HTML for the status page: the index, one project's page and error pages.

Every value from the API goes through `pages_ops.status.display` (cleaned, truncated, links only for
http/https) and is then escaped for its context with `html.escape(..., quote=True)`, which is safe in text
and in double-quoted attributes alike. The page has no scripts and no external assets: one inline style
sheet, allowed by the Content-Security-Policy the web layer sends.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from html import escape
from typing import Final

from pages_ops.models import Deployment, Project
from pages_ops.status import display
from pages_ops.status.mount import Links
from pages_ops.status.service import IndexView, ProjectRow, ProjectView

TITLE: Final = "Cloudflare Pages status"
MAX_SUBJECT_CHARS: Final = 90
MAX_MESSAGE_TITLE_CHARS: Final = 600
MAX_BRANCH_CHARS: Final = 48
MAX_URL_TEXT_CHARS: Final = 64
MAX_NAME_CHARS: Final = 80
# An inline icon (allowed by `img-src data:`), so browsers do not request /favicon.ico outside the mount.
FAVICON: Final = (
    "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 16 16'%3E"
    "%3Crect width='16' height='16' rx='4' fill='%23f6821f'/%3E%3C/svg%3E"
)

STYLE: Final = """
:root{color-scheme:light dark;--bg:#f6f7f9;--fg:#1b1f24;--muted:#59636e;--card:#fff;--line:#d8dee4;
--link:#0b5cad;--ok:#1a7f37;--ok-bg:#dafbe1;--bad:#cf222e;--bad-bg:#ffebe9;--run:#9a6700;--run-bg:#fff8c5;
--off:#59636e;--off-bg:#eaeef2;--warn-bg:#fff8c5;--warn-line:#d4a72c}
@media (prefers-color-scheme:dark){:root{--bg:#0d1117;--fg:#e6edf3;--muted:#9198a1;--card:#161b22;
--line:#30363d;--link:#58a6ff;--ok:#3fb950;--ok-bg:#12261e;--bad:#f85149;--bad-bg:#2d1214;--run:#d29922;
--run-bg:#2b2111;--off:#9198a1;--off-bg:#21262d;--warn-bg:#2b2111;--warn-line:#9e6a03}}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,
"Helvetica Neue",Arial,sans-serif;overflow-wrap:break-word}
a{color:var(--link);text-decoration:none}a:hover,a:focus{text-decoration:underline}
header.top{background:var(--card);border-bottom:1px solid var(--line)}
header.top div,main,footer{max-width:1100px;margin:0 auto;padding:0 16px}
header.top div{display:flex;align-items:center;gap:10px;height:52px;font-weight:600}
.logo{width:22px;height:22px;border-radius:6px;background:linear-gradient(135deg,#f6821f,#fbad41)}
h1{font-size:26px;margin:24px 0 4px}h2{font-size:18px;margin:0 0 8px}
.lede,.meta{color:var(--muted);margin:0 0 16px}.meta{margin-top:16px}
.cards{list-style:none;margin:0;padding:0;display:grid;gap:14px;
grid-template-columns:repeat(auto-fill,minmax(min(100%,480px),1fr))}
.card,.panel{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:16px}
.card h2{margin:0}
.attention-failure{border-left:4px solid var(--bad)}
.attention-building,.attention-queued{border-left:4px solid var(--run)}
.hosts{margin:4px 0 10px;color:var(--muted);font-size:14px}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:6px 14px;margin:0}
dl.facts dt{color:var(--muted);font-size:13px;padding-top:2px}dl.facts dd{margin:0;min-width:0}
.status{display:inline-flex;align-items:center;gap:6px;border-radius:999px;padding:1px 10px;font-size:13px;
font-weight:600;white-space:nowrap;border:1px solid transparent}
.status::before{content:"";width:8px;height:8px;border-radius:50%;background:currentColor}
.s-success{color:var(--ok);background:var(--ok-bg)}.s-failure{color:var(--bad);background:var(--bad-bg)}
.s-building,.s-queued{color:var(--run);background:var(--run-bg)}
.s-canceled,.s-skipped,.s-unknown,.s-none{color:var(--off);background:var(--off-bg)}
.dim{color:var(--muted)}.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:13px;
overflow-wrap:anywhere}
.subject{display:block}
.banner,.alert{border:1px solid var(--warn-line);background:var(--warn-bg);border-radius:10px;
padding:10px 14px;margin:16px 0}
.alert.bad{border-color:var(--bad);background:var(--bad-bg)}
.pair{display:grid;gap:14px;grid-template-columns:repeat(auto-fit,minmax(min(100%,420px),1fr));margin:16px 0}
section{margin:24px 0}.pair>section{margin:0}
.nowrap{white-space:nowrap}
.env{display:inline-block;font-size:12px;border:1px solid var(--line);border-radius:4px;padding:0 5px;
color:var(--muted)}.env-production{border-color:var(--link);color:var(--link)}
.previews{list-style:none;padding:0;margin:0;display:grid;gap:6px}
table{width:100%;border-collapse:collapse;background:var(--card);border:1px solid var(--line);
border-radius:10px;overflow:hidden}
th,td{text-align:left;padding:9px 12px;border-top:1px solid var(--line);vertical-align:top;font-size:14px}
th{border-top:0;color:var(--muted);font-weight:600;font-size:13px}
.pager{display:flex;justify-content:space-between;align-items:center;gap:10px;margin:12px 0}
footer{color:var(--muted);font-size:13px;padding-top:8px;padding-bottom:32px}
@media (max-width:720px){h1{font-size:22px}
table,thead,tbody,tr,th,td{display:block}thead{display:none}table{border:0;background:none}
tr{background:var(--card);border:1px solid var(--line);border-radius:10px;margin:0 0 10px;padding:6px 0}
td{border:0;padding:4px 12px;display:grid;grid-template-columns:96px 1fr;gap:8px;white-space:normal}
td::before{content:attr(data-label);color:var(--muted);font-size:13px}}
"""


def render_index(view: IndexView, *, links: Links, now: datetime, cache_seconds: int) -> str:
    """Render the index: each managed project with its live deployment and, if different, its newest build."""
    cards = "".join(_index_card(row, links=links, now=now) for row in view.rows)
    stale_since = min((row.fetched_at for row in view.rows if row.stale and row.fetched_at), default=None)
    partial = any(row.state == "unavailable" for row in view.rows)
    body = (
        f"<h1>Projects</h1>"
        f'<p class="lede">The live production deployment and the newest build of each project.</p>'
        f"{_stale_banner(stale_since, now, partial=partial)}"
        f'<ul class="cards">{cards}</ul>'
    )
    return _document(TITLE, body, links=links, footer=_footer(view.fetched_at, now, cache_seconds))


def render_project(view: ProjectView, *, links: Links, now: datetime, cache_seconds: int) -> str:
    """Render one project: live and newest deployment, branch previews and a page of deployments."""
    project = view.project
    name = _text(project.name, MAX_NAME_CHARS)
    live = project.canonical_deployment
    latest = project.latest_deployment
    body = (
        f'<p class="meta"><a href="{_attr(links.index())}">\u2190 All projects</a></p>'
        f"<h1>{name}</h1>"
        f'<p class="hosts">{_project_facts(project)}</p>'
        f"{_stale_banner(view.fetched_at if view.stale else None, now)}"
        f"{_divergence_alert(live, latest, now)}"
        f'<div class="pair">'
        f'<section class="panel" aria-labelledby="live"><h2 id="live">Live production</h2>'
        f"{_live_panel(live, now)}</section>"
        f'<section class="panel" aria-labelledby="newest"><h2 id="newest">Newest build</h2>'
        f"{_newest_panel(live, latest, now)}</section>"
        f"</div>"
        f"{_previews(view.deployments.deployments, now)}"
        f"{_deployments_table(view, links=links, now=now)}"
    )
    badge = (
        f'<p><img src="{_attr(links.badge(project.name))}" alt="{_attr(project.name)} build status" '
        f'height="20"> \u00b7 <a href="{_attr(links.api(project.name))}">JSON</a> \u00b7 '
        f'<a href="{_attr(links.badge(project.name))}">Badge</a></p>'
    )
    footer = badge + _footer(view.fetched_at, now, cache_seconds)
    return _document(f"{project.name} \u2014 {TITLE}", body, links=links, footer=footer)


def render_error(title: str, message: str, *, links: Links, request_id: str | None = None) -> str:
    """Render a generic error page: no upstream detail, only what to do next and a request id to quote."""
    reference = (
        f'<p class="dim">Request id: <span class="mono">{_text(request_id, 64)}</span></p>'
        if request_id
        else ""
    )
    body = (
        f"<h1>{escape(title)}</h1><p>{escape(message)}</p>{reference}"
        f'<p><a href="{_attr(links.index())}">All projects</a></p>'
    )
    return _document(f"{title} \u2014 {TITLE}", body, links=links, footer="")


# Building blocks


def _document(title: str, body: str, *, links: Links, footer: str) -> str:
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="color-scheme" content="light dark"><meta name="referrer" content="no-referrer">'
        f'<link rel="icon" href="{FAVICON}">'
        f"<title>{escape(title)}</title><style>{STYLE}</style></head><body>"
        f'<header class="top"><div><span class="logo" aria-hidden="true"></span>'
        f'<a href="{_attr(links.index())}">{TITLE}</a></div></header>'
        f"<main>{body}</main><footer>{footer}</footer></body></html>"
    )


def _index_card(row: ProjectRow, *, links: Links, now: datetime) -> str:
    name = _text(row.name, MAX_NAME_CHARS)
    heading = f'<h2><a href="{_attr(links.project(row.name))}">{name}</a></h2>'
    if row.project is None:
        if row.state == "not_found":
            note = "Not found in the Cloudflare account."
        else:
            note = "Could not be loaded from Cloudflare just now; the next try is automatic."
        return f'<li class="card">{heading}<p class="dim">{note}</p></li>'

    project = row.project
    live = project.canonical_deployment
    latest = project.latest_deployment
    facts = f"<dt>Live</dt><dd>{_deployment_line(live, now, empty='No live production deployment')}</dd>"
    attention = ""
    if latest is not None and (live is None or latest.id != live.id):
        facts += f"<dt>Newest build</dt><dd>{_deployment_line(latest, now, empty='')}</dd>"
        # A coloured edge marks projects whose newest build failed or is still running.
        if latest.status in ("failure", "building", "queued"):
            attention = f" attention-{latest.status}"
    else:
        facts += '<dt>Newest build</dt><dd class="dim">The live deployment</dd>'
    return (
        f'<li class="card{attention}">{heading}'
        f'<p class="hosts">{_host_links(project)}</p>'
        f'<dl class="facts">{facts}</dl></li>'
    )


def _deployment_line(deployment: Deployment | None, now: datetime, *, empty: str) -> str:
    """Describe one deployment on one line: status, id, branch, commit subject and age."""
    if deployment is None:
        return f'<span class="dim">{escape(empty)}</span>'
    parts = [_status_with_stage(deployment), _deployment_link(deployment)]
    if deployment.branch:
        parts.append(_branch(deployment.branch))
    parts.append(_time(deployment.created_on, now))
    subject = _commit_subject(deployment)
    return " \u00b7 ".join(parts) + (f'<span class="subject">{subject}</span>' if subject else "")


def _live_panel(live: Deployment | None, now: datetime) -> str:
    if live is None:
        return '<p class="dim">This project has no live production deployment.</p>'
    return _deployment_facts(live, now)


def _newest_panel(live: Deployment | None, latest: Deployment | None, now: datetime) -> str:
    if latest is None:
        return '<p class="dim">This project has no deployments yet.</p>'
    if live is not None and latest.id == live.id:
        return '<p class="dim">The newest build is the live production deployment.</p>'
    return _deployment_facts(latest, now)


def _deployment_facts(deployment: Deployment, now: datetime) -> str:
    rows = [
        ("Status", _status_with_stage(deployment)),
        ("Deployment", _deployment_link(deployment)),
        ("Environment", _text(deployment.environment, 24) or '<span class="dim">unknown</span>'),
    ]
    if deployment.branch:
        rows.append(("Branch", _branch(deployment.branch)))
    if deployment.commit_hash or deployment.commit_message:
        rows.append(("Commit", f"{_commit_hash(deployment)} {_commit_subject(deployment)}".strip()))
    rows.append(("Created", _time(deployment.created_on, now)))
    if deployment.trigger_type:
        rows.append(("Trigger", f'<span class="mono">{_text(deployment.trigger_type, 32)}</span>'))
    if deployment.aliases:
        rows.append(("Aliases", _url_list(deployment.aliases)))
    if deployment.is_skipped and deployment.skip_reason:
        rows.append(("Skipped", _text(deployment.skip_reason, 120)))
    items = "".join(f"<dt>{label}</dt><dd>{value}</dd>" for label, value in rows)
    return f'<dl class="facts">{items}</dl>'


def _divergence_alert(live: Deployment | None, latest: Deployment | None, now: datetime) -> str:
    """Say plainly when the newest build did not become live, so a failed build is never missed."""
    if latest is None or (live is not None and latest.id == live.id):
        return ""
    if latest.status not in ("failure", "canceled"):
        return ""
    verb = "failed" if latest.status == "failure" else "was canceled"
    stage = latest.latest_stage.name if latest.latest_stage is not None else None
    where = f" at the {escape(display.stage_noun(stage))} step" if stage and stage != "queued" else ""
    if live is None:
        still = "There is no live production deployment."
    else:
        still = f"Production is still serving {_deployment_link(live)} from {_time(live.created_on, now)}."
    return (
        f'<div class="alert bad" role="alert"><strong>The newest build {verb}{where}</strong> '
        f"({_deployment_link(latest)}, {_time(latest.created_on, now)}). {still}</div>"
    )


def _previews(deployments: Iterable[Deployment], now: datetime) -> str:
    """List the branch aliases of the deployments on this page, exactly as the API returned them."""
    items = []
    for deployment in deployments:
        if deployment.environment == "production" or not deployment.aliases:
            continue
        branch = (
            _branch(deployment.branch) if deployment.branch else '<span class="dim">unknown branch</span>'
        )
        items.append(
            f"<li>{branch} \u2192 {_url_list(deployment.aliases)} "
            f'<span class="dim">({_status_text(deployment)}, {_time(deployment.created_on, now)})</span></li>'
        )
    if not items:
        return ""
    return (
        '<section aria-labelledby="previews"><h2 id="previews">Branch previews</h2>'
        f'<ul class="previews">{"".join(items)}</ul></section>'
    )


def _deployments_table(view: ProjectView, *, links: Links, now: datetime) -> str:
    rows = []
    for deployment in view.deployments.deployments:
        aliases = _url_list(deployment.aliases) if deployment.aliases else ""
        rows.append(
            "<tr>"
            f'<td data-label="Deployment">{_deployment_link(deployment)} {_environment(deployment)}</td>'
            f'<td data-label="Status" class="nowrap">{_status_with_stage(deployment)}</td>'
            f'<td data-label="Branch">{_branch(deployment.branch) if deployment.branch else ""}</td>'
            f'<td data-label="Commit">{_commit_hash(deployment)} {_commit_subject(deployment)}</td>'
            f'<td data-label="Created" class="nowrap">{_time(deployment.created_on, now)}</td>'
            f'<td data-label="Aliases">{aliases}</td>'
            "</tr>"
        )
    if not rows:
        table = '<p class="dim">No deployments.</p>'
    else:
        table = (
            "<table><thead><tr><th>Deployment</th><th>Status</th><th>Branch</th><th>Commit</th>"
            f"<th>Created</th><th>Aliases</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
        )
    return (
        '<section aria-labelledby="deployments"><h2 id="deployments">Deployments</h2>'
        f"{table}{_pager(view, links)}</section>"
    )


def _environment(deployment: Deployment) -> str:
    environment = deployment.environment
    if environment in ("production", "preview"):
        return f'<span class="env env-{environment}">{environment}</span>'
    return f'<span class="env">{_text(environment, 24)}</span>' if environment else ""


def _pager(view: ProjectView, links: Links) -> str:
    listing = view.deployments
    name = view.project.name
    total = listing.total_pages
    position = f"Page {listing.page} of {total}" if total else f"Page {listing.page}"
    if listing.total_count is not None:
        position += f" \u00b7 {listing.total_count} deployments"
    newer = (
        f'<a rel="prev" href="{_attr(links.project(name, listing.page - 1))}">\u2190 Newer</a>'
        if listing.page > 1
        else "<span></span>"
    )
    older = (
        f'<a rel="next" href="{_attr(links.project(name, listing.page + 1))}">Older \u2192</a>'
        if listing.has_next
        else "<span></span>"
    )
    return (
        f'<nav class="pager" aria-label="Deployment pages">{newer}'
        f'<span class="dim">{position}</span>{older}</nav>'
    )


def _project_facts(project: Project) -> str:
    facts = [_host_links(project)]
    if project.production_branch:
        facts.append(f"production branch {_branch(project.production_branch)}")
    if project.source_type:
        facts.append(f"source {_text(project.source_type, 24)}")
    else:
        facts.append("Direct Upload")
    return " \u00b7 ".join(fact for fact in facts if fact)


def _host_links(project: Project) -> str:
    hosts = [project.subdomain] if project.subdomain else []
    hosts.extend(domain for domain in project.domains if domain != project.subdomain)
    return " \u00b7 ".join(_host(host) for host in hosts)


def _host(host: str) -> str:
    url = display.host_url(host)
    text = _text(host, MAX_URL_TEXT_CHARS)
    return f'<a href="{_attr(url)}" rel="noopener noreferrer">{text}</a>' if url else text


def _url_list(urls: Iterable[str]) -> str:
    return " ".join(_url(url) for url in urls)


def _url(value: str) -> str:
    """Link `value` when it is an http(s) URL, otherwise show it as plain text."""
    url = display.http_url(value)
    shown = value.split("://", 1)[1] if url is not None and "://" in value else value
    text = _text(shown, MAX_URL_TEXT_CHARS)
    if url is None:
        return f'<span class="mono">{text}</span>'
    return f'<a href="{_attr(url)}" rel="noopener noreferrer">{text}</a>'


def _deployment_link(deployment: Deployment) -> str:
    short_id = _text(deployment.short_id, 16)
    url = display.http_url(deployment.url)
    if url is None:
        return f'<span class="mono">{short_id}</span>'
    return f'<a class="mono" href="{_attr(url)}" rel="noopener noreferrer">{short_id}</a>'


def _branch(branch: str | None) -> str:
    full = display.clean_text(branch, max_chars=256)
    return f'<span class="mono" title="{_attr(full)}">{_text(branch, MAX_BRANCH_CHARS)}</span>'


def _commit_hash(deployment: Deployment) -> str:
    if not deployment.commit_hash:
        return ""
    full = display.clean_text(deployment.commit_hash, max_chars=64)
    shown = escape(display.short_hash(deployment.commit_hash))
    return f'<span class="mono" title="{_attr(full)}">{shown}</span>'


def _commit_subject(deployment: Deployment) -> str:
    subject = display.first_line(deployment.commit_message)
    if not subject:
        return ""
    full = display.clean_text(deployment.commit_message, max_chars=MAX_MESSAGE_TITLE_CHARS)
    return f'<span title="{_attr(full)}">{_text(subject, MAX_SUBJECT_CHARS)}</span>'


def _status_with_stage(deployment: Deployment) -> str:
    """Show the status pill, plus the stage where a build stopped or is running (`Failed at build`)."""
    status = deployment.status
    pill = _status_pill(status)
    stage = deployment.latest_stage
    if stage is None or stage.name == "queued":
        return pill
    if status in ("failure", "canceled"):
        return f'{pill} <span class="dim">at {escape(display.stage_noun(stage.name))}</span>'
    if status == "building" and stage.name != "build":
        return f'{pill} <span class="dim">{escape(display.stage_label(stage.name).lower())}</span>'
    return pill


def _status_text(deployment: Deployment) -> str:
    return escape(display.status_label(deployment.status).lower())


def _status_pill(status: str) -> str:
    tone = status if status in display.STATUS_LABELS else "unknown"
    return f'<span class="status s-{tone}">{escape(display.status_label(status))}</span>'


def _time(when: datetime | None, now: datetime) -> str:
    if when is None:
        return '<span class="dim">at an unknown time</span>'
    return (
        f'<time datetime="{display.utc_iso(when)}" title="{display.utc_text(when)}">'
        f"{escape(display.relative_time(when, now))}</time>"
    )


def _stale_banner(stale_since: datetime | None, now: datetime, *, partial: bool = False) -> str:
    """Build a visible notice when any data shown is the last good copy, or some of it is missing."""
    notes = []
    if stale_since is not None:
        age = display.duration_text((now - stale_since).total_seconds())
        notes.append(
            f"Showing the last data received, from {age} ago "
            f'(<time datetime="{display.utc_iso(stale_since)}">{display.utc_text(stale_since)}</time>).'
        )
    if partial:
        notes.append("Some projects could not be loaded.")
    if not notes:
        return ""
    return (
        '<div class="banner" role="status"><strong>Cloudflare could not be reached.</strong> '
        f"{' '.join(notes)} The page is refreshed from Cloudflare automatically once it answers again.</div>"
    )


def _footer(fetched_at: datetime | None, now: datetime, cache_seconds: int) -> str:
    if fetched_at is None:
        return ""
    if cache_seconds == 0:
        refresh = "read again on every request"
    else:
        refresh = f"refreshed at most every {cache_seconds} second{'' if cache_seconds == 1 else 's'}"
    return f"<p>Data from Cloudflare, fetched {_time(fetched_at, now)}; {refresh}.</p>"


def _text(value: str | None, max_chars: int) -> str:
    """Clean, truncate and escape a value for HTML text or a double-quoted attribute."""
    return escape(display.clean_text(value, max_chars=max_chars), quote=True)


def _attr(value: str | None) -> str:
    return escape(value or "", quote=True)
