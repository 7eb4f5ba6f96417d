"""Cloudflare Pages API client: the operations the three functions use, on top of `Transport`."""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Final, TypeVar
from urllib.parse import quote, urlsplit

import requests

from pages_ops.config import BRANCH_PATTERN, PROJECT_NAME_PATTERN, Settings
from pages_ops.errors import InvalidIdentifierError, InvalidListOptionsError, MalformedResponseError
from pages_ops.models import BuildLogs, Deployment, DeploymentPage, Project
from pages_ops.timing import Deadline, RateLimiter, RetryPolicy
from pages_ops.transport import CredentialsProvider, Envelope, Timeouts, Transport

logger = logging.getLogger(__name__)

# Cloudflare rejects per_page above 25 on deployment listings with code 8000024.
MAX_PER_PAGE: Final = 25
ENVIRONMENTS: Final = frozenset({"production", "preview"})
# Deployment ids are UUIDs. The pattern also admits the shorter hex ids seen in SDK test data, but never a
# character that could change the request path ("/", ".", "?", "%", white space).
DEPLOYMENT_ID_PATTERN: Final = re.compile(r"^[0-9a-fA-F][0-9a-fA-F-]{7,63}$")
DEPLOY_HOOK_PATH: Final = "/pages/webhooks/deploy_hooks/"
DEPLOY_HOOK_ID_PATTERN: Final = re.compile(r"^[A-Za-z0-9-]{8,128}$")

_Model = TypeVar("_Model")


