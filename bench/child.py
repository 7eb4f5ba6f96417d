"""The process the benchmarks start to stand in for a fresh Lambda container.

`python3.13 -I -B bench/child.py '<json config>'` runs one of three jobs and reports to the parent as JSON
lines on the file descriptor named in the config (stdout belongs to the function's logs, as on Lambda):

- `baseline`: import boto3 and requests, create a Secrets Manager client, then report.
- `floor`: the least a function's first event can cost with its dependencies but none of our code. It
  imports the function's third-party modules, creates Powertools' Logger and Metrics, reads the secret,
  makes the build trigger's DynamoDB writes, and sends the Cloudflare requests of the function's own
  sample again, one after another, with plain requests.
- `invoke`: import the handler module, serve one event, report the time stamps and the peak RSS. Given
  `steps`, it first imports the handler's dependencies group by group and stamps the end of each group.
- `status`: import the status page handler, time warm cache hits and misses per route, then serve it
  through the local API Gateway front until standard input closes, so the parent can send load.

`-I` keeps the caller's PYTHONPATH, user site and script directory off `sys.path`. The config then lays the
path out as Lambda does: the function's code first (`/var/task`), then the layer (`/opt/python`), then the
interpreter's own site-packages, where the runtime's boto3 lives. `-B` keeps the process from writing
bytecode, as on Lambda, where both directories are read-only.

Only the standard library is imported before the measured imports, so nothing the function needs is loaded
early. Time stamps are `time.monotonic()`, which on Linux is one clock for every process, so the parent can
subtract the moment it spawned this process.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable, Mapping
from typing import Any, Final

# Account and region in the function ARN of the fake context.
FAKE_ACCOUNT: Final = "123456789012"
FAKE_REGION: Final = "us-east-1"


class LambdaContext:
    """The attributes of a Lambda context object, with a deadline that starts at construction."""

    def __init__(self, function_name: str, timeout_seconds: float, memory_mb: int = 128) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = memory_mb
        self.aws_request_id = _request_id()
        self.invoked_function_arn = f"arn:aws:lambda:{FAKE_REGION}:{FAKE_ACCOUNT}:function:{function_name}"
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = "2026/01/01/[$LATEST]bench"
        self._deadline = time.monotonic() + timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def _request_id() -> str:
    # A random UUID in its text form, without importing uuid before the measured imports.
    hex_digits = os.urandom(16).hex()
    return "-".join((hex_digits[:8], hex_digits[8:12], hex_digits[12:16], hex_digits[16:20], hex_digits[20:]))


def _copy(event: Mapping[str, Any]) -> Any:
    # Each call gets its own copy, because a handler may change the event it is given.
    return json.loads(json.dumps(event))


class Reporter:
    """Writes one JSON object per line to the parent's pipe."""

    def __init__(self, fd: int) -> None:
        self._fd = fd

    def send(self, message: Mapping[str, Any]) -> None:
        data = (json.dumps(message, separators=(",", ":")) + "\n").encode("utf-8")
        while data:
            written = os.write(self._fd, data)
            data = data[written:]


def lay_out_path(prepend: list[str], append: list[str]) -> None:
    """Put the function and layer directories first on `sys.path` and helper directories last."""
    sys.path[0:0] = prepend
    sys.path.extend(append)


def peak_rss_bytes() -> int:
    """Peak resident set size of this process so far, from VmHWM in /proc/self/status.

    Not `getrusage(RUSAGE_SELF).ru_maxrss`: Linux keeps that value across execve (getrusage(2)), so a
    process spawned by the benchmark driver starts from the driver's peak (about 100 MB here) and would
    report that. ru_maxrss is the fallback where /proc is missing.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    import resource  # noqa: PLC0415 - only needed once the measured work is done

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def summarize_response(response: object) -> dict[str, Any]:
    """Reduce a handler's response to what the parent checks: a status code, or counts of the results."""
    if not isinstance(response, Mapping):
        return {"type": type(response).__name__}
    if "statusCode" in response:
        return {"status": response["statusCode"]}
    summary: dict[str, Any] = {}
    results = response.get("results")
    if isinstance(results, list):
        actions: dict[str, int] = {}
        deleted = 0
        for item in results:
            if not isinstance(item, Mapping):
                continue
            if "action" in item:
                action = str(item["action"])
                actions[action] = actions.get(action, 0) + 1
            if isinstance(item.get("deleted"), list):
                deleted += len(item["deleted"])
        summary = {"projects": len(results), "actions": actions, "deleted": deleted}
    return summary


