"""Slimming: drop what nothing imports at run time, strip shared objects, precompile bytecode."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from layerkit.elf import ELF_MAGIC, parses_as_elf
from layerkit.manifest import SlimmingRecord
from layerkit.pack import regular_files


@dataclass(frozen=True)
class RemovalRule:
    """One kind of file or folder that a layer never needs at run time, and why."""

    name: str
    reason: str
    matches: Callable[[PurePosixPath, bool], bool]


def _folder_named(*names: str) -> Callable[[PurePosixPath, bool], bool]:
    return lambda path, is_dir: is_dir and path.name in names


def _file_suffix(*suffixes: str) -> Callable[[PurePosixPath, bool], bool]:
    return lambda path, is_dir: not is_dir and path.suffix in suffixes


REMOVAL_RULES: tuple[RemovalRule, ...] = (
    RemovalRule(
        "console-scripts",
        "pip --target puts entry-point scripts (f2py, numpy-config) in bin/ with the build "
        "interpreter in their shebang; a function never runs them",
        lambda path, is_dir: is_dir and path == PurePosixPath("bin"),
    ),
    RemovalRule(
        "test-suites",
        "the packages' own test suites; nothing imports them at run time",
        _folder_named("tests"),
    ),
    RemovalRule(
        "c-headers",
        "headers for compiling against numpy; no compiler on Lambda",
        _file_suffix(".h", ".hpp", ".hh"),
    ),
    RemovalRule("cython-sources", "Cython declarations and sources", _file_suffix(".pxd", ".pyx")),
    RemovalRule(
        "static-libraries",
        "static libraries and pkg-config files are for linking at build time",
        _file_suffix(".a", ".pc"),
    ),
    RemovalRule("type-stubs", "type stubs are read by type checkers only", _file_suffix(".pyi")),
    RemovalRule(
        "stale-bytecode",
        "bytecode from the build host is replaced by hash-validated bytecode compiled below",
        _folder_named("__pycache__"),
    ),
)


def remove_unneeded(python_dir: Path) -> tuple[dict[str, int], int]:
    """Apply REMOVAL_RULES under `python_dir`; return removed entries per rule and bytes freed."""
    counts = {rule.name: 0 for rule in REMOVAL_RULES}
    freed = 0
    for folder, dir_names, file_names in os.walk(python_dir, topdown=True):
        for dir_name in list(dir_names):
            path = Path(folder, dir_name)
            rule = _matching_rule(path.relative_to(python_dir), is_dir=True)
            if rule is not None:
                freed += sum(file.stat().st_size for file in regular_files(path))
                shutil.rmtree(path)
                dir_names.remove(dir_name)
                counts[rule.name] += 1
        for file_name in file_names:
            path = Path(folder, file_name)
            rule = _matching_rule(path.relative_to(python_dir), is_dir=False)
            if rule is not None:
                freed += path.stat().st_size
                path.unlink()
                counts[rule.name] += 1
    _remove_empty_folders(python_dir)
    return counts, freed


def _matching_rule(relative: Path, *, is_dir: bool) -> RemovalRule | None:
    posix = PurePosixPath(relative.as_posix())
    return next((rule for rule in REMOVAL_RULES if rule.matches(posix, is_dir)), None)


def _remove_empty_folders(root: Path) -> None:
    for folder, _, _ in sorted(os.walk(root), key=lambda entry: -len(entry[0])):
        if Path(folder) != root and not any(Path(folder).iterdir()):
            Path(folder).rmdir()


def strip_shared_objects(python_dir: Path, strip: str | None) -> int:
    """Strip unneeded symbols from ELF files; keep the original where the result does not parse."""
    if strip is None:
        return 0
    stripped = 0
    for path in regular_files(python_dir):
        with path.open("rb") as stream:
            if stream.read(4) != ELF_MAGIC:
                continue
        candidate = path.with_name(path.name + ".stripped")
        result = subprocess.run(
            [strip, "--strip-unneeded", "-o", str(candidate), str(path)],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode == 0 and parses_as_elf(candidate):
            if candidate.stat().st_size < path.stat().st_size:
                stripped += 1
            candidate.replace(path)
        else:
            candidate.unlink(missing_ok=True)
    return stripped


def compile_bytecode(python_dir: Path, install_prefix: str) -> int:
    """Precompile every module with unchecked-hash pycs so read-only /opt never recompiles.

    Zip extraction loses mtimes, so timestamp-validated pycs would all look stale on Lambda.
    """
    if sys.version_info[:2] != (3, 13):
        raise RuntimeError("bytecode must be compiled by python3.13 (the Lambda runtime's version)")
    environment = {
        key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"
    }
    subprocess.run(
        [
            sys.executable,
            "-m",
            "compileall",
            "-q",
            "-j",
            "0",
            "--invalidation-mode",
            "unchecked-hash",
            "-d",
            install_prefix,
            str(python_dir),
        ],
        check=True,
        env=environment,
    )
    sources = [path for path in regular_files(python_dir) if path.suffix == ".py"]
    missing = [source for source in sources if not _cached_bytecode(source).is_file()]
    if missing:
        raise RuntimeError(f"compileall wrote no bytecode for {missing[0]} ({len(missing)} files)")
    return len(sources)


def _cached_bytecode(source: Path) -> Path:
    return source.parent / "__pycache__" / f"{source.stem}.cpython-313.pyc"


def slim(python_dir: Path, strip: str | None, install_prefix: str) -> SlimmingRecord:
    """Remove, strip and precompile in that order; report what was done."""
    removed, freed = remove_unneeded(python_dir)
    stripped = strip_shared_objects(python_dir, strip)
    compiled = compile_bytecode(python_dir, install_prefix)
    return SlimmingRecord(
        removed=removed,
        removed_bytes=freed,
        strip_tool=Path(strip).name if strip else None,
        stripped_files=stripped,
        compiled_files=compiled,
    )
