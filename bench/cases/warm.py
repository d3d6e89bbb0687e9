"""Case 1: warm search through the search handler against raw faiss, same index and queries."""

import itertools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from bench import raw
from bench.datasets import Dataset, unit_rows
from bench.profile import Profile
from bench.report import Row
from bench.service import (
    TOP_K,
    BuiltVersion,
    Handler,
    LambdaContext,
    hit_ids,
    search_body,
    search_event,
)
from bench.stats import Summary, interleaved, ratio

TARGET_SINGLE = 1.15
TARGET_BATCH = 1.10


def _cycling(calls: list[Callable[[], object]]) -> Callable[[], object]:
    """A callable that runs the next of calls each time (every variant sees the same sequence)."""
    sequence = itertools.cycle(calls)

    def call_next() -> object:
        return next(sequence)()

    return call_next


def _labels_to_ids(labels: np.ndarray, ids: list[str]) -> list[list[str]]:
    return [[ids[row] for row in query if row >= 0] for query in labels]


def _agreement(expected: list[list[str]], actual: list[list[str]]) -> float:
    """Share of queries whose top-k ids (in order) are identical."""
    same = sum(1 for left, right in zip(expected, actual, strict=True) if left == right)
    return same / len(expected)


def _rows(
    dataset: Dataset,
    shape: str,
    timings: dict[str, list[float]],
    target: float,
    tuned_name: str,
) -> list[Row]:
    ours = Summary.of(timings["handler"])
    default = Summary.of(timings["raw faiss"])
    tuned = Summary.of(timings[tuned_name])
    common = {"case": "warm search", "dataset": dataset.name, "unit": "s"}
    return [
        Row(
            **common,
            measure=f"{shape} p50",
            ours=ours.p50,
            baseline=default.p50,
            baseline_name="raw faiss",
            ratio=ratio(ours.p50, default.p50),
            target=target,
        ),
        Row(
            **common,
            measure=f"{shape} p99",
            ours=ours.p99,
            baseline=default.p99,
            baseline_name="raw faiss",
            ratio=ratio(ours.p99, default.p99),
        ),
        Row(
            **common,
            measure=f"{shape} p50 vs tuned raw",
            ours=ours.p50,
            baseline=tuned.p50,
            baseline_name=tuned_name,
            ratio=ratio(ours.p50, tuned.p50),
        ),
    ]


def run(
    dataset: Dataset, built: BuiltVersion, store_root: Path, handler: Handler, profile: Profile
) -> tuple[list[Row], dict[str, Any]]:
    """Interleave handler calls with raw faiss calls on the version's own index file."""
    version_dir = store_root / "collections" / built.collection / "versions" / built.version_id
    index = faiss.read_index(str(version_dir / "index.faiss"))
    ids = [str(doc_id) for doc_id in json.loads((version_dir / "ids.json").read_bytes())]
    unit = unit_rows(dataset.vectors)
    context = LambdaContext()
    queries = dataset.queries

    singles = [queries[i : i + 1] for i in range(queries.shape[0])]
    single_events = [search_event(built.collection, search_body(q)) for q in singles]
    batch = np.ascontiguousarray(queries[: profile.batch_size])
    batch_event = search_event(built.collection, search_body(batch))

    # Same answers first: the handler must return what raw faiss returns, in the same order.
    expected_single = [_labels_to_ids(raw.search_default(index, q, TOP_K), ids)[0] for q in singles]
    handler_single = [hit_ids(handler(event, context))[0] for event in single_events]
    expected_batch = _labels_to_ids(raw.search_default(index, batch, TOP_K), ids)
    handler_batch = hit_ids(handler(batch_event, context))
    blas_batch = _labels_to_ids(raw.search_blas(unit, batch, TOP_K), ids)

    single_timings = interleaved(
        {
            "raw faiss": _cycling(
                [lambda q=q: raw.search_default(index, q, TOP_K) for q in singles]
            ),
            "raw faiss 1 thread": _cycling(
                [lambda q=q: raw.search_one_thread(index, q, TOP_K) for q in singles]
            ),
            "handler": _cycling([lambda e=e: handler(e, context) for e in single_events]),
        },
        repeats=profile.single_repeats,
        warmup=3,
    )
    batch_timings = interleaved(
        {
            "raw faiss": lambda: raw.search_default(index, batch, TOP_K),
            "raw BLAS top-k": lambda: raw.search_blas(unit, batch, TOP_K),
            "handler": lambda: handler(batch_event, context),
        },
        repeats=profile.batch_repeats,
        warmup=1,
    )
    raw.faiss_defaults()
    rows = _rows(dataset, "1 query", single_timings, TARGET_SINGLE, "raw faiss 1 thread")
    rows += _rows(dataset, f"batch {batch.shape[0]}", batch_timings, TARGET_BATCH, "raw BLAS top-k")
    details = {
        "identical_top_k_single": _agreement(expected_single, handler_single),
        "identical_top_k_batch": _agreement(expected_batch, handler_batch),
        "blas_top_k_matches_faiss_batch": _agreement(expected_batch, blas_batch),
        "single": {name: Summary.of(t).__dict__ for name, t in single_timings.items()},
        "batch": {name: Summary.of(t).__dict__ for name, t in batch_timings.items()},
    }
    return rows, details
