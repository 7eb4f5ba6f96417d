"""HTTP status page: the Lambda entry point. The logic lives in pages_ops.status.web."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers

from pages_ops import runtime
from pages_ops.status.service import MAX_FETCH_THREADS
from pages_ops.status.web import handle_request

if TYPE_CHECKING:
    # A type only: importing it at run time would add to the cold start.
    from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger()
metrics = Metrics()
# The layer logs through the standard library (retries, cache fallbacks). Lambda's root logger drops INFO,
# so the `pages_ops` loggers get the Powertools handler: JSON lines with the invocation's keys.
copy_config_to_registered_loggers(source_logger=logger, include={"pages_ops"})
runtime.settings()  # parse the environment at cold start, so a bad value fails the first invocation


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # A page must not wait out a 429: the client raises at once and the page serves its cached copy.
    # The burst lets the index fetch its projects in parallel instead of one rate-limiter slot apart.
    client = runtime.client(retry_rate_limited=False, rate_burst=MAX_FETCH_THREADS)
    return handle_request(
        event,
        context,
        settings=runtime.settings(),
        client=client,
        secrets=runtime.secrets(),
        log=logger,
        metrics=metrics,
    )