def speed_up_client(per_minute: float, burst: int) -> None:
    """Give the container API clients with this rate ceiling, built as `pages_ops.runtime` builds them.

    The deployed ceiling (at most 240 requests a minute, one request at a time) spaces requests by a quarter
    of a second or more, which would measure the rate limiter instead of the start-up work.
    """
    from pages_ops import runtime  # noqa: PLC0415 - imported by the handler module already
    from pages_ops.client import PagesClient  # noqa: PLC0415
    from pages_ops.timing import RateLimiter, RetryPolicy  # noqa: PLC0415

    settings = runtime.settings()
    secrets = runtime.secrets()
    limiter = RateLimiter(per_minute, burst=burst)
    first = PagesClient(
        settings.account_id,
        secrets,
        base_url=settings.api_base_url,
        rate_limiter=limiter,
        retry=RetryPolicy(retry_rate_limited=True),
    )
    second = PagesClient(
        settings.account_id,
        secrets,
        base_url=settings.api_base_url,
        rate_limiter=limiter,
        retry=RetryPolicy(retry_rate_limited=False),
        session=first.transport.session,
    )
    runtime.override(clients={True: first, False: second})


def run_baseline(imports_label: str) -> dict[str, Any]:
    """Import boto3 and requests, then create the Secrets Manager client, stamping the end of the imports.

    The client comes last, as in a function, whose first event creates it.
    """
    import boto3  # noqa: PLC0415 - the import is what is measured
    import requests  # noqa: PLC0415, F401 - the import is what is measured

    imported = time.monotonic()
    boto3.client("secretsmanager")
    return {"steps": [[imports_label, imported]], "imported": imported, "done": time.monotonic()}


def run_floor(config: Mapping[str, Any]) -> dict[str, Any]:
    """Run a function's first-event work with its dependencies alone (see the module docstring)."""
    import importlib  # noqa: PLC0415 - after the clock started, like the runtime's own import

    import boto3  # noqa: PLC0415 - the imports are part of what is measured
    import requests  # noqa: PLC0415

    for name in config["imports"]:
        importlib.import_module(name)
    from aws_lambda_powertools import Logger, Metrics  # noqa: PLC0415 - imported by the loop above

    # Every handler module creates these at import time.
    Logger()
    Metrics()
    imported = time.monotonic()

    session = boto3.session.Session()
    secret = session.client("secretsmanager").get_secret_value(SecretId=os.environ["CLOUDFLARE_SECRET_ID"])
    token = json.loads(secret["SecretString"])["api_token"]
    writes = config.get("dynamodb_writes", 0)
    if writes:
        dynamodb = session.client("dynamodb")
        write_records(dynamodb, os.environ["IDEMPOTENCY_TABLE"], int(writes))

    http = requests.Session()
    headers = {"Authorization": f"Bearer {token}"}
    for method, path, query in config["requests"]:
        response = http.request(method, config["origin"] + path, params=query, headers=headers, timeout=30)
        response.json()
        if response.status_code >= 400:
            return {"error": f"{method} {path} returned {response.status_code}", "imported": imported}
    return {"imported": imported, "done": time.monotonic()}


def write_records(dynamodb: Any, table: str, count: int) -> None:
    """Write `count` records as an idempotency layer does: a conditional PutItem, then an UpdateItem each."""
    nonce = os.urandom(8).hex()
    expiry = {"N": str(int(time.time()) + 3600)}
    for index in range(count):
        key = {"id": {"S": f"bench-floor#{nonce}-{index}"}}
        dynamodb.put_item(
            TableName=table,
            Item={**key, "status": {"S": "INPROGRESS"}, "expiration": expiry},
            ConditionExpression="attribute_not_exists(id)",
        )
        dynamodb.update_item(
            TableName=table,
            Key=key,
            UpdateExpression="SET #status = :status, #data = :data",
            ExpressionAttributeNames={"#status": "status", "#data": "data"},
            ExpressionAttributeValues={":status": {"S": "COMPLETED"}, ":data": {"S": "{}"}},
        )


def load_handler(config: Mapping[str, Any]) -> Callable[[Any, Any], Any]:
    import importlib  # noqa: PLC0415 - after the clock started, like the runtime's own import

    module = importlib.import_module(config["handler_module"])
    client = config.get("client")
    if client:
        speed_up_client(float(client["per_minute"]), int(client["burst"]))
    handler: Callable[[Any, Any], Any] = module.lambda_handler
    return handler


def import_steps(steps: list[list[Any]]) -> list[list[Any]]:
    """Import each step's modules in order; return [label, time stamp at the end of the step] per step."""
    import importlib  # noqa: PLC0415 - after the clock started, like the runtime's own import

    marks = []
    for label, modules in steps:
        for name in modules:
            importlib.import_module(name)
        marks.append([label, time.monotonic()])
    return marks


