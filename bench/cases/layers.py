"""Case 4: each built layer against a plain `pip install --target` of the same pins."""

import os
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

from bench.profile import Profile
from bench.report import Row
from bench.stats import Summary, ratio

REPO = Path(__file__).resolve().parents[2]
ARCH = "x86_64"  # the host architecture, so the import timings run natively
IMPORTS = {
    "faiss": "import faiss, numpy",
    "pydantic": "import pydantic, pydantic_core; pydantic.BaseModel",
}


def _tree_bytes(root: Path) -> int:
    return sum(path.stat().st_size for path in root.rglob("*") if path.is_file())


def _zipped_bytes(python_dir: Path, archive: Path) -> int:
    """Zip python/ the way a layer is uploaded (entries under python/, deflate) and size it."""
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
        for path in sorted(python_dir.rglob("*")):
            if path.is_file():
                bundle.write(path, Path("python") / path.relative_to(python_dir))
    return archive.stat().st_size


def _built_layer(layer: str) -> Path:
    python_dir = REPO / "build" / "layers" / ARCH / layer / "python"
    if not python_dir.is_dir():
        subprocess.run(
            [str(REPO / "build_layers.sh"), "--arch", ARCH, "--no-emulate", layer],
            cwd=REPO,
            check=True,
        )
    return python_dir


def _plain_install(layer: str, target: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--only-binary=:all:",
            "--no-deps",
            "--target",
            str(target),
            "-r",
            str(REPO / "layers" / layer / "requirements.txt"),
        ],
        check=True,
    )


def _import_seconds(python_dir: Path, statement: str) -> float:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": str(python_dir),
        "PYTHONDONTWRITEBYTECODE": "1",  # /opt is read-only on Lambda: no byte code gets written
    }
    started = time.perf_counter()
    subprocess.run([sys.executable, "-S", "-c", statement], env=env, check=True)
    return time.perf_counter() - started


def run(profile: Profile) -> tuple[list[Row], dict[str, Any]]:
    """Sizes (unzipped, zipped) and fresh-process import time of each layer, built vs plain."""
    rows: list[Row] = []
    details: dict[str, Any] = {"arch": ARCH}
    with tempfile.TemporaryDirectory(prefix="bench-layers-") as scratch_name:
        scratch = Path(scratch_name)
        for layer, statement in IMPORTS.items():
            built = _built_layer(layer)
            plain = scratch / layer / "python"
            _plain_install(layer, plain)
            sizes = {
                "built_unzipped": _tree_bytes(built),
                "plain_unzipped": _tree_bytes(plain),
                "built_zipped": _zipped_bytes(built, scratch / f"{layer}-built.zip"),
                "plain_zipped": _zipped_bytes(plain, scratch / f"{layer}-plain.zip"),
            }
            for python_dir in (built, plain):  # warm the page cache once for both
                _import_seconds(python_dir, statement)
            timings: dict[str, list[float]] = {"built": [], "plain": []}
            for repetition in range(profile.import_repeats):
                order = ("built", "plain") if repetition % 2 == 0 else ("plain", "built")
                for variant in order:
                    python_dir = built if variant == "built" else plain
                    timings[variant].append(_import_seconds(python_dir, statement))
            built_import = Summary.of(timings["built"]).p50
            plain_import = Summary.of(timings["plain"]).p50
            common = {"case": "layers", "dataset": f"{layer} ({ARCH})", "baseline_name": "pip"}
            rows += [
                Row(
                    **common,
                    measure="unzipped size",
                    unit="bytes",
                    ours=sizes["built_unzipped"],
                    baseline=sizes["plain_unzipped"],
                    ratio=ratio(sizes["built_unzipped"], sizes["plain_unzipped"]),
                ),
                Row(
                    **common,
                    measure="zipped size",
                    unit="bytes",
                    ours=sizes["built_zipped"],
                    baseline=sizes["plain_zipped"],
                    ratio=ratio(sizes["built_zipped"], sizes["plain_zipped"]),
                ),
                Row(
                    **common,
                    measure=f"fresh-process `{statement}` p50",
                    unit="s",
                    ours=built_import,
                    baseline=plain_import,
                    ratio=ratio(built_import, plain_import),
                ),
            ]
            details[layer] = {**sizes, "import_seconds": timings}
    return rows, details
