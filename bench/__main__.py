"""Run the benchmarks: python -m bench [--quick] [--cases ...]; results go to bench/results/."""

import argparse
import shutil
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from bench import datasets, machine
from bench.cases import cold, http_stack, layers, reindex, warm
from bench.moto_s3 import MotoS3
from bench.profile import FULL, QUICK, Profile
from bench.report import Row, markdown_table, write_chart, write_json
from bench.service import load_search_handler, upload_import
from vecsearch.wiring import store_from_url

CASES = ("reindex", "warm", "cold", "layers", "http")
RESULTS = Path(__file__).resolve().parent / "results"


def _log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _guarded[T](skipped: dict[str, str], label: str, action: Callable[[], T]) -> T | None:
    """Run one case; a failure is recorded as skipped with its reason, the others still run."""
    started = time.perf_counter()
    try:
        outcome = action()
    except Exception as error:  # one broken case must not lose the others' results
        skipped[label] = f"{type(error).__name__}: {error}"
        _log(f"{label} FAILED: {error}\n{traceback.format_exc()}")
        return None
    _log(f"{label} done in {time.perf_counter() - started:.1f} s")
    return outcome


def _collect(
    rows: list[Row],
    details: dict[str, Any],
    label: str,
    outcome: tuple[list[Row], dict[str, Any]] | None,
) -> None:
    if outcome is not None:
        rows += outcome[0]
        details[label] = outcome[1]


def _data_cases(
    profile: Profile,
    cases: set[str],
    rows: list[Row],
    details: dict[str, Any],
    skipped: dict[str, str],
) -> None:
    """Reindex (always: it builds the version the other cases use), then warm and cold search."""
    sets = [
        lambda: datasets.glove(profile.glove_limit, profile.query_count),
        lambda: datasets.synthetic(
            profile.synthetic_count, profile.synthetic_dimension, profile.query_count
        ),
    ]
    scratch = Path(tempfile.mkdtemp(prefix="bench-store-"))
    try:
        store_root = scratch / "store"
        store_root.mkdir()
        store = store_from_url(f"file://{store_root}")
        in_process = cases & {"warm", "http"}
        handler = load_search_handler(f"file://{store_root}") if in_process else None
        moto = MotoS3().__enter__() if "cold" in cases else None
        if moto is not None:
            moto.client().create_bucket(Bucket=cold.BUCKET)
        try:
            for make in sets:
                dataset = make()
                _log(f"data set {dataset.name}: {dataset.count} x {dataset.dimension}")
                files = upload_import(store, dataset)
                label = f"reindex/{dataset.name}"
                built = _guarded(
                    skipped, label, partial(reindex.run, store, dataset, files, profile)
                )
                if built is None:
                    continue
                case_rows, case_details, version = built
                if "reindex" in cases:
                    _collect(rows, details, label, (case_rows, case_details))
                if handler is not None and "warm" in cases:
                    label = f"warm/{dataset.name}"
                    outcome = _guarded(
                        skipped,
                        label,
                        partial(warm.run, dataset, version, store_root, handler, profile),
                    )
                    _collect(rows, details, label, outcome)
                if "cold" in cases:
                    label = f"cold/{dataset.name}"
                    outcome = _guarded(
                        skipped,
                        label,
                        partial(cold.run, dataset, version, store_root, moto, profile),
                    )
                    _collect(rows, details, label, outcome)
                if "http" in cases and handler is not None and dataset.name.startswith("glove"):
                    label = f"http/{dataset.name}"
                    outcome = _guarded(
                        skipped,
                        label,
                        partial(http_stack.run, dataset, version, store_root, handler, profile),
                    )
                    _collect(rows, details, label, outcome)
        finally:
            if moto is not None:
                moto.__exit__(None, None, None)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    """Run the chosen cases and write results.json, results.md and results.png."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes, few repeats (<3 min)")
    parser.add_argument("--cases", default=",".join(CASES), help=f"comma list: {', '.join(CASES)}")
    parser.add_argument("--out", type=Path, default=RESULTS, help="results directory")
    args = parser.parse_args(argv)
    profile = QUICK if args.quick else FULL
    cases = {case.strip() for case in args.cases.split(",") if case.strip()}
    unknown = cases - set(CASES)
    if unknown:
        parser.error(f"unknown cases: {', '.join(sorted(unknown))}")

    started = time.perf_counter()
    rows: list[Row] = []
    details: dict[str, Any] = {}
    skipped: dict[str, str] = {}
    description = machine.describe()
    _log(f"profile {profile.name}, cases {sorted(cases)}")

    if cases & {"reindex", "warm", "cold", "http"}:
        _data_cases(profile, cases, rows, details, skipped)
    if "layers" in cases:
        _collect(rows, details, "layers", _guarded(skipped, "layers", partial(layers.run, profile)))

    seconds = time.perf_counter() - started
    args.out.mkdir(parents=True, exist_ok=True)
    finished = datetime.now(UTC).isoformat(timespec="seconds")
    write_json(
        args.out / "results.json",
        {
            "profile": profile.name,
            "finished_at": finished,
            "seconds": round(seconds, 1),
            "machine": description,
            "rows": [row.as_json() for row in rows],
            "skipped": skipped,
            "details": details,
        },
    )
    packages = description["packages"]
    title = f"Profile `{profile.name}`, finished {finished} in {seconds:.0f} s"
    header = (
        f"{title} on {description['cpu_model']} ({description['logical_cpus']} CPUs, "
        f"{(description['memory_bytes'] or 0) / 2**30:.0f} GiB), python {description['python']}, "
        f"faiss-cpu {packages['faiss-cpu']}, numpy {packages['numpy']}.\n\n"
    )
    notes = "".join(f"- skipped {case}: {reason}\n" for case, reason in skipped.items())
    (args.out / "results.md").write_text(
        header + markdown_table(rows) + ("\n" + notes if notes else ""), encoding="utf-8"
    )
    if rows:
        write_chart(args.out / "results.png", rows, title.replace("`", ""))
    _log(f"wrote {args.out} in {seconds:.0f} s")
    print(markdown_table(rows) + notes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