def run_invoke(config: Mapping[str, Any]) -> dict[str, Any]:
    # Optional: import the handler's dependencies step by step first, to see what each step costs.
    steps = import_steps(list(config.get("steps", [])))
    handler = load_handler(config)
    imported = time.monotonic()
    context = LambdaContext(config["function_name"], float(config["timeout_seconds"]))
    error = None
    response: object = None
    try:
        response = handler(_copy(config["event"]), context)
    except Exception as exc:  # noqa: BLE001 - reported to the parent, which fails the benchmark
        error = f"{type(exc).__name__}: {exc}"
    done = time.monotonic()
    return {
        "steps": steps,
        "imported": imported,
        "done": done,
        "error": error,
        "response": summarize_response(response),
    }


def time_calls(
    handler: Callable[[Any, Any], Any], event: Mapping[str, Any], config: Mapping[str, Any], count: int
) -> tuple[list[int], list[int]]:
    """Call the handler `count` times and return each call's duration (ns) and response status."""
    durations: list[int] = []
    statuses: list[int] = []
    for _ in range(count):
        request = _copy(event)
        context = LambdaContext(config["function_name"], float(config["timeout_seconds"]))
        started = time.perf_counter_ns()
        response = handler(request, context)
        durations.append(time.perf_counter_ns() - started)
        statuses.append(int(response.get("statusCode", 0)) if isinstance(response, Mapping) else 0)
    return durations, statuses


def run_status(config: Mapping[str, Any], reporter: Reporter) -> None:
    """Time cache hits, then cache misses (STATUS_CACHE_SECONDS=0), per route; then serve the page."""
    import dataclasses  # noqa: PLC0415 - standard library, after the measured imports

    from pages_ops import runtime  # noqa: PLC0415 - the layer, laid out on sys.path by now

    handler = load_handler(config)
    job = config["status"]
    routes: list[Mapping[str, Any]] = job["routes"]
    settings = runtime.settings()

    hits = []
    for route in routes:
        handler(_copy(route["event"]), LambdaContext(config["function_name"], 10.0))
        durations, statuses = time_calls(handler, route["event"], config, int(job["hits"]))
        hits.append({"route": route["name"], "durations_ns": durations, "statuses": statuses})

    # A cache time of 0 makes every request fetch again, with the connection pool and threads already warm,
    # as when a warm container's cache entries have expired. A new settings object gives a new status app.
    runtime.override(settings_value=dataclasses.replace(settings, status_cache_seconds=0))
    misses = []
    for route in routes:
        handler(_copy(route["event"]), LambdaContext(config["function_name"], 10.0))
        window_start = time.monotonic()
        durations, statuses = time_calls(handler, route["event"], config, int(job["misses"]))
        window_end = time.monotonic()
        misses.append(
            {
                "route": route["name"],
                "durations_ns": durations,
                "statuses": statuses,
                "window": [window_start, window_end],
            }
        )
    runtime.override(settings_value=settings)
    reporter.send({"kind": "latency", "hits": hits, "misses": misses})

    if not job.get("serve"):
        return
    from sandbox.apigateway import ApiGatewayFront  # noqa: PLC0415 - stdlib-only module of the repository

    front = ApiGatewayFront(handler, port=0, function_name=config["function_name"])
    front.start()
    try:
        reporter.send({"kind": "ready", "url": front.url})
        # The parent closes standard input when its load run is over.
        sys.stdin.read()
    finally:
        front.stop()


def main(argv: list[str]) -> int:
    started = time.monotonic()
    config: dict[str, Any] = json.loads(argv[1])
    reporter = Reporter(int(config["report_fd"]))
    lay_out_path(list(config.get("prepend_paths", [])), list(config.get("append_paths", [])))

    mode = config["mode"]
    message: dict[str, Any] = {"kind": "result", "mode": mode, "started": started}
    if mode == "baseline":
        message.update(run_baseline(str(config.get("imports_label", "imports"))))
    elif mode == "invoke":
        message.update(run_invoke(config))
    elif mode == "floor":
        message.update(run_floor(config))
    elif mode == "status":
        run_status(config, reporter)
    else:
        raise SystemExit(f"unknown mode {mode!r}: use baseline, invoke, floor or status")
    message["peak_rss_bytes"] = peak_rss_bytes()
    message["modules"] = len(sys.modules)
    reporter.send(message)
    return 1 if message.get("error") else 0


if __name__ == "__main__":
    code = main(sys.argv)
    sys.stdout.flush()
    sys.stderr.flush()
    # Skip interpreter teardown: idle pool threads and open sockets would only add to the parent's wait.
    os._exit(code)