class PagesClient:
    """Client for the Pages endpoints of one Cloudflare account.

    Thread-safe for concurrent calls. Set `deadline` at the start of each invocation so no call outlives the
    Lambda's remaining time.
    """

    def __init__(
        self,
        account_id: str,
        credentials: CredentialsProvider,
        *,
        base_url: str = "https://api.cloudflare.com/client/v4",
        rate_limiter: RateLimiter | None = None,
        retry: RetryPolicy | None = None,
        timeouts: Timeouts | None = None,
        session: requests.Session | None = None,
    ) -> None:
        self.account_id = account_id
        self.transport = Transport(
            base_url,
            credentials,
            rate_limiter=rate_limiter,
            retry=retry,
            timeouts=timeouts,
            session=session,
            redact=(account_id,),
        )

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        credentials: CredentialsProvider,
        *,
        retry: RetryPolicy | None = None,
        session: requests.Session | None = None,
        rate_burst: int = 1,
    ) -> PagesClient:
        """Build a client with the settings' base URL and a rate limiter at the configured ceiling.

        `rate_burst` requests may start at once after an idle spell, for callers that fetch in parallel.
        """
        return cls(
            settings.account_id,
            credentials,
            base_url=settings.api_base_url,
            rate_limiter=RateLimiter(settings.rate_limit_per_minute, burst=rate_burst),
            retry=retry,
            session=session,
        )

    @property
    def deadline(self) -> Deadline | None:
        return self.transport.deadline

    @deadline.setter
    def deadline(self, value: Deadline | None) -> None:
        self.transport.deadline = value

    # Projects

    def iter_projects(self) -> Iterator[Project]:
        """Yield every Pages project of the account, page by page."""
        path = "/pages/projects"
        for item in self._paginate(path, {}):
            yield _parse(Project.from_api, item, "GET", path)

    def list_projects(self) -> list[Project]:
        return list(self.iter_projects())

    def get_project(self, project: str) -> Project:
        path = self._project_path(project)
        return _parse(Project.from_api, self._object(self._get(path), "GET", path), "GET", path)

    # Deployments

    def iter_deployments(self, project: str, *, env: str | None = None) -> Iterator[Deployment]:
        """Yield every deployment of a project, newest first, optionally only one environment's."""
        params = _env_params(env)
        path = f"{self._project_path(project)}/deployments"
        for item in self._paginate(path, params):
            yield _parse(Deployment.from_api, item, "GET", path)

    def list_deployments_page(
        self, project: str, *, page: int = 1, per_page: int = MAX_PER_PAGE, env: str | None = None
    ) -> DeploymentPage:
        """Fetch one page of a project's deployments (newest first)."""
        if page < 1 or not 1 <= per_page <= MAX_PER_PAGE:
            raise ValueError(f"page must be >= 1 and per_page 1..{MAX_PER_PAGE}, got {page} and {per_page}")
        path = f"{self._project_path(project)}/deployments"
        envelope = self._get(path, {**_env_params(env), "page": page, "per_page": per_page})
        items = self._list(envelope, path)
        info = envelope.result_info
        return DeploymentPage(
            deployments=tuple(_parse(Deployment.from_api, item, "GET", path) for item in items),
            page=page,
            per_page=per_page,
            total_count=_int(info.get("total_count")),
            total_pages=_total_pages(info, per_page),
        )

    def get_deployment(self, project: str, deployment_id: str) -> Deployment:
        path = self._deployment_path(project, deployment_id)
        return _parse(Deployment.from_api, self._object(self._get(path), "GET", path), "GET", path)

    def create_deployment(self, project: str, *, branch: str | None = None) -> Deployment:
        """Start a build of `branch` (the production branch when None). Never retried after it was sent."""
        path = f"{self._project_path(project)}/deployments"
        files = None
        if branch is not None:
            if not BRANCH_PATTERN.fullmatch(branch):
                raise InvalidIdentifierError(f"invalid branch name {branch!r}")
            # (None, value) makes requests send a multipart/form-data text field, as this endpoint expects.
            files = {"branch": (None, branch)}
        envelope = self.transport.request("POST", self._url(path), display_path=path, files=files)
        return _parse(Deployment.from_api, self._object(envelope, "POST", path), "POST", path)

    def delete_deployment(self, project: str, deployment_id: str, *, force: bool = False) -> None:
        """Delete a deployment; `force` is needed for an aliased one.

        Raises `DeploymentNotFoundError` when it is already gone and `AliasedDeploymentError` when it is
        aliased and `force` is False.
        """
        path = self._deployment_path(project, deployment_id)
        params = {"force": "true"} if force else None
        self.transport.request("DELETE", self._url(path), display_path=path, params=params)

    def get_build_logs(self, project: str, deployment_id: str) -> BuildLogs:
        path = f"{self._deployment_path(project, deployment_id)}/history/logs"
        return BuildLogs.from_api(self._object(self._get(path), "GET", path))

    def trigger_deploy_hook(self, hook_url: str) -> str | None:
        """Post to a deploy hook and return the new deployment's id when the response has one.

        The hook URL is itself a credential, so it must live under this client's API root and is never
        logged: messages show the hook path with the id redacted.
        """
        display_path = f"{DEPLOY_HOOK_PATH}<redacted>"
        prefix = f"{self.transport.base_url}{DEPLOY_HOOK_PATH}"
        hook_id = hook_url[len(prefix) :] if hook_url.startswith(prefix) else ""
        if not DEPLOY_HOOK_ID_PATTERN.fullmatch(hook_id) or urlsplit(hook_url).query:
            raise InvalidIdentifierError(
                "deploy hook URL must have the form "
                f"{self.transport.base_url}{DEPLOY_HOOK_PATH}<hook id> (value not shown: it is a credential)"
            )
        envelope = self.transport.request(
            "POST", hook_url, display_path=display_path, authenticated=False, redact=(hook_id,)
        )
        result = envelope.result
        if isinstance(result, Mapping) and isinstance(result.get("id"), str):
            return str(result["id"])
        return None

    # Helpers

    def _get(self, path: str, params: Mapping[str, str | int] | None = None) -> Envelope:
        return self.transport.request("GET", self._url(path), display_path=path, params=params)

    def _url(self, path: str) -> str:
        return f"{self.transport.base_url}/accounts/{self.account_id}{path}"

    def _paginate(self, path: str, params: Mapping[str, str]) -> Iterator[Mapping[str, Any]]:
        """Yield the items of every page, stopping at the end without requesting a page past it.

        The end is an empty page, or the last page by `total_pages` (or `total_count`). Only when the
        response has neither total does a short page end the listing: the totals win over a short page,
        so a server that pages by fewer than `per_page` items loses nothing. Without totals a full last
        page forces one more request, which may come back empty or, on some endpoints, as 8000024; both
        mean the listing is complete.
        """
        page = 1
        while True:
            try:
                envelope = self._get(path, {**params, "page": page, "per_page": MAX_PER_PAGE})
            except InvalidListOptionsError:
                if page == 1:
                    raise
                return
            items = self._list(envelope, path)
            yield from items
            total_pages = _total_pages(envelope.result_info, MAX_PER_PAGE)
            if not items:
                return
            if total_pages is not None and page >= total_pages:
                return
            if total_pages is None and len(items) < MAX_PER_PAGE:
                return
            page += 1

    def _project_path(self, project: str) -> str:
        if not isinstance(project, str) or not PROJECT_NAME_PATTERN.fullmatch(project):
            raise InvalidIdentifierError(f"invalid Pages project name {project!r}")
        return f"/pages/projects/{project}"

    def _deployment_path(self, project: str, deployment_id: str) -> str:
        if not isinstance(deployment_id, str) or not DEPLOYMENT_ID_PATTERN.fullmatch(deployment_id):
            raise InvalidIdentifierError(f"invalid deployment id {deployment_id!r}")
        return f"{self._project_path(project)}/deployments/{quote(deployment_id, safe='')}"

    @staticmethod
    def _object(envelope: Envelope, method: str, path: str) -> Mapping[str, Any]:
        if not isinstance(envelope.result, Mapping):
            raise MalformedResponseError(
                method=method, path=path, status=200, reason="result is not an object"
            )
        return envelope.result

    @staticmethod
    def _list(envelope: Envelope, path: str) -> list[Mapping[str, Any]]:
        result = envelope.result
        if not isinstance(result, list):
            raise MalformedResponseError(method="GET", path=path, status=200, reason="result is not a list")
        for index, item in enumerate(result):
            if not isinstance(item, Mapping):
                raise MalformedResponseError(
                    method="GET", path=path, status=200, reason=f"result item {index} is not an object"
                )
        return result


def _parse(
    parser: Callable[[Mapping[str, Any]], _Model], data: Mapping[str, Any], method: str, path: str
) -> _Model:
    """Build a model from an API object, reporting an object without its required field as malformed."""
    try:
        return parser(data)
    except ValueError as exc:
        raise MalformedResponseError(method=method, path=path, status=200, reason=str(exc)) from exc


def _env_params(env: str | None) -> dict[str, str]:
    if env is None:
        return {}
    if env not in ENVIRONMENTS:
        raise ValueError(f"env must be 'production' or 'preview', got {env!r}")
    return {"env": env}


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _total_pages(info: Mapping[str, Any], per_page: int) -> int | None:
    """`total_pages` from result_info, else derived from `total_count`; None when neither is given.

    The count is divided by the page size the response reports, because that is how the server paged.
    `per_page` (the requested size) is the fallback when the response reports none.
    """
    total_pages = _int(info.get("total_pages"))
    if total_pages is not None:
        return total_pages
    total_count = _int(info.get("total_count"))
    if total_count is None:
        return None
    page_size = _int(info.get("per_page"))
    if page_size is None or page_size < 1:
        page_size = per_page
    return max(1, math.ceil(total_count / page_size))
