"""Per-project, per-tick records of the build trigger in DynamoDB, through Powertools idempotency.

One record exists per (account, project, requested branch, schedule tick, attempt). While an invocation
starts the build, the record is INPROGRESS; Powertools makes that write conditional, so a second delivery of
the same tick cannot start a second build at the same time. The in-progress state expires with the
invocation's remaining time (`IdempotencyConfig.register_lambda_context`), so the retry of an invocation
that timed out is not blocked for long. A finished attempt is stored as COMPLETED with its result, which
later deliveries of the tick replay. The record of an attempt that raised is deleted, so a retry starts
afresh.

Each attempt costs two DynamoDB writes and no read. Powertools' conditional PutItem returns the existing
record when its condition fails, which covers a completed or a held record. When the condition passes over
an expired INPROGRESS record, PutItem replaces it silently, yet the invocation that held it may have started
a build. So the ledger asks PutItem for the replaced item (ReturnValues=ALL_OLD, through botocore's event
hooks on the client) and learns from it when that invocation took the record.

Powertools (and through it boto3) is imported only when a `TickLedger` is created, that is only when
IDEMPOTENCY_TABLE is set, because the trigger's cold start is measured.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final, cast

from pages_ops.errors import PagesOpsError

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer, IdempotencyConfig
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from pages_ops.timing import LambdaContextLike

logger = logging.getLogger(__name__)

# Every key starts with this, so the table can be shared with other functions without collisions.
KEY_PREFIX: Final = "cf-pages-ops.trigger_build"
# A record must outlive every redelivery of its tick, or a late retry would build again. EventBridge
# Scheduler retries for at most 24 hours and Lambda's asynchronous retries for at most 6 hours.
RECORD_TTL_SECONDS: Final = 2 * 86_400
# Powertools' switch that turns idempotency off (for local development only).
IDEMPOTENCY_DISABLED: Final = "POWERTOOLS_IDEMPOTENCY_DISABLED"

_TRUE_WORDS: Final = frozenset({"1", "true", "yes", "on", "y", "t"})


class LedgerError(PagesOpsError):
    """The idempotency table could not be read or written. Nothing about the build is known from it."""


class TickInProgressError(PagesOpsError):
    """Another invocation owns the record of this tick and project and is starting the build now."""


@dataclass(frozen=True, slots=True)
class TickKey:
    """Identity of one idempotency record: a project's build for one schedule tick.

    The requested branch is part of the key so that two schedules that fire at the same instant for
    different branches of one project each get their build.
    """

    account_id: str
    project: str
    branch: str | None
    tick: str

    def payload(self, attempt: int) -> dict[str, Any]:
        """Return the JSON object Powertools hashes into the record's key."""
        return {
            "account_id": self.account_id,
            "project": self.project,
            "branch": self.branch,
            "tick": self.tick,
            "attempt": attempt,
        }


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    """The result stored for one attempt, and whether an earlier invocation stored it."""

    record: Mapping[str, Any]
    replayed: bool


StartFunction = Callable[[datetime | None], dict[str, Any]]
"""Start the build and return the JSON-serialisable result to store.

The argument is normally None. An earlier invocation may have died while it owned the record, because it
timed out or was killed before it could store a result. The argument is then the time that invocation took
the record, and any build it started was created after that time.
"""


