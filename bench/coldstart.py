"""Cold start and memory: fresh python3.13 processes laid out like Lambda, each serving a first event.

Every sample is a new process. The baseline imports boto3, creates a Secrets Manager client and imports
requests from the built layer: the least any of these functions must do. Each function sample imports the
handler module and serves one event from events/ against a fresh stand-in with the small account, and moto.
A function's dependency floor does that first event's work with the function's dependencies alone (see
bench/child.py), so the gap between a function and its floor is the cost of our own code.
Variants run interleaved, in alternating order from round to round, so slow spells of a noisy machine spread
over all of them. Medians are compared within the one run.

A sample's time runs from just before the parent spawns the process to the moment the handler returns
(`init` until the handler module is imported, `first event` after that). Process teardown is not counted.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urlsplit

from bench import importtime
from bench.containers import FUNCTIONS, BenchError, ChildResult, Layout, run_child
from bench.report import Row, Section, Table, Verdict, mebibytes, milliseconds
from bench.stand_ins import (
    ACCOUNT_PROJECTS,
    TIMEOUTS,
    LocalAccount,
    account_sandbox,
    function_environment,
)
from bench.stats import Summary, median, union_length

if TYPE_CHECKING:
    from sandbox.cloudflare_pages import PagesSandbox

logger = logging.getLogger(__name__)

EVENTS: Final = Path(__file__).resolve().parent.parent / "events"
FIRST_EVENTS: Final = {
    "trigger_build": "trigger_build/scheduler.json",
    "prune_deployments": "prune_deployments/scheduler.json",
    "status_page": "status_page/http_api_index.json",
}
# The deployed client spaces requests 0.25 s or more apart. At this ceiling no sample waits for the limiter.
CLIENT_OVERRIDE: Final = {"per_minute": 60000.0, "burst": 8}
MAX_RATIO: Final = 1.15
MAX_PEAK_RSS_BYTES: Final = 100 * 1_048_576
TOP_IMPORTS: Final = 10
BASELINE: Final = "baseline"
STEP_ROUNDS: Final = 7
INTERPRETER_START: Final = "interpreter start"
HANDLER_MODULE: Final = "handler module (the rest) and API client"
FIRST_EVENT: Final = "first event"
UPSTREAM: Final = "of which the Cloudflare stand-in"
TOTAL: Final = "total"
POWERTOOLS_UTILITIES: Final = "Powertools utilities of the first event"
PAGES_OPS: Final = "pages_ops"
# Groups of modules each function imports, in the order a cold start needs them. The first event imports
# the Powertools utilities (and with them boto3) lazily, so importing them earlier moves their cost but not
# the total.
_BOTO3_AND_REQUESTS: Final = ("boto3 and requests (the baseline imports them too)", ("boto3", "requests"))
_POWERTOOLS_CORE: Final = (
    "Powertools Logger and Metrics",
    (
        "aws_lambda_powertools",
        "aws_lambda_powertools.logging.utils",
        "aws_lambda_powertools.utilities.typing",
    ),
)
_PARAMETERS: Final = "aws_lambda_powertools.utilities.parameters"
IMPORT_STEPS: Final[dict[str, tuple[tuple[str, tuple[str, ...]], ...]]] = {
    "trigger_build": (
        _BOTO3_AND_REQUESTS,
        _POWERTOOLS_CORE,
        (PAGES_OPS, ("pages_ops.runtime", "pages_ops.trigger")),
        (POWERTOOLS_UTILITIES, (_PARAMETERS, "aws_lambda_powertools.utilities.idempotency")),
    ),
    "prune_deployments": (
        _BOTO3_AND_REQUESTS,
        _POWERTOOLS_CORE,
        (PAGES_OPS, ("pages_ops.runtime", "pages_ops.pruner")),
        (POWERTOOLS_UTILITIES, (_PARAMETERS,)),
    ),
    "status_page": (
        _BOTO3_AND_REQUESTS,
        _POWERTOOLS_CORE,
        ("Powertools event handler", ("aws_lambda_powertools.event_handler",)),
        (PAGES_OPS, ("pages_ops.runtime", "pages_ops.status.web")),
        (POWERTOOLS_UTILITIES, (_PARAMETERS,)),
    ),
}


# The build trigger writes one idempotency record per project of its first event.
FLOOR_DYNAMODB_WRITES: Final = {"trigger_build": len(ACCOUNT_PROJECTS)}


def floor_imports(function: str) -> list[str]:
    """Return the modules a function imports, except pages_ops and the handler module."""
    return [name for label, names in IMPORT_STEPS[function] if label != PAGES_OPS for name in names]


@dataclass(frozen=True, slots=True)
class Variant:
    """A kind of sample: the baseline, one function in one code layout, or a function's dependency floor."""

    function: str | None
    layout: Layout
    floor: bool = False

    @property
    def label(self) -> str:
        if self.function is None:
            return f"{BASELINE} (boto3 + Secrets Manager client + requests)"
        if self.floor:
            return f"{self.function}, dependency floor"
        return f"{self.function}, {self.layout.name}"


