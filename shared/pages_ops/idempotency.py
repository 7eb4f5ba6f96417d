"""Per-project, per-tick records of the build trigger in DynamoDB, through Powertools idempotency.

One record exists per (account, project, requested branch, schedule tick, attempt). While an invocation
starts the build, the record is INPROGRESS; Powertools makes that write conditional, so a second delivery of
the same tick cannot start a second build at the same time. The in-progress state expires with the
invocation's remaining time (`IdempotencyConfig.register_lambda_context`), so the retry of an invocation
that timed out is not blocked for long. A finished attempt is stored as COMPLETED with its result, which
later deliveries of the tick replay. The record of an attempt that raised is deleted, so a retry starts
afresh.

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
    from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord
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
            try:
                persistence_store = DynamoDBPersistenceLayer(table_name=table_name)
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
        prior = self._read(payload)
        recover_since: datetime | None = None
        if prior is not None:
            if prior.status == "COMPLETED":
                return LedgerEntry(record=_stored_result(prior.response_json_as_dict()), replayed=True)
            if prior.status == "INPROGRESS":
                recover_since = self._abandoned_since(prior)
                if recover_since is None:
                    raise TickInProgressError(
                        f"another invocation is starting the build of {key.project} for tick {key.tick}"
                    )
                logger.warning(
                    "an earlier invocation took the record of %s for tick %s (attempt %d) at %s and ended "
                    "without a result; looking for the build it may have started before starting one",
                    key.project,
                    key.tick,
                    attempt,
                    recover_since.isoformat(),
                )

        ran = False

        def run_start(tick: dict[str, Any]) -> dict[str, Any]:
            nonlocal ran
            ran = True
            return start(recover_since)

        guarded = idempotent_function(
            run_start,
            data_keyword_argument="tick",
            persistence_store=self._store,
            config=self._config,
            key_prefix=KEY_PREFIX,
        )
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

    def _read(self, payload: dict[str, Any]) -> DataRecord | None:
        """Read the current record of `payload`. Return None when there is none or it has expired."""
        from aws_lambda_powertools.utilities.idempotency.exceptions import (  # noqa: PLC0415
            BaseError,
            IdempotencyItemNotFoundError,
        )

        try:
            record = self._store.get_record(data=payload)
        except IdempotencyItemNotFoundError:
            return None
        except BaseError as exc:
            raise LedgerError(f"could not read idempotency table {self.table_name}: {exc}") from exc
        except Exception as exc:  # boto3 raises botocore errors of many types
            raise LedgerError(
                f"could not read idempotency table {self.table_name}: {type(exc).__name__}: {exc}"
            ) from exc
        if record is None or record.status == "EXPIRED":
            return None
        return record

    @staticmethod
    def _abandoned_since(record: DataRecord) -> datetime | None:
        """When an INPROGRESS record's holder took it, if its in-progress time ran out; else None."""
        # DynamoDB numbers arrive as Decimal: in-progress expiry in milliseconds, expiry in seconds.
        expiry_ms = record.in_progress_expiry_timestamp
        if expiry_ms is None or int(expiry_ms) >= datetime.now(UTC).timestamp() * 1000:
            return None
        # Powertools sets the record's expiry to the time it was written plus the TTL.
        written = int(record.expiry_timestamp or 0) - RECORD_TTL_SECONDS
        return datetime.fromtimestamp(max(0, written), UTC)


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

    The ledger is reused across warm invocations because creating it is slow: about 220 ms for the first
    one (Powertools and boto3 imports plus the DynamoDB client) and 50 ms for each later client, measured
    with Python 3.11 on a 2-core x86-64 development machine.
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
