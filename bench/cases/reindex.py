"""Case 3: bulk import + reindex through the admin code path against raw faiss, same arrays."""

import tempfile
import time
from pathlib import Path
from typing import Any

from bench.datasets import Dataset
from bench.profile import Profile
from bench.raw import build_flat_cosine
from bench.report import Row
from bench.service import BuiltVersion, ImportFiles, build_through_admin
from bench.stats import Summary, ratio
from vecsearch.core.store import Store

TARGET_THROUGHPUT = 0.7


def run(
    store: Store, dataset: Dataset, files: ImportFiles, profile: Profile
) -> tuple[list[Row], dict[str, Any], BuiltVersion]:
    """Alternate raw builds and admin builds; compare vectors/s at the median."""
    raw_seconds: list[float] = []
    admin: list[BuiltVersion] = []
    with tempfile.TemporaryDirectory(prefix="bench-raw-build-") as scratch:
        for repetition in range(profile.reindex_repeats):
            order = ("raw", "admin") if repetition % 2 == 0 else ("admin", "raw")
            for variant in order:
                if variant == "raw":
                    started = time.perf_counter()
                    build_flat_cosine(dataset.vectors, Path(scratch) / "index.faiss")
                    raw_seconds.append(time.perf_counter() - started)
                else:
                    name = f"{dataset.name}-r{repetition}"
                    admin.append(build_through_admin(store, name, dataset, files))
    raw = Summary.of(raw_seconds)
    ours = Summary.of([built.seconds for built in admin])
    ours_rate = dataset.count / ours.p50
    raw_rate = dataset.count / raw.p50
    rows = [
        Row(
            case="reindex",
            dataset=dataset.name,
            measure="import + build throughput (flat, p50)",
            ours=ours_rate,
            baseline=raw_rate,
            baseline_name="raw faiss",
            unit="vectors/s",
            ratio=ratio(ours_rate, raw_rate),
            target=TARGET_THROUGHPUT,
            direction="min",
        )
    ]
    details = {
        "raw_seconds": raw_seconds,
        "admin_seconds": [built.seconds for built in admin],
        "admin_stages_last": admin[-1].stages,
    }
    return rows, details, admin[-1]