@dataclass(frozen=True, slots=True)
class Sample:
    """One process's times in seconds. `upstream` is how long the Cloudflare stand-in had a request of
    the sample in flight (its own processing included), so it is part of `first_event`."""

    init: float
    first_event: float
    total: float
    peak_rss_bytes: int
    modules: int
    upstream: float = 0.0
    # With import steps: (label, seconds) from the spawn to the handler's return, in order.
    steps: tuple[tuple[str, float], ...] = ()

    @classmethod
    def from_child(
        cls,
        spawned: float,
        result: Mapping[str, Any],
        *,
        upstream: float = 0.0,
        steps: tuple[tuple[str, float], ...] = (),
    ) -> Sample:
        """Build a sample from a child's result message and the moment the parent spawned it."""
        return cls(
            init=result["imported"] - spawned,
            first_event=result["done"] - result["imported"],
            total=result["done"] - spawned,
            peak_rss_bytes=int(result["peak_rss_bytes"]),
            modules=int(result["modules"]),
            upstream=upstream,
            steps=steps,
        )


@dataclass(slots=True)
class ColdStartResults:
    rounds: int
    variants: list[Variant]
    samples: dict[Variant, list[Sample]] = field(default_factory=dict)
    imports: dict[str, list[importtime.ImportRecord]] = field(default_factory=dict)
    steps: dict[str, list[Sample]] = field(default_factory=dict)

    def totals(self, variant: Variant) -> list[float]:
        return [sample.total for sample in self.samples[variant]]

    def baseline(self) -> Variant:
        return next(variant for variant in self.variants if variant.function is None)

    def variant(self, function: str, layout: Layout) -> Variant:
        return next(
            item
            for item in self.variants
            if item.function == function and item.layout == layout and not item.floor
        )

    def floor(self, function: str) -> Variant | None:
        return next((item for item in self.variants if item.function == function and item.floor), None)


