"""Case 2: cold start, a fresh python process to the first answered query."""

import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import faiss

from bench.datasets import Dataset
from bench.importtime import per_package
from bench.moto_s3 import MotoS3
from bench.profile import Profile
from bench.report import Row
from bench.service import REPO, SEARCH_HANDLER, BuiltVersion, search_body, search_event
from bench.stats import Summary, ratio

PROBES = Path(__file__).resolve().parent.parent / "probes"
TARGET_COLD = 1.25
BUCKET = "bench-store"


def _child_env(pycache: Path, extra: dict[str, str]) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("VECSEARCH_", "AWS_", "PYTHON"))
    }
    # Every probe reads byte code from one warm cache, as a Lambda layer ships it precompiled.
    env["PYTHONPYCACHEPREFIX"] = str(pycache)
    env["PYTHONPATH"] = str(REPO / "src")
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env.update(extra)
    return env


def _probe(argv: list[str], env: dict[str, str], flags: tuple[str, ...] = ()) -> dict[str, Any]:
    # A fresh TMPDIR per process: a new Lambda container starts with an empty /tmp (no S3 cache).
    with tempfile.TemporaryDirectory(prefix="bench-probe-tmp-") as fresh_tmp:
        spawned = time.monotonic()
        done = subprocess.run(
            [sys.executable, *flags, *argv],
            env={**env, "TMPDIR": fresh_tmp},
            capture_output=True,
            text=True,
            check=False,
        )
    if done.returncode != 0:
        raise RuntimeError(f"probe {argv[0]} failed ({done.returncode}): {done.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    result["spawned"] = spawned
    result["stderr"] = done.stderr
    return result


def _sha256_seconds(paths: list[Path]) -> float:
    started = time.perf_counter()
    for path in paths:
        with path.open("rb") as stream:
            hashlib.file_digest(stream, "sha256")
    return time.perf_counter() - started


def run(
    dataset: Dataset, built: BuiltVersion, store_root: Path, moto: MotoS3 | None, profile: Profile
) -> tuple[list[Row], dict[str, Any]]:
    """Interleave fresh processes of each variant; compare spawn-to-first-answer at the median."""
    version_dir = store_root / "collections" / built.collection / "versions" / built.version_id
    index_path = version_dir / "index.faiss"
    query = dataset.queries[:1]
    query_json = json.dumps(query[0].tolist())
    with tempfile.TemporaryDirectory(prefix="bench-cold-") as scratch_name:
        scratch = Path(scratch_name)
        event_path = scratch / "event.json"
        event_path.write_text(
            json.dumps(search_event(built.collection, search_body(query))), encoding="utf-8"
        )
        pycache = scratch / "pycache"
        local_env = _child_env(pycache, {"VECSEARCH_STORE_URL": f"file://{store_root}"})
        variants: dict[str, tuple[list[str], dict[str, str]]] = {
            "minimum": ([str(PROBES / "minimum.py"), str(index_path), query_json], local_env),
            "service (local store)": (
                [str(PROBES / "service.py"), str(SEARCH_HANDLER), str(event_path)],
                local_env,
            ),
        }
        if moto is not None:
            index_key = f"raw/{dataset.name}/index.faiss"
            moto.client().upload_file(str(index_path), BUCKET, index_key)
            collection_dir = store_root / "collections" / built.collection
            moto.upload_tree(BUCKET, "store", store_root, collection_dir)
            download = scratch / "download"
            download.mkdir()
            s3_env = _child_env(
                pycache,
                {**moto.env(), "VECSEARCH_STORE_URL": f"s3://{BUCKET}/store"},
            )
            variants["common pattern (S3 download)"] = (
                [str(PROBES / "common_pattern.py"), BUCKET, index_key, str(download), query_json],
                s3_env,
            )
            variants["service (S3 store)"] = variants["service (local store)"][0], s3_env

        for argv, env in variants.values():  # warm the byte-code cache and the page cache
            _probe(argv, {**env, "PYTHONDONTWRITEBYTECODE": ""})
        runs: dict[str, list[dict[str, Any]]] = {name: [] for name in variants}
        names = list(variants)
        for repetition in range(profile.cold_repeats):
            shift = repetition % len(names)
            for name in names[shift:] + names[:shift]:
                argv, env = variants[name]
                runs[name].append(_probe(argv, env))
        importtime = _probe(*variants["service (local store)"], flags=("-X", "importtime"))
        minimum_importtime = _probe(*variants["minimum"], flags=("-X", "importtime"))

    def cold(name: str) -> Summary:
        return Summary.of([run["answered"] - run["spawned"] for run in runs[name]])

    def phase(name: str, start: str, end: str) -> float:
        return Summary.of([run[end] - run[start] for run in runs[name]]).p50

    minimum = cold("minimum")
    ours = cold("service (local store)")
    common = {"case": "cold start", "dataset": dataset.name, "unit": "s"}
    rows = [
        Row(
            **common,
            measure="spawn to first answer, local store",
            ours=ours.p50,
            baseline=minimum.p50,
            baseline_name="minimum",
            ratio=ratio(ours.p50, minimum.p50),
            target=TARGET_COLD,
        ),
    ]
    if moto is not None:
        pattern = cold("common pattern (S3 download)")
        ours_s3 = cold("service (S3 store)")
        rows += [
            Row(
                **common,
                measure="spawn to first answer, S3 store",
                ours=ours_s3.p50,
                baseline=pattern.p50,
                baseline_name="common pattern",
                ratio=ratio(ours_s3.p50, pattern.p50),
            ),
            Row(
                case="warm search",
                dataset=dataset.name,
                unit="s",
                measure="2nd invocation, S3 (process clock)",
                ours=phase("service (S3 store)", "answered", "second"),
                baseline=phase("common pattern (S3 download)", "answered", "second"),
                baseline_name="common pattern",
                ratio=ratio(
                    phase("service (S3 store)", "answered", "second"),
                    phase("common pattern (S3 download)", "answered", "second"),
                ),
            ),
        ]
    data_files = [version_dir / name for name in ("index.faiss", "ids.json", "metadata.jsonl")]
    started = time.perf_counter()
    faiss.read_index(str(index_path))
    read_index_seconds = time.perf_counter() - started
    details = {
        "p50_seconds": {name: cold(name).p50 for name in runs},
        "service_local_phases_p50": {
            "interpreter start + handler module imports": phase(
                "service (local store)", "spawned", "imported"
            ),
            "first call (load version + verify + query)": phase(
                "service (local store)", "imported", "answered"
            ),
            "second call (query only)": phase("service (local store)", "answered", "second"),
        },
        "minimum_phases_p50": {
            "interpreter start + import faiss, numpy": phase("minimum", "spawned", "imported"),
            "read_index": phase("minimum", "imported", "loaded"),
            "first query": phase("minimum", "loaded", "answered"),
        },
        "in_process_warm_cache": {
            "sha256 of index + ids + metadata (s)": _sha256_seconds(data_files),
            "read_index (s)": read_index_seconds,
            "index bytes": index_path.stat().st_size,
        },
        "service_imports_by_package_s": per_package(importtime["stderr"]),
        "minimum_imports_by_package_s": per_package(minimum_importtime["stderr"]),
        "note": "page cache warm (files were just written/read); byte code precompiled for all",
    }
    return rows, details
