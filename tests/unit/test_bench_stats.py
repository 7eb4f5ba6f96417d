"""Order statistics of the benchmark: percentiles as numpy's default method computes them."""

from __future__ import annotations

import math

import pytest

from bench.stats import Summary, median, percentile, ratio, union_length


@pytest.mark.parametrize(
    ("values", "q", "expected"),
    [
        ([5.0], 0.0, 5.0),
        ([5.0], 99.0, 5.0),
        ([1.0, 2.0, 3.0, 4.0], 0.0, 1.0),
        ([1.0, 2.0, 3.0, 4.0], 100.0, 4.0),
        ([1.0, 2.0, 3.0, 4.0], 50.0, 2.5),
        ([4.0, 1.0, 3.0, 2.0], 50.0, 2.5),
        # rank (4 - 1) * 0.9 = 2.7: 3 + 0.7 * (4 - 3)
        ([1.0, 2.0, 3.0, 4.0], 90.0, 3.7),
        # rank 99 * 0.99 = 98.01 over 1..100: 99 + 0.01 * 1
        ([float(value) for value in range(1, 101)], 99.0, 99.01),
    ],
)
def test_percentile_linear_interpolation(values, q, expected):
    assert percentile(values, q) == pytest.approx(expected)


def test_percentile_does_not_reorder_input():
    values = [3.0, 1.0, 2.0]
    percentile(values, 50.0)
    assert values == [3.0, 1.0, 2.0]


@pytest.mark.parametrize("q", [-0.1, 100.1, math.nan])
def test_percentile_rejects_q_outside_range(q):
    with pytest.raises(ValueError, match="between 0 and 100"):
        percentile([1.0, 2.0], q)


def test_percentile_rejects_no_values():
    with pytest.raises(ValueError, match="at least one sample"):
        percentile([], 50.0)


def test_percentile_rejects_nan_sample():
    with pytest.raises(ValueError, match="NaN"):
        percentile([1.0, math.nan], 50.0)


def test_median_of_odd_and_even_counts():
    assert median([3.0, 1.0, 2.0]) == 2.0
    assert median([1.0, 2.0, 3.0, 10.0]) == 2.5


def test_ratio_divides():
    assert ratio(3.0, 2.0) == 1.5


@pytest.mark.parametrize("denominator", [0.0, -1.0])
def test_ratio_rejects_non_positive_denominator(denominator):
    with pytest.raises(ValueError, match="positive denominator"):
        ratio(1.0, denominator)


def test_summary_of_samples():
    summary = Summary.of([float(value) for value in range(1, 101)])
    assert summary.count == 100
    assert summary.p50 == pytest.approx(50.5)
    assert summary.p90 == pytest.approx(90.1)
    assert summary.p99 == pytest.approx(99.01)
    assert summary.minimum == 1.0
    assert summary.maximum == 100.0


@pytest.mark.parametrize(
    ("intervals", "length"),
    [
        ([], 0.0),
        ([(1.0, 2.0)], 1.0),
        ([(1.0, 2.0), (3.0, 3.5)], 1.5),
        ([(1.0, 3.0), (2.0, 4.0)], 3.0),
        ([(2.0, 4.0), (1.0, 3.0), (3.5, 3.6)], 3.0),
        ([(1.0, 5.0), (2.0, 3.0)], 4.0),
        ([(1.0, 2.0), (2.0, 3.0)], 2.0),
        ([(1.0, 1.0)], 0.0),
    ],
)
def test_union_length_counts_overlaps_once(intervals, length):
    assert union_length(intervals) == pytest.approx(length)


def test_union_length_rejects_reversed_interval():
    with pytest.raises(ValueError, match="ends before it starts"):
        union_length([(2.0, 1.0)])
