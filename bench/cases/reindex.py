"""Case 3: bulk import + reindex through the admin code path against raw faiss, same arrays."""

import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from bench.datasets import Dataset
from bench.profile import Profile
from bench.raw import build_flat_cosine, build_hnsw_cosine
from bench.report import Row
from bench.service import BuiltVersion, ImportFiles, build_through_admin, upload_import
from bench.stats import Summary, ratio
from vecsearch.core.models import HnswIndex
from vecsearch.core.store import Store

TARGET_THROUGHPUT = 0.7
# The demo's HNSW parameters (src/devstack/demo.py).
HNSW = HnswIndex(m=16, ef_construction=64, ef_search=256)
FLAT_MEASURE = "import + build throughput, flat (p50; raw = normalise + copy + write)"
HNSW_MEASURE = "import + build throughput, HNSW M=16 efC=64 (p50)"


def _interleaved(
    repeats: int, raw_build: Callable[[], object], admin_build: Callable[[int], BuiltVersion]
) -> tuple[list[float], list[BuiltVersion]]:
    """Alternate raw and admin builds (rotating which goes first); raw seconds and admin builds."""
    raw_seconds: list[float] = []
    admin: list[BuiltVersion] = []
    for repetition in range(repeats):
        order = ("raw", "admin") if repetition % 2 == 0 else ("admin", "raw")
        for variant in order:
            if variant == "raw":
                started = time.perf_counter()
                raw_build()
                raw_seconds.append(time.perf_counter() - started)
            else:
                admin.append(admin_build(repetition))
    return raw_seconds, admin


def _row(dataset: Dataset, count: int, measure: str, raw: list[float], admin: list[float]) -> Row:
    ours_rate = count / Summary.of(admin).p50
    raw_rate = count / Summary.of(raw).p50
    return Row(
        case="reindex",
        dataset=dataset.name,
        measure=measure,
        ours=ours_rate,
        baseline=raw_rate,
        baseline_name="raw faiss",
        unit="vectors/s",
        ratio=ratio(ours_rate, raw_rate),
        target=TARGET_THROUGHPUT,
        direction="min",
    )


def run(
    store: Store, dataset: Dataset, files: ImportFiles, profile: Profile
) -> tuple[list[Row], dict[str, Any], BuiltVersion]:
    """Flat on every data set, HNSW on the first hnsw_count GloVe rows; vectors/s at the median.

    The flat build is a copy, so the flat ratio measures the admin path's I/O and checks (read and
    validate the import, write four fsynced files, hash, re-verify); the HNSW ratio is what a user
    of an approximate index gets.
    """
    with tempfile.TemporaryDirectory(prefix="bench-raw-build-") as scratch:
        raw_path = Path(scratch) / "index.faiss"
        raw, admin = _interleaved(
            profile.reindex_repeats,
            lambda: build_flat_cosine(dataset.vectors, raw_path),
            lambda rep: build_through_admin(store, f"{dataset.name}-r{rep}", dataset, files),
        )
        rows = [_row(dataset, dataset.count, FLAT_MEASURE, raw, [b.seconds for b in admin])]
        details: dict[str, Any] = {
            "raw_seconds": raw,
            "admin_seconds": [built.seconds for built in admin],
            "admin_stages_last": admin[-1].stages,
        }
        if dataset.name.startswith("glove") and profile.hnsw_count:
            count = min(profile.hnsw_count, dataset.count)
            subset = replace(
                dataset,
                name=f"glove-{count // 1000}k-50d",
                vectors=dataset.vectors[:count],
                ids=dataset.ids[:count],
            )
            subset_files = upload_import(store, subset) if count < dataset.count else files
            hnsw_raw, hnsw_admin = _interleaved(
                profile.hnsw_repeats,
                lambda: build_hnsw_cosine(subset.vectors, raw_path, HNSW.m, HNSW.ef_construction),
                lambda rep: build_through_admin(
                    store, f"{subset.name}-hnsw-r{rep}", subset, subset_files, HNSW
                ),
            )
            rows.append(
                _row(subset, count, HNSW_MEASURE, hnsw_raw, [b.seconds for b in hnsw_admin])
            )
            details["hnsw"] = {
                "count": count,
                "raw_seconds": hnsw_raw,
                "admin_seconds": [built.seconds for built in hnsw_admin],
                "admin_stages_last": hnsw_admin[-1].stages,
            }
    return rows, details, admin[-1]