class TickLedger:
    """The trigger's idempotency records in one DynamoDB table (hash key `id`, TTL attribute `expiration`).

    Create one per container and call `bind(context)` at the start of each invocation.
    """

    def __init__(self, table_name: str, *, persistence_store: DynamoDBPersistenceLayer | None = None) -> None:
        from aws_lambda_powertools.utilities.idempotency import (  # noqa: PLC0415 - see the module docstring
            DynamoDBPersistenceLayer,
            IdempotencyConfig,
        )

        self.table_name = table_name
        self._config_class = IdempotencyConfig
        if persistence_store is None:
            from pages_ops import aws  # noqa: PLC0415 - boto3 on first use, see the module docstring

            try:
                persistence_store = DynamoDBPersistenceLayer(
                    table_name=table_name, boto3_client=aws.client("dynamodb")
                )
            except Exception as exc:  # botocore raises several types here (no region, bad endpoint, ...)
                raise LedgerError(
                    f"could not create a DynamoDB client for IDEMPOTENCY_TABLE {table_name} "
                    f"({type(exc).__name__}: {exc}). Check the function's region and AWS configuration."
                ) from exc
        self._store = persistence_store
        self._config = self._new_config()
        # configure() applies only the first configuration it is given. The key prefix makes record ids
        # independent of the Lambda function's name, so renaming the function keeps the records valid.
        self._store.configure(config=self._config, key_prefix=KEY_PREFIX)
        # The item that this thread's last PutItem replaced, or None.
        self._replaced = threading.local()
        events = self._store.client.meta.events
        events.register("before-parameter-build.dynamodb.PutItem", self._request_replaced_item)
        events.register("after-call.dynamodb.PutItem", self._keep_replaced_item)

    def _new_config(self) -> IdempotencyConfig:
        return self._config_class(expires_after_seconds=RECORD_TTL_SECONDS, raise_on_no_idempotency_key=True)

    def bind(self, context: LambdaContextLike) -> None:
        """Use this invocation's remaining time as the expiry of the records it takes."""
        config = self._new_config()
        # Powertools reads only get_remaining_time_in_millis() from the context.
        config.register_lambda_context(cast("LambdaContext", context))
        self._config = config

    def run(self, key: TickKey, attempt: int, start: StartFunction) -> LedgerEntry:
        """Run `start` at most once for `key` and `attempt`, or return the result an earlier run stored.

        Raises `TickInProgressError` when another invocation holds the record, `LedgerError` when DynamoDB
        fails, and whatever `start` raises (its record is then deleted, so a retry runs it again).
        """
        from aws_lambda_powertools.utilities.idempotency import idempotent_function  # noqa: PLC0415
        from aws_lambda_powertools.utilities.idempotency.exceptions import (  # noqa: PLC0415
            BaseError,
            IdempotencyAlreadyInProgressError,
        )

        payload = key.payload(attempt)
        ran = False

        def run_start(tick: dict[str, Any]) -> dict[str, Any]:
            # Powertools calls this only after its PutItem took the record.
            nonlocal ran
            ran = True
            recover_since = self._abandoned_since(getattr(self._replaced, "item", None))
            if recover_since is not None:
                logger.warning(
                    "an earlier invocation took the record of %s for tick %s (attempt %d) at %s and ended "
                    "without a result; looking for the build it may have started before starting one",
                    key.project,
                    key.tick,
                    attempt,
                    recover_since.isoformat(),
                )
            return start(recover_since)

        guarded = idempotent_function(
            run_start,
            data_keyword_argument="tick",
            persistence_store=self._store,
            config=self._config,
            key_prefix=KEY_PREFIX,
        )
        self._replaced.item = None
        try:
            result = guarded(tick=payload)
        except IdempotencyAlreadyInProgressError as exc:
            raise TickInProgressError(
                f"another invocation is starting the build of {key.project} for tick {key.tick}"
            ) from exc
        except BaseError as exc:
            raise LedgerError(
                f"idempotency table {self.table_name} failed for {key.project}, tick {key.tick}: {exc}"
            ) from exc
        return LedgerEntry(record=_stored_result(result), replayed=not ran)

    def replace(self, key: TickKey, attempt: int, record: Mapping[str, Any]) -> None:
        """Overwrite the stored result of `attempt` (used once an unknown outcome was found out)."""
        try:
            self._store.save_success(data=key.payload(attempt), result=dict(record))
        except Exception as exc:  # boto3 raises many error types; the caller only logs this one
            raise LedgerError(
                f"could not update the record of {key.project}, tick {key.tick} in {self.table_name}: "
                f"{type(exc).__name__}"
            ) from exc

    def _request_replaced_item(self, params: dict[str, Any], **kwargs: Any) -> None:
        if params.get("TableName") == self.table_name:
            params["ReturnValues"] = "ALL_OLD"

    def _keep_replaced_item(self, parsed: Mapping[str, Any], **kwargs: Any) -> None:
        # A failed PutItem arrives here too, without Attributes.
        self._replaced.item = parsed.get("Attributes")

    def _abandoned_since(self, replaced: Mapping[str, Any] | None) -> datetime | None:
        """Return when the holder of a replaced INPROGRESS record took it, or None for any other item.

        PutItem replaced the record, so one of its conditions held: the in-progress time had run out, or
        the whole record had expired. Only the first means that a build of this tick may exist.
        """
        if not replaced or _attribute(replaced, self._store.status_attr, "S") != "INPROGRESS":
            return None
        # DynamoDB numbers arrive as strings: in-progress expiry in milliseconds, expiry in seconds.
        expiry = _attribute(replaced, self._store.expiry_attr, "N")
        in_progress_expiry = _attribute(replaced, self._store.in_progress_expiry_attr, "N")
        if expiry is None or in_progress_expiry is None:
            return None
        now = datetime.now(UTC).timestamp()
        if int(expiry) < now or int(in_progress_expiry) >= now * 1000:
            return None
        # Powertools sets the record's expiry to the time it was written plus the TTL.
        written = int(expiry) - RECORD_TTL_SECONDS
        return datetime.fromtimestamp(max(0, written), UTC)


def _attribute(item: Mapping[str, Any], name: str, kind: str) -> str | None:
    """Return the value of a DynamoDB item's attribute of type `kind` ("S" or "N"), or None."""
    value = item.get(name)
    if not isinstance(value, Mapping):
        return None
    typed = value.get(kind)
    return typed if isinstance(typed, str) else None


def _stored_result(value: object) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise LedgerError(
            f"idempotency record contains a {type(value).__name__}, not a stored trigger result"
        )
    return value


_ledgers: dict[str, TickLedger] = {}
_ledgers_lock = threading.Lock()


def open_ledger(table_name: str) -> TickLedger | None:
    """Return the container's ledger for `table_name`, or None when Powertools idempotency is turned off.

    The ledger is reused across warm invocations, because creating it imports Powertools idempotency and
    creates a DynamoDB client (see `pages_ops.aws` for that client's cost).
    """
    if os.environ.get(IDEMPOTENCY_DISABLED, "").strip().lower() in _TRUE_WORDS:
        logger.warning(
            "%s is set: schedule ticks are not deduplicated, and a redelivered tick may start another build",
            IDEMPOTENCY_DISABLED,
        )
        return None
    with _ledgers_lock:
        ledger = _ledgers.get(table_name)
        if ledger is None:
            ledger = TickLedger(table_name)
            _ledgers[table_name] = ledger
        return ledger


def forget_ledgers() -> None:
    """Drop the cached ledgers, as a fresh container would (for tests)."""
    with _ledgers_lock:
        _ledgers.clear()
