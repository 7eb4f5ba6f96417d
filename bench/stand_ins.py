"""The local stand-ins the benchmarks run against, their data sets, and the functions' environments.

AWS is moto's server on 127.0.0.1 (`sandbox.aws.LocalAws`) with the stack's secret and idempotency table.
Cloudflare is `sandbox.cloudflare_pages.PagesSandbox`, started per measurement with the data it needs:

- a small account (`seed_account`): three Git projects with a week of recent builds each and a few old
  production builds that the pruner deletes, so every function's first event does real work;
- a backlog (`seed_backlog`): one project with thousands of old production builds, all deletable except the
  newest KEEP_LATEST, for the pruner's throughput and convergence.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Final

from sandbox.aws import LocalAws
from sandbox.cloudflare_pages import SANDBOX_ACCOUNT_ID, SANDBOX_API_TOKEN, PagesSandbox
from sandbox.cloudflare_pages.store import PagesStore

SECRET_NAME: Final = "cf-pages-ops/bench"  # noqa: S105 - the secret's name, not its value
TABLE_NAME: Final = "cf-pages-ops-bench-idempotency"
# "docs" first: the sample status page events in events/status_page/ ask for /projects/docs.
ACCOUNT_PROJECTS: Final = ("docs", "blog", "marketing-site")
RECENT_DEPLOYMENTS_PER_PROJECT: Final = 24
OLD_DEPLOYMENTS_PER_PROJECT: Final = 4
BACKLOG_PROJECT: Final = "backlog-site"
# The pruner keeps the newest KEEP_LATEST (default 3) deployments of each environment whatever their age.
BACKLOG_KEPT: Final = 3
# POWERTOOLS_SERVICE_NAME of each function in template.yaml.
SERVICE_NAMES: Final = {
    "trigger_build": "trigger-build",
    "prune_deployments": "prune-deployments",
    "status_page": "status-page",
}
TIMEOUTS: Final = {"trigger_build": 60.0, "prune_deployments": 300.0, "status_page": 10.0}


def seed_account(store: PagesStore, now: datetime) -> int:
    """Add the small account's projects and return how many deployments a pruner run deletes in it.

    Each project gets RECENT_DEPLOYMENTS_PER_PROJECT builds of the last six days, production and preview,
    some of them failed, skipped or canceled, all within the 7-day retention. It also gets
    OLD_DEPLOYMENTS_PER_PROJECT successful production builds one to two months old, which are neither live
    nor among the newest three.
    The fixed seeds give the same deployments, ids included, on every call with the same `now`.
    """
    for index, name in enumerate(ACCOUNT_PROJECTS):
        store.add_project(name, subdomain=f"{name}-bench.pages.dev", created_on=now - timedelta(days=400))
        store.generate_history(
            name,
            count=RECENT_DEPLOYMENTS_PER_PROJECT,
            start=now - timedelta(days=6),
            end=now - timedelta(hours=1),
            rng_seed=1000 + index,
        )
        store.generate_history(
            name,
            count=OLD_DEPLOYMENTS_PER_PROJECT,
            start=now - timedelta(days=60),
            end=now - timedelta(days=30),
            production_share=1.0,
            failure_rate=0.0,
            skip_rate=0.0,
            cancel_rate=0.0,
            rng_seed=2000 + index,
        )
    return OLD_DEPLOYMENTS_PER_PROJECT * len(ACCOUNT_PROJECTS)


def seed_backlog(store: PagesStore, now: datetime, deletable: int) -> int:
    """Add BACKLOG_PROJECT with `deletable` deletable deployments; return the total number of deployments.

    Every deployment is a successful production build 8 to 400 days old, so the retention rules keep only
    the newest BACKLOG_KEPT (the newest of which is live) and select all others.
    """
    total = deletable + BACKLOG_KEPT
    store.add_project(
        BACKLOG_PROJECT, subdomain=f"{BACKLOG_PROJECT}.pages.dev", created_on=now - timedelta(days=500)
    )
    store.generate_history(
        BACKLOG_PROJECT,
        count=total,
        start=now - timedelta(days=400),
        end=now - timedelta(days=8),
        production_share=1.0,
        failure_rate=0.0,
        skip_rate=0.0,
        cancel_rate=0.0,
        rng_seed=7,
    )
    return total


def account_sandbox(*, latency_seconds: float = 0.0) -> tuple[PagesSandbox, int]:
    """Start a stand-in with the small account; return it and the number of deployments a pruner deletes.

    Builds started through it finish at once, so SKIP_IF_BUILDING never skips the next run's build.
    """
    sandbox = PagesSandbox(port=0, seed=None, stage_seconds=0.0)
    deletable = seed_account(sandbox.store, datetime.now(UTC))
    sandbox.faults.global_latency = latency_seconds
    sandbox.start()
    return sandbox, deletable


class LocalAccount:
    """moto on 127.0.0.1 with the stack's secret (the sandbox's fake API token) and idempotency table."""

    def __init__(self) -> None:
        self.aws = LocalAws()

    def start(self) -> LocalAccount:
        self.aws.start()
        self.aws.put_secret(SECRET_NAME, {"api_token": SANDBOX_API_TOKEN})
        self.aws.create_idempotency_table(TABLE_NAME)
        return self

    def stop(self) -> None:
        self.aws.stop()

    def environment(self) -> dict[str, str]:
        return self.aws.environment()


def function_environment(
    function: str,
    *,
    aws: Mapping[str, str],
    api_base_url: str,
    code_dir: Path,
    home: Path,
    path: str,
) -> dict[str, str]:
    """Build the environment of a stand-in Lambda process for `function` from these values only.

    The variables are the template's (Globals plus the function's own, at their defaults) and the ones the
    Lambda runtime sets that Powertools or botocore read. `home` should be an empty directory, so no AWS
    configuration of the machine's user is read. Logs and metrics stay on, as deployed.
    """
    environment = {
        "PATH": path,
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "TZ": "UTC",
        "AWS_CONFIG_FILE": str(home / "aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(home / "aws-credentials"),
        **aws,
        "AWS_LAMBDA_FUNCTION_NAME": f"cf-pages-ops-{SERVICE_NAMES[function]}",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
        "LAMBDA_TASK_ROOT": str(code_dir),
        "_HANDLER": "app.lambda_handler",
        "POWERTOOLS_SERVICE_NAME": SERVICE_NAMES[function],
        "POWERTOOLS_METRICS_NAMESPACE": "CfPagesOps",
        "POWERTOOLS_LOG_LEVEL": "INFO",
        "CLOUDFLARE_ACCOUNT_ID": SANDBOX_ACCOUNT_ID,
        "CLOUDFLARE_SECRET_ID": SECRET_NAME,
        "CLOUDFLARE_API_BASE_URL": api_base_url,
        "PAGES_PROJECTS": ",".join(ACCOUNT_PROJECTS),
    }
    if function == "trigger_build":
        environment.update({"SKIP_IF_BUILDING": "true", "IDEMPOTENCY_TABLE": TABLE_NAME})
    elif function == "prune_deployments":
        environment.update({"RETENTION_DAYS": "7", "KEEP_LATEST": "3", "DRY_RUN": "false"})
    elif function == "status_page":
        environment["STATUS_CACHE_SECONDS"] = "30"
    return environment
