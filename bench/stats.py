"""Timing statistics: interleaved repetitions, percentiles, ratios and target verdicts."""

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal


def percentile(samples: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100), interpolating linearly between ranks (numpy's default)."""
    if not samples:
        raise ValueError("no samples")
    if not 0 <= q <= 100:
        raise ValueError(f"percentile {q} outside 0-100")
    ordered = sorted(samples)
    position = (len(ordered) - 1) * q / 100
    low = math.floor(position)
    high = math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


@dataclass(frozen=True)
class Summary:
    """Percentiles of one variant's timings, in seconds."""

    n: int
    p50: float
    p99: float
    minimum: float

    @classmethod
    def of(cls, samples: Sequence[float]) -> "Summary":
        """Summarise samples (seconds)."""
        return cls(
            n=len(samples),
            p50=percentile(samples, 50),
            p99=percentile(samples, 99),
            minimum=min(samples),
        )


def ratio(value: float, baseline: float) -> float:
    """value / baseline; a zero baseline is an error, not infinity."""
    if baseline <= 0:
        raise ValueError(f"baseline must be positive, got {baseline}")
    return value / baseline


Direction = Literal["max", "min"]


def meets(value: float, target: float, direction: Direction) -> bool:
    """Whether a ratio meets its target: 'max' means at most target, 'min' at least target."""
    return value <= target if direction == "max" else value >= target


def interleaved(
    variants: Mapping[str, Callable[[], object]], repeats: int, warmup: int = 1
) -> dict[str, list[float]]:
    """Time each variant repeats times, alternating variants round by round (rotating the order).

    Interleaving spreads the noise of a shared machine over all variants alike, so ratios of
    same-run percentiles stay meaningful even when absolute timings drift.
    """
    names = list(variants)
    for _ in range(warmup):
        for name in names:
            variants[name]()
    timings: dict[str, list[float]] = {name: [] for name in names}
    for round_number in range(repeats):
        shift = round_number % len(names)
        for name in names[shift:] + names[:shift]:
            started = time.perf_counter()
            variants[name]()
            timings[name].append(time.perf_counter() - started)
    return timings
