"""The mount point of the status page in API Gateway, so routing matches and links keep the prefix.

The path a browser requested can carry a prefix that the routes do not: a named stage (`/prod/...` on an
execute-api URL) or a custom domain's base path mapping (`/status/...`). API Gateway keeps that prefix in
`rawPath` (HTTP API) and in `path` or `requestContext.path` (REST API). The event also names the route that
matched, `routeKey` (HTTP API) or `resource` (REST API), with the `pathParameters` that fill it in. The
route path is that template filled in, and the prefix is whatever precedes it in the requested path.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import quote

_TEMPLATE_PARAMETER: Final = re.compile(r"\{([A-Za-z0-9_]+)\+?\}")
# Characters left as they are when the prefix is written into links; everything else is percent-encoded.
_PREFIX_SAFE: Final = "/%-._~!$'()*+,;=:@"


@dataclass(frozen=True, slots=True)
class Mount:
    """The requested path split into the mount `prefix` (`""` or e.g. `/status`) and the route `path`."""

    prefix: str
    path: str


def locate(event: Mapping[str, Any]) -> Mount:
    """Split the request path of an HTTP API (payload 2.0) or REST API (payload 1.0) event."""
    context = _mapping(event.get("requestContext"))
    parameters = {key: str(value) for key, value in _mapping(event.get("pathParameters")).items()}
    stage = context.get("stage") if isinstance(context.get("stage"), str) else None

    if event.get("version") == "2.0":
        requested = _text(event.get("rawPath")) or _text(_mapping(context.get("http")).get("path")) or "/"
        route_key = _text(event.get("routeKey")) or ""
        template = route_key.split(" ", 1)[1] if " " in route_key else None
    else:
        requested = _text(context.get("path")) or _text(event.get("path")) or "/"
        template = _text(event.get("resource"))

    route_path = _fill(template, parameters) if template else None
    if route_path is not None:
        mount = _split_at_route(requested, route_path)
        if mount is not None:
            return mount
    return _split_at_stage(requested, stage)


def routed_event(event: Mapping[str, Any], mount: Mount) -> dict[str, Any]:
    """Copy `event` shallowly with `mount.path` in its path fields, for a resolver without prefixes."""
    copy = dict(event)
    if event.get("version") == "2.0":
        copy["rawPath"] = mount.path
        # Powertools strips a non-default stage from rawPath itself; the path is already relative.
        copy["requestContext"] = {**_mapping(event.get("requestContext")), "stage": "$default"}
    else:
        copy["path"] = mount.path
    return copy


class Links:
    """Absolute paths of the status page's routes under a mount prefix, percent-encoded for use in links."""

    def __init__(self, prefix: str) -> None:
        # Collapsing repeated slashes keeps a prefix like `//evil.example` from linking to another host.
        segments = [segment for segment in prefix.split("/") if segment]
        self.prefix = quote("/" + "/".join(segments), safe=_PREFIX_SAFE) if segments else ""

    def index(self) -> str:
        return f"{self.prefix}/"

    def project(self, name: str, page: int = 1) -> str:
        path = f"{self.prefix}/projects/{quote(name, safe='')}"
        return path if page == 1 else f"{path}?page={page}"

    def api(self, name: str) -> str:
        return f"{self.prefix}/api/projects/{quote(name, safe='')}"

    def badge(self, name: str) -> str:
        return f"{self.prefix}/projects/{quote(name, safe='')}/badge.svg"


def _fill(template: str, parameters: Mapping[str, str]) -> str | None:
    """Fill a route template such as `/projects/{name}` or `/{proxy+}`; None when a parameter is missing."""
    missing = False

    def value(match: re.Match[str]) -> str:
        nonlocal missing
        name = match.group(1)
        if name not in parameters:
            missing = True
            return ""
        return parameters[name]

    filled = _TEMPLATE_PARAMETER.sub(value, template)
    return None if missing else filled


def _split_at_route(requested: str, route_path: str) -> Mount | None:
    trimmed = requested.rstrip("/") or "/"
    route = route_path.rstrip("/") or "/"
    if route == "/":
        return Mount(prefix="" if trimmed == "/" else trimmed, path="/")
    if trimmed == route:
        return Mount(prefix="", path=route)
    if trimmed.endswith(route) and trimmed[: -len(route)].startswith("/"):
        return Mount(prefix=trimmed[: -len(route)], path=route)
    return None


def _split_at_stage(requested: str, stage: str | None) -> Mount:
    if stage and stage != "$default":
        marker = f"/{stage}"
        if requested == marker or requested.startswith(f"{marker}/"):
            return Mount(prefix=marker, path=requested[len(marker) :].rstrip("/") or "/")
    return Mount(prefix="", path=requested.rstrip("/") or "/")


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
