"""Order statistics of timing samples: percentiles, medians and ratios."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass


def percentile(values: Sequence[float], q: float) -> float:
    """Return the `q`-th percentile (0 to 100) of `values` by linear interpolation between order statistics.

    This is the default method of numpy.percentile ("linear", Hyndman and Fan type 7): the percentile lies
    at rank (n - 1) * q / 100 of the sorted values. Raises ValueError for no values, a NaN value or a `q`
    outside 0..100.
    """
    if not values:
        raise ValueError("percentile of no values is undefined: pass at least one sample")
    if not 0.0 <= q <= 100.0:
        raise ValueError(f"percentile q must be between 0 and 100, got {q!r}")
    if any(math.isnan(value) for value in values):
        raise ValueError("percentile of samples containing NaN is undefined")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100.0
    lower = math.floor(rank)
    upper = min(lower + 1, len(ordered) - 1)
    fraction = rank - lower
    return ordered[lower] + (ordered[upper] - ordered[lower]) * fraction


def median(values: Sequence[float]) -> float:
    return percentile(values, 50.0)


def union_length(intervals: Iterable[tuple[float, float]]) -> float:
    """Total length covered by the (start, end) intervals, overlaps counted once.

    For a request log this is the time during which at least one request was in flight. Raises ValueError
    for an interval that ends before it starts.
    """
    total = 0.0
    current_start: float | None = None
    current_end = 0.0
    for start, end in sorted(intervals):
        if end < start:
            raise ValueError(f"interval ends before it starts: ({start!r}, {end!r})")
        if current_start is None or start > current_end:
            if current_start is not None:
                total += current_end - current_start
            current_start, current_end = start, end
        else:
            current_end = max(current_end, end)
    if current_start is not None:
        total += current_end - current_start
    return total


def ratio(numerator: float, denominator: float) -> float:
    """Return numerator / denominator; ValueError when the denominator is not positive."""
    if denominator <= 0:
        raise ValueError(f"ratio needs a positive denominator, got {denominator!r}")
    return numerator / denominator


@dataclass(frozen=True, slots=True)
class Summary:
    """Count, median, p90, p99, minimum and maximum of one set of samples, in the samples' unit."""

    count: int
    p50: float
    p90: float
    p99: float
    minimum: float
    maximum: float

    @classmethod
    def of(cls, values: Sequence[float]) -> Summary:
        return cls(
            count=len(values),
            p50=percentile(values, 50.0),
            p90=percentile(values, 90.0),
            p99=percentile(values, 99.0),
            minimum=min(values),
            maximum=max(values),
        )