class Runner:
    """Runs cold-start samples: one fresh stand-in per function sample, one moto for the whole run."""

    def __init__(self, runtime_python: str, account: LocalAccount, scratch: Path) -> None:
        self.runtime_python = runtime_python
        self.account = account
        self.scratch = scratch
        self.home = scratch / "home"
        self.home.mkdir(exist_ok=True)
        self._runs = 0
        # Per function, the stand-in requests of its latest sample: [method, path, query], in order.
        self.recorded: dict[str, list[list[Any]]] = {}

    def sample(
        self,
        variant: Variant,
        *,
        python_options: Sequence[str] = ("-B",),
        import_steps: Sequence[tuple[str, Sequence[str]]] = (),
    ) -> tuple[Sample, str]:
        """Run one sample of `variant`; return it and the child's stderr.

        `import_steps` (label, modules) makes a function sample import those modules in order before the
        handler module and report the time of each step in `Sample.steps`.
        """
        self._runs += 1
        if variant.function is None:
            return self._baseline(variant.layout, python_options)
        if variant.floor:
            return self._floor(variant.function, variant.layout, python_options)
        return self._function(variant.function, variant.layout, python_options, import_steps)

    def _baseline(self, layout: Layout, python_options: Sequence[str]) -> tuple[Sample, str]:
        environment = {
            "PATH": _path(),
            "HOME": str(self.home),
            "LANG": "C.UTF-8",
            "TZ": "UTC",
            "AWS_CONFIG_FILE": str(self.home / "aws-config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(self.home / "aws-credentials"),
            **self.account.environment(),
        }
        config = {
            "mode": "baseline",
            "prepend_paths": [str(layout.layer)],
            "imports_label": _BOTO3_AND_REQUESTS[0],
        }
        child = run_child(
            self.runtime_python, config, environment=environment, cwd=self.home, python_options=python_options
        )
        result = child.result
        _check_exit(child.exit_code, result, child.stderr)
        # The baseline's `first event` is creating the Secrets Manager client, which a function's first
        # event does too. It has no handler module, so that step is left out.
        steps = tuple(step for step in step_durations(child.spawned, result) if step[0] != HANDLER_MODULE)
        return Sample.from_child(child.spawned, result, steps=steps), child.stderr

    def _function(
        self,
        function: str,
        layout: Layout,
        python_options: Sequence[str],
        import_steps: Sequence[tuple[str, Sequence[str]]],
    ) -> tuple[Sample, str]:
        code_dir = layout.function(function)

        def config(environment: Mapping[str, str], sandbox: PagesSandbox) -> dict[str, Any]:
            return {
                "mode": "invoke",
                "prepend_paths": [str(code_dir), str(layout.layer)],
                "handler_module": "app",
                "function_name": environment["AWS_LAMBDA_FUNCTION_NAME"],
                "timeout_seconds": TIMEOUTS[function],
                "event": first_event(function, self._runs),
                "client": CLIENT_OVERRIDE,
                "steps": [[label, list(modules)] for label, modules in import_steps],
            }

        run = self._run_on_stand_in(function, code_dir, config, python_options)
        check_response(function, run.child.result["response"], run.deletable)
        self.recorded[function] = run.requests
        sample = Sample.from_child(
            run.child.spawned,
            run.child.result,
            upstream=run.upstream,
            steps=step_durations(run.child.spawned, run.child.result),
        )
        return sample, run.child.stderr

    def _floor(self, function: str, layout: Layout, python_options: Sequence[str]) -> tuple[Sample, str]:
        recorded = self.recorded.get(function)
        if not recorded:
            raise BenchError(f"{function}'s dependency floor replays its requests: sample {function} first")

        # The stand-in's seeds give the same projects and deployment ids every time, so the recorded
        # paths, deletions included, are valid on the fresh stand-in of this run.
        def config(environment: Mapping[str, str], sandbox: PagesSandbox) -> dict[str, Any]:
            return {
                "mode": "floor",
                "prepend_paths": [str(layout.layer)],
                "imports": floor_imports(function),
                "dynamodb_writes": FLOOR_DYNAMODB_WRITES.get(function, 0),
                "origin": _origin(sandbox.base_url),
                "requests": recorded,
            }

        run = self._run_on_stand_in(function, self.home, config, python_options)
        sample = Sample.from_child(run.child.spawned, run.child.result, upstream=run.upstream)
        return sample, run.child.stderr

    def _run_on_stand_in(
        self,
        function: str,
        code_dir: Path,
        make_config: Callable[[Mapping[str, str], PagesSandbox], dict[str, Any]],
        python_options: Sequence[str],
    ) -> _StandInRun:
        """Run one child in `function`'s environment against a fresh stand-in with the small account."""
        sandbox, deletable = account_sandbox()
        try:
            environment = function_environment(
                function,
                aws=self.account.environment(),
                api_base_url=sandbox.base_url,
                code_dir=code_dir,
                home=self.home,
                path=_path(),
            )
            child = run_child(
                self.runtime_python,
                make_config(environment, sandbox),
                environment=environment,
                cwd=code_dir,
                python_options=python_options,
            )
            log = sandbox.request_log
        finally:
            sandbox.stop()
        _check_exit(child.exit_code, child.result, child.stderr)
        return _StandInRun(
            child=child,
            deletable=deletable,
            upstream=union_length((record.started, record.ended) for record in log),
            requests=[[record.method, record.path, record.query] for record in log],
        )


@dataclass(frozen=True, slots=True)
class _StandInRun:
    """A child's run against a stand-in: its result, and what the stand-in logged of it."""

    child: ChildResult
    # Deployments a pruner run deletes in the stand-in's account.
    deletable: int
    # How long the stand-in had at least one request in flight, in seconds.
    upstream: float
    # The requests the stand-in received, as [method, path, query], in order.
    requests: list[list[Any]]


def _origin(url: str) -> str:
    """Return the scheme, host and port of `url`: the stand-in logs paths from the server's root."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def step_durations(spawned: float, result: Mapping[str, Any]) -> tuple[tuple[str, float], ...]:
    """Turn a child's time stamps into (label, seconds) per step, from the spawn to the handler's return."""
    stamps: list[tuple[str, float]] = [(INTERPRETER_START, float(result["started"]))]
    stamps += [(str(label), float(stamp)) for label, stamp in result.get("steps", [])]
    stamps += [(HANDLER_MODULE, float(result["imported"])), (FIRST_EVENT, float(result["done"]))]
    durations = []
    previous = spawned
    for label, stamp in stamps:
        durations.append((label, stamp - previous))
        previous = stamp
    return tuple(durations)


def _path() -> str:
    return "/usr/local/bin:/usr/bin:/bin"


def _check_exit(exit_code: int, result: Mapping[str, Any], stderr: str) -> None:
    if exit_code != 0 or result.get("error"):
        raise BenchError(
            f"a cold-start sample failed (exit {exit_code}): {result.get('error')}; the end of its stderr:\n"
            f"{stderr[-3000:]}"
        )


def first_event(function: str, run: int) -> dict[str, Any]:
    """Load the function's sample event from events/.

    A scheduled event gets a tick of its own per run, so the build trigger's idempotency records never
    replay an earlier sample's result.
    """
    event: dict[str, Any] = json.loads((EVENTS / FIRST_EVENTS[function]).read_text(encoding="utf-8"))
    if "scheduled_time" in event:
        tick = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=run)
        event["scheduled_time"] = tick.strftime("%Y-%m-%dT%H:%M:%SZ")
        event["execution_id"] = f"bench-{run:08d}"
    return event


def check_response(function: str, response: Mapping[str, Any], deletable: int) -> None:
    """Raise BenchError unless the first event did the full job: every build started, every old
    deployment deleted, the page served. A sample that did less would understate the cold start."""
    if function == "trigger_build":
        actions = response.get("actions", {})
        if actions.get("triggered") != response.get("projects") or not actions.get("triggered"):
            raise BenchError(f"the build trigger's first event did not start every build: {response}")
    elif function == "prune_deployments":
        if response.get("deleted") != deletable:
            raise BenchError(
                f"the pruner's first event deleted {response.get('deleted')} deployments, "
                f"expected {deletable}"
            )
    elif response.get("status") != 200:
        raise BenchError(f"the status page's first event got status {response.get('status')}, expected 200")


def measure(
    runner: Runner,
    layouts: Sequence[Layout],
    rounds: int,
    progress: Callable[[str], None] = logger.info,
) -> ColdStartResults:
    """Run `rounds` rounds of every variant, forward in even rounds and backward in odd ones."""
    if rounds < 1:
        raise ValueError(f"rounds must be at least 1, got {rounds}")
    # Each floor follows its function, so round 0, which runs forward, samples the function first.
    variants = [Variant(None, layouts[0])]
    for function in FUNCTIONS:
        variants += [Variant(function, layout) for layout in layouts]
        variants.append(Variant(function, layouts[0], floor=True))
    results = ColdStartResults(
        rounds=rounds, variants=variants, samples={variant: [] for variant in variants}
    )
    for round_index in range(rounds):
        progress(f"cold start: round {round_index + 1} of {rounds}")
        order = variants if round_index % 2 == 0 else list(reversed(variants))
        for variant in order:
            sample, _ = runner.sample(variant)
            results.samples[variant].append(sample)
    for function in FUNCTIONS:
        _, stderr = runner.sample(Variant(function, layouts[0]), python_options=("-B", "-X", "importtime"))
        results.imports[function] = importtime.parse(stderr.splitlines())
    results.steps = measure_steps(runner, layouts[0], progress=progress)
    return results


def measure_steps(
    runner: Runner, built: Layout, rounds: int = STEP_ROUNDS, progress: Callable[[str], None] = logger.info
) -> dict[str, list[Sample]]:
    """Run each function `rounds` times with its imports in timed steps (IMPORT_STEPS), interleaved.

    Each round also samples the baseline, under the key BASELINE, so the steps table has a baseline from the
    same stretch of time as its own samples.
    """
    progress(f"cold start: {rounds} rounds with timed import steps")
    samples: dict[str, list[Sample]] = {name: [] for name in (BASELINE, *FUNCTIONS)}
    for round_index in range(rounds):
        order = (BASELINE, *FUNCTIONS) if round_index % 2 == 0 else (*reversed(FUNCTIONS), BASELINE)
        for name in order:
            if name == BASELINE:
                sample, _ = runner.sample(Variant(None, built))
            else:
                sample, _ = runner.sample(Variant(name, built), import_steps=IMPORT_STEPS[name])
            samples[name].append(sample)
    return samples


def merge_orders(orders: Sequence[Sequence[str]]) -> list[str]:
    """Merge label sequences into one list, each new label placed right after the label it follows."""
    merged: list[str] = []
    for order in orders:
        previous: str | None = None
        for label in order:
            if label not in merged:
                merged.insert(0 if previous is None else merged.index(previous) + 1, label)
            previous = label
    return merged


def steps_section(steps: Mapping[str, Sequence[Sample]], baseline: float) -> Section:
    """Median time of each step per function, against the baseline and the target's allowance.

    `steps` may contain the baseline's own samples under the key BASELINE. Their median then replaces
    `baseline`, which comes from the main rounds.
    """
    own_baseline = steps.get(BASELINE)
    if own_baseline:
        baseline = median([sample.total for sample in own_baseline])
    # The baseline gets a column of its own when its samples have steps.
    steps = {
        name: samples for name, samples in steps.items() if name != BASELINE or (samples and samples[0].steps)
    }
    labels = merge_orders([[label for label, _ in samples[0].steps] for samples in steps.values()])
    labels.insert(labels.index(FIRST_EVENT) + 1, UPSTREAM)
    medians: dict[str, dict[str, float]] = {}
    for function, samples in steps.items():
        medians[function] = {
            label: median([dict(sample.steps)[label] for sample in samples])
            for label in labels
            if label in dict(samples[0].steps)
        }
        if function != BASELINE:
            medians[function][UPSTREAM] = median([sample.upstream for sample in samples])
        medians[function][TOTAL] = median([sample.total for sample in samples])
    table_rows = [
        (
            label,
            *(
                milliseconds(medians[function][label]) if label in medians[function] else "-"
                for function in steps
            ),
        )
        for label in [*labels, TOTAL]
    ]
    table_rows.append(
        ("total - baseline", *(milliseconds(medians[function][TOTAL] - baseline) for function in steps))
    )
    table_rows.append(
        ("total / baseline", *(f"{medians[function][TOTAL] / baseline:.2f} x" for function in steps))
    )
    allowance = (MAX_RATIO - 1.0) * baseline
    text = " ".join(
        (
            f"{STEP_ROUNDS} more processes per function import the handler's dependencies in the groups",
            "below, in this order, before the handler module; the medians show where a cold start's time",
            "goes. The first event's Powertools utilities are parameters (Secrets Manager), plus idempotency",
            "for the build trigger. `first event` then creates the Secrets Manager client (and the trigger's",
            "DynamoDB client), fetches the secret and calls the API. For the baseline, `first event` is",
            "creating the Secrets Manager client.",
            *(
                (
                    f"A baseline process runs in each of these {STEP_ROUNDS} rounds too, and this table",
                    f"divides by its median, {milliseconds(baseline)}. These processes run after the rounds",
                    "above, so the machine's drift between the two makes their times differ: compare ratios",
                    "within one table, not times across tables.",
                )
                if own_baseline
                else (f"The baseline takes {milliseconds(baseline)} (median of the run above).",)
            ),
            f"The {MAX_RATIO:.2f} x target leaves {milliseconds(allowance)} for everything a function does",
            "beyond the baseline.",
        )
    )
    return Section(
        title="Cold start: where the time goes",
        paragraphs=(text,),
        tables=(Table(headers=("step", *steps), rows=tuple(table_rows)),),
    )


def rows(results: ColdStartResults, built: Layout) -> list[Row]:
    """Summary rows: one per function for the cold-start ratio, one per function for peak memory."""
    baseline = median(results.totals(results.baseline()))
    summary = []
    for function in FUNCTIONS:
        total = median(results.totals(results.variant(function, built)))
        value = total / baseline
        summary.append(
            Row(
                measure=f"cold start, {function}",
                how=(
                    f"median of {results.rounds} fresh python3.13 processes, spawn to first response, "
                    "/ baseline"
                ),
                result=f"{value:.2f} x ({milliseconds(total)} vs {milliseconds(baseline)})",
                target=f"<= {MAX_RATIO:.2f} x baseline",
                verdict=Verdict.of(value <= MAX_RATIO),
            )
        )
    for function in FUNCTIONS:
        floor = results.floor(function)
        if floor is None:
            continue
        floor_total = median(results.totals(floor))
        own_code = median(results.totals(results.variant(function, built))) - floor_total
        summary.append(
            Row(
                measure=f"cold start floor, {function}",
                how=(
                    "the same first event with the function's dependencies alone and no pages_ops: the "
                    "least this work with these dependencies can take; median / baseline"
                ),
                result=(
                    f"{floor_total / baseline:.2f} x ({milliseconds(floor_total)}), "
                    f"{'above' if floor_total / baseline > MAX_RATIO else 'within'} the {MAX_RATIO:.2f} x "
                    f"target with no code of ours; the function adds {milliseconds(own_code)}"
                ),
                target="reported",
                verdict=Verdict.REPORTED,
            )
        )
    for function in FUNCTIONS:
        peak = max(sample.peak_rss_bytes for sample in results.samples[results.variant(function, built)])
        summary.append(
            Row(
                measure=f"memory, {function}",
                how=f"highest peak RSS (VmHWM) over {results.rounds} first invocations",
                result=mebibytes(peak),
                target=f"< {mebibytes(MAX_PEAK_RSS_BYTES)}",
                verdict=Verdict.of(peak < MAX_PEAK_RSS_BYTES),
            )
        )
    return summary


def sections(results: ColdStartResults) -> list[Section]:
    baseline = median(results.totals(results.baseline()))
    table_rows = []
    for variant in results.variants:
        samples = results.samples[variant]
        totals = Summary.of([sample.total for sample in samples])
        table_rows.append(
            (
                variant.label,
                milliseconds(median([sample.init for sample in samples])),
                milliseconds(median([sample.first_event for sample in samples])),
                "-"
                if variant.function is None
                else milliseconds(median([sample.upstream for sample in samples])),
                milliseconds(totals.p50),
                milliseconds(totals.p90),
                f"{totals.p50 / baseline:.2f} x",
                mebibytes(int(median([sample.peak_rss_bytes for sample in samples]))),
                str(samples[0].modules),
            )
        )
    timing = Table(
        headers=(
            "variant",
            "init (median)",
            "first event (median)",
            "of which the stand-in (median)",
            "total (median)",
            "total (p90)",
            "total / baseline",
            "peak RSS (median)",
            "modules loaded",
        ),
        rows=tuple(table_rows),
    )
    paragraphs = (
        f"{results.rounds} rounds. Each round runs every variant once in a new process, forward in even "
        "rounds and backward in odd ones. `init` runs from spawning the process until the handler module "
        "is imported, `first event` until the handler returns. For the baseline, `init` is its imports and "
        "`first event` is creating the Secrets Manager client. Processes run with `-I -B`: only the "
        "function's directory, the layer's `python/` and the runtime environment's site-packages (boto3) are "
        "on `sys.path`, and no bytecode is written, as on Lambda's read-only file systems.",
        "Each function sample gets a fresh stand-in with three projects, and moto for AWS. The build trigger "
        "starts three builds (with DynamoDB idempotency records), the pruner lists the projects and deletes "
        "their old deployments, and the status page renders its index. Logs and metrics stay on and go to "
        f"/dev/null. The API client's rate ceiling is raised to {CLIENT_OVERRIDE['per_minute']:,.0f} "
        f"requests a minute with a burst of {CLIENT_OVERRIDE['burst']}, built as pages_ops.runtime builds "
        "it, because at the deployed ceiling (120 a minute by default, at most 240, one request at a time) "
        "every request after the first waits 0.25 s or more, which would measure the rate limiter. `of "
        "which the stand-in` is the time during which the Cloudflare stand-in had at least one of the "
        "sample's requests in flight, from its log. It is part of `first event`. moto's time is not "
        "separated.",
        "The source-only variant installs shared/requirements.txt without bytecode, copies pages_ops and "
        "the function without bytecode, and so compiles every module it imports on every start.",
        "A dependency floor is the least the function's first event can cost without changing its "
        "dependencies or its work. In the same layout, it imports the function's third-party modules "
        "(boto3, requests and the Powertools parts in the table below), creates Powertools' Logger and "
        "Metrics, and reads the secret through a Secrets Manager client. For the build trigger it also "
        "makes 2 DynamoDB writes per project, from the same boto3 session, as Powertools idempotency does. "
        "Then it sends the Cloudflare requests that the function's latest sample sent, in the same order, "
        "one at a time over one requests session, to a fresh stand-in with the same data. The floor "
        "imports everything before its first event, while a function imports boto3 and Powertools' "
        "utilities during its first event, so compare totals, not `init` or `first event`. It runs none of "
        "pages_ops, so `total` minus the floor is the cost of our code, and a floor above the target means "
        "that no code of ours can meet it with this work and these dependencies.",
    )
    imports = Section(
        title="Cold start: slowest imports (built layer, -X importtime)",
        paragraphs=(
            "One extra process per function with `-X importtime`, covering the handler's import and its "
            "first event (boto3 is imported lazily there). Cumulative time includes nested imports; the "
            "second table sums self time per top-level package. Times are inflated by the tracing itself.",
        ),
        tables=tuple(_import_tables(results)),
    )
    parts = [Section(title="Cold start and memory", paragraphs=paragraphs, tables=(timing,))]
    if results.steps:
        parts.append(steps_section(results.steps, baseline))
    parts.append(imports)
    return parts


def _import_tables(results: ColdStartResults) -> list[Table]:
    tables = []
    for function in FUNCTIONS:
        records = results.imports.get(function, [])
        tables.append(
            Table(
                headers=(f"{function}: module", "depth", "cumulative", "self"),
                rows=tuple(
                    (record.module, str(record.depth), _us(record.cumulative_us), _us(record.self_us))
                    for record in importtime.top_cumulative(records, TOP_IMPORTS)
                ),
            )
        )
        by_package = importtime.self_time_by_package(records)[:TOP_IMPORTS]
        total = importtime.total_us(records)
        tables.append(
            Table(
                headers=(f"{function}: package (self time)", "self", "share of all imports"),
                rows=tuple(
                    (package, _us(self_us), f"{100 * self_us / total:.0f} %" if total else "-")
                    for package, self_us in by_package
                ),
            )
        )
    return tables


def _us(microseconds: int) -> str:
    return milliseconds(microseconds / 1_000_000)
