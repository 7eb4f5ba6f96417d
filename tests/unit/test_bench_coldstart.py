"""Cold-start benchmark: sample events, response checks and summary rows, without starting processes."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import coldstart
from bench.containers import FUNCTIONS, BenchError, Layout
from bench.importtime import ImportRecord
from bench.report import Verdict

BUILT = Layout(name="built", layer=Path("/opt/python"), functions={})
SOURCE = Layout(name="source only", layer=Path("/srv/source-only/layer"), functions={})


def test_first_event_gets_its_own_tick():
    first = coldstart.first_event("trigger_build", 1)
    second = coldstart.first_event("trigger_build", 2)
    assert first["scheduled_time"] == "2026-01-01T00:01:00Z"
    assert second["scheduled_time"] == "2026-01-01T00:02:00Z"
    assert first["execution_id"] != second["execution_id"]


def test_first_event_http_event_unchanged():
    event = coldstart.first_event("status_page", 7)
    assert event["rawPath"] == "/"
    assert "scheduled_time" not in event


def test_check_response_accepts_full_work():
    coldstart.check_response("trigger_build", {"projects": 3, "actions": {"triggered": 3}}, 12)
    coldstart.check_response("prune_deployments", {"projects": 3, "deleted": 12}, 12)
    coldstart.check_response("status_page", {"status": 200}, 12)


@pytest.mark.parametrize(
    ("function", "response", "message"),
    [
        (
            "trigger_build",
            {"projects": 3, "actions": {"triggered": 2, "skipped": 1}},
            "did not start every build",
        ),
        ("trigger_build", {"projects": 0, "actions": {}}, "did not start every build"),
        ("prune_deployments", {"projects": 3, "deleted": 11}, "deleted 11 deployments, expected 12"),
        ("status_page", {"status": 503}, "got status 503"),
    ],
)
def test_check_response_rejects_partial_work(function, response, message):
    with pytest.raises(BenchError, match=message):
        coldstart.check_response(function, response, 12)


def sample(total: float, rss: int = 50 * 1_048_576) -> coldstart.Sample:
    return coldstart.Sample(
        init=total / 2, first_event=total / 2, total=total, peak_rss_bytes=rss, modules=500
    )


def make_results(
    totals: dict[str | None, list[float]], rss: int = 50 * 1_048_576
) -> coldstart.ColdStartResults:
    variants = [coldstart.Variant(None, BUILT)]
    variants += [coldstart.Variant(function, layout) for function in FUNCTIONS for layout in (BUILT, SOURCE)]
    results = coldstart.ColdStartResults(rounds=3, variants=variants)
    for variant in variants:
        values = totals.get(variant.function, [0.5, 0.5, 0.5]) if variant.layout is BUILT else [0.9] * 3
        results.samples[variant] = [sample(value, rss) for value in values]
    for function in FUNCTIONS:
        results.imports[function] = [
            ImportRecord("boto3", 1000, 60_000, 0),
            ImportRecord("botocore", 30_000, 50_000, 1),
        ]
    return results


def test_rows_ratio_against_baseline():
    results = make_results(
        {
            None: [0.20, 0.21, 0.19],
            "trigger_build": [0.30] * 3,
            "prune_deployments": [0.23] * 3,
            "status_page": [0.22] * 3,
        }
    )
    rows = coldstart.rows(results, BUILT)
    cold = {row.measure: row for row in rows[:3]}
    assert cold["cold start, trigger_build"].verdict is Verdict.FAIL
    assert cold["cold start, trigger_build"].result == "1.50 x (300 ms vs 200 ms)"
    assert cold["cold start, prune_deployments"].verdict is Verdict.PASS
    assert cold["cold start, status_page"].result == "1.10 x (220 ms vs 200 ms)"


def test_rows_ratio_at_target_passes():
    results = make_results({None: [0.2] * 3, "trigger_build": [0.23] * 3})
    assert coldstart.rows(results, BUILT)[0].verdict is Verdict.PASS


def test_rows_memory():
    under = coldstart.rows(make_results({None: [0.2] * 3}), BUILT)[3:]
    assert [row.verdict for row in under] == [Verdict.PASS] * 3
    assert under[0].result == "50.0 MiB"
    over = coldstart.rows(make_results({None: [0.2] * 3}, rss=100 * 1_048_576), BUILT)[3:]
    assert [row.verdict for row in over] == [Verdict.FAIL] * 3


def test_sections_tables():
    results = make_results({None: [0.2] * 3})
    timing_section, imports_section = coldstart.sections(results)
    timing = timing_section.tables[0]
    assert len(timing.rows) == 7
    assert timing.rows[0][0].startswith("baseline")
    assert timing.rows[1][:7] == (
        "trigger_build, built",
        "250 ms",
        "250 ms",
        "0.0 ms",
        "500 ms",
        "500 ms",
        "2.50 x",
    )
    # One module table and one package table per function.
    assert len(imports_section.tables) == 6
    assert imports_section.tables[0].rows[0] == ("boto3", "0", "60.0 ms", "1.0 ms")
    assert imports_section.tables[1].rows[0] == ("botocore", "30.0 ms", "50 %")


def test_measure_rejects_zero_rounds():
    with pytest.raises(ValueError, match="at least 1"):
        coldstart.measure(None, [BUILT], 0)  # type: ignore[arg-type]


def test_step_durations_from_stamps():
    result = {
        "started": 10.020,
        "steps": [["boto3", 10.150], ["pages_ops", 10.165]],
        "imported": 10.166,
        "done": 10.250,
    }
    steps = coldstart.step_durations(10.0, result)
    assert [label for label, _ in steps] == [
        coldstart.INTERPRETER_START,
        "boto3",
        "pages_ops",
        coldstart.HANDLER_MODULE,
        coldstart.FIRST_EVENT,
    ]
    assert [round(seconds, 3) for _, seconds in steps] == [0.020, 0.130, 0.015, 0.001, 0.084]


def test_step_durations_without_steps():
    steps = coldstart.step_durations(1.0, {"started": 1.5, "imported": 2.0, "done": 3.0})
    assert steps == (
        (coldstart.INTERPRETER_START, 0.5),
        (coldstart.HANDLER_MODULE, 0.5),
        (coldstart.FIRST_EVENT, 1.0),
    )


def test_merge_orders_keeps_relative_positions():
    merged = coldstart.merge_orders(
        [["start", "boto3", "pages_ops", "end"], ["start", "boto3", "handler", "pages_ops", "end"]]
    )
    assert merged == ["start", "boto3", "handler", "pages_ops", "end"]


def test_import_steps_cover_each_function():
    assert set(coldstart.IMPORT_STEPS) == set(FUNCTIONS)
    status_labels = [label for label, _ in coldstart.IMPORT_STEPS["status_page"]]
    assert "Powertools event handler" in status_labels
    trigger_modules = dict(coldstart.IMPORT_STEPS["trigger_build"])[coldstart.POWERTOOLS_UTILITIES]
    assert "aws_lambda_powertools.utilities.idempotency" in trigger_modules


def step_sample(
    total: float, steps: tuple[tuple[str, float], ...], upstream: float = 0.01
) -> coldstart.Sample:
    return coldstart.Sample(
        init=0.1, first_event=0.1, total=total, peak_rss_bytes=1, modules=1, upstream=upstream, steps=steps
    )


def test_steps_section_table():
    common = ((coldstart.INTERPRETER_START, 0.02), ("boto3", 0.13), (coldstart.HANDLER_MODULE, 0.001))
    steps = {
        "prune_deployments": [step_sample(0.26, (*common, (coldstart.FIRST_EVENT, 0.09)))] * 3,
        "status_page": [
            step_sample(
                0.28,
                (*common[:2], ("Powertools event handler", 0.03), *common[2:], (coldstart.FIRST_EVENT, 0.06)),
            )
        ]
        * 3,
    }
    section = coldstart.steps_section(steps, baseline=0.2)
    table = section.tables[0]
    assert table.headers == ("step", "prune_deployments", "status_page")
    rows = {row[0]: row[1:] for row in table.rows}
    assert [row[0] for row in table.rows] == [
        coldstart.INTERPRETER_START,
        "boto3",
        "Powertools event handler",
        coldstart.HANDLER_MODULE,
        coldstart.FIRST_EVENT,
        coldstart.UPSTREAM,
        coldstart.TOTAL,
        "total - baseline",
        "total / baseline",
    ]
    assert rows["Powertools event handler"] == ("-", "30.0 ms")
    assert rows[coldstart.UPSTREAM] == ("10.0 ms", "10.0 ms")
    assert rows["total - baseline"] == ("60.0 ms", "80.0 ms")
    assert rows["total / baseline"] == ("1.30 x", "1.40 x")
    assert "leaves 30.0 ms" in section.paragraphs[0]
    assert "(median of the run above)" in section.paragraphs[0]


def test_steps_section_own_baseline():
    common = ((coldstart.INTERPRETER_START, 0.02), (coldstart.FIRST_EVENT, 0.1))
    steps = {
        coldstart.BASELINE: [step_sample(0.25, ())] * 3,
        "prune_deployments": [step_sample(0.3, common)] * 3,
    }
    section = coldstart.steps_section(steps, baseline=0.2)
    table = section.tables[0]
    rows = {row[0]: row[1:] for row in table.rows}
    assert table.headers == ("step", "prune_deployments")
    assert rows["total / baseline"] == ("1.20 x",)
    assert rows["total - baseline"] == ("50.0 ms",)
    assert "this table divides by its median, 250 ms" in section.paragraphs[0]
    assert "leaves 37.5 ms" in section.paragraphs[0]


def test_measure_steps_samples_baseline():
    runner = OrderRecorder()
    samples = coldstart.measure_steps(runner, BUILT, rounds=2, progress=lambda message: None)  # type: ignore[arg-type]

    assert set(samples) == {coldstart.BASELINE, *FUNCTIONS}
    assert all(len(items) == 2 for items in samples.values())
    assert runner.variants.count(coldstart.Variant(None, BUILT)) == 2


def floor_results(function_total: float, floor_total: float) -> coldstart.ColdStartResults:
    results = make_results({None: [0.2] * 3, **dict.fromkeys(FUNCTIONS, [function_total] * 3)})
    for function in FUNCTIONS:
        floor = coldstart.Variant(function, BUILT, floor=True)
        results.variants.append(floor)
        results.samples[floor] = [sample(floor_total)] * 3
    return results


def test_rows_floor_after_ratios():
    rows = coldstart.rows(floor_results(0.27, 0.24), BUILT)
    measures = [row.measure for row in rows]
    assert measures[3:6] == [f"cold start floor, {function}" for function in FUNCTIONS]
    floor = rows[3]
    assert floor.verdict is Verdict.REPORTED
    assert (
        floor.result
        == "1.20 x (240 ms), above the 1.15 x target with no code of ours; the function adds 30.0 ms"
    )
    assert [row.measure for row in rows[6:]] == [f"memory, {function}" for function in FUNCTIONS]


def test_rows_floor_within_target():
    floor = coldstart.rows(floor_results(0.25, 0.22), BUILT)[3]
    assert floor.result.startswith("1.10 x (220 ms), within the 1.15 x target")


def test_variant_lookup_skips_floor():
    results = floor_results(0.27, 0.24)
    built = results.variant("status_page", BUILT)
    assert not built.floor
    assert results.floor("status_page") == coldstart.Variant("status_page", BUILT, floor=True)
    assert results.floor("status_page").label == "status_page, dependency floor"  # type: ignore[union-attr]


def test_floor_imports_leave_out_pages_ops():
    imports = coldstart.floor_imports("status_page")
    assert imports[:2] == ["boto3", "requests"]
    assert "aws_lambda_powertools.event_handler" in imports
    assert not [name for name in imports if name.startswith("pages_ops")]
    assert "aws_lambda_powertools.utilities.idempotency" in coldstart.floor_imports("trigger_build")


def test_floor_needs_a_recorded_sample(tmp_path):
    runner = coldstart.Runner("python3.13", account=None, scratch=tmp_path)  # type: ignore[arg-type]
    with pytest.raises(BenchError, match="sample prune_deployments first"):
        runner.sample(coldstart.Variant("prune_deployments", BUILT, floor=True))


class OrderRecorder:
    """A `Runner` replacement that records the requested variants and returns a fixed sample."""

    def __init__(self) -> None:
        self.variants: list[coldstart.Variant] = []

    def sample(self, variant, **options):
        self.variants.append(variant)
        return sample(0.2), ""


def test_measure_runs_function_before_its_floor():
    runner = OrderRecorder()
    results = coldstart.measure(runner, [BUILT, SOURCE], rounds=2, progress=lambda message: None)  # type: ignore[arg-type]

    first_round = runner.variants[: len(results.variants)]
    for function in FUNCTIONS:
        built = first_round.index(coldstart.Variant(function, BUILT))
        floor = first_round.index(coldstart.Variant(function, BUILT, floor=True))
        assert built < floor
    assert all(len(samples) == 2 for samples in results.samples.values())


def test_steps_section_baseline_column():
    imports = "boto3 and requests (the baseline imports them too)"
    baseline_steps = ((coldstart.INTERPRETER_START, 0.02), (imports, 0.13), (coldstart.FIRST_EVENT, 0.05))
    function_steps = (*baseline_steps[:2], (coldstart.HANDLER_MODULE, 0.01), (coldstart.FIRST_EVENT, 0.09))
    steps = {
        coldstart.BASELINE: [step_sample(0.2, baseline_steps)] * 3,
        "status_page": [step_sample(0.25, function_steps)] * 3,
    }
    table = coldstart.steps_section(steps, baseline=0.3).tables[0]
    rows = {row[0]: row[1:] for row in table.rows}

    assert table.headers == ("step", coldstart.BASELINE, "status_page")
    assert rows[coldstart.FIRST_EVENT] == ("50.0 ms", "90.0 ms")
    assert rows[coldstart.HANDLER_MODULE] == ("-", "10.0 ms")
    assert rows[coldstart.UPSTREAM] == ("-", "10.0 ms")
    assert rows["total / baseline"] == ("1.00 x", "1.25 x")
