"""Scheduled deployment pruner: the Lambda entry point. The logic lives in pages_ops.pruner."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers

from pages_ops import runtime
from pages_ops.pruner import prune

if TYPE_CHECKING:
    # A type only: importing it at run time would add to the cold start.
    from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger()
metrics = Metrics()
# The layer logs through the standard library (one line per deleted deployment, one summary per project).
# Lambda's root logger drops INFO, so the `pages_ops` loggers get the Powertools handler: JSON lines with
# the invocation's keys.
copy_config_to_registered_loggers(source_logger=logger, include={"pages_ops"})
runtime.settings()  # parse the environment at cold start, so a bad value fails the first invocation


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # The client raises on the first 429 instead of retrying: the pruner then stops and the next run
    # continues, rather than waiting on an account that Cloudflare blocks for minutes.
    return prune(
        event,
        context,
        settings=runtime.settings(),
        client=runtime.client(retry_rate_limited=False),
        metrics=metrics,
    ).to_dict()
