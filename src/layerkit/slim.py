"""Slimming: drop what nothing imports at run time, strip shared objects, precompile bytecode."""

from __future__ import annotations

import base64
import csv
import hashlib
import io
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


def remove_unneeded(python_dir: Path) -> dict[str, int]:
    """Apply REMOVAL_RULES under `python_dir`; return the removed entries per rule."""
    counts = {rule.name: 0 for rule in REMOVAL_RULES}
    for folder, dir_names, file_names in os.walk(python_dir, topdown=True):
        for dir_name in list(dir_names):
            path = Path(folder, dir_name)
            rule = _matching_rule(path.relative_to(python_dir), is_dir=True)
            if rule is not None:
                shutil.rmtree(path)
                dir_names.remove(dir_name)
                counts[rule.name] += 1
        for file_name in file_names:
            path = Path(folder, file_name)
            rule = _matching_rule(path.relative_to(python_dir), is_dir=False)
            if rule is not None:
                path.unlink()
                counts[rule.name] += 1
    _remove_empty_folders(python_dir)
    return counts


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
    _compileall(python_dir, install_prefix).check_returncode()
    sources = [path for path in regular_files(python_dir) if path.suffix == ".py"]
    missing = [source for source in sources if not cached_bytecode(source).is_file()]
    if missing:
        raise RuntimeError(f"compileall wrote no bytecode for {missing[0]} ({len(missing)} files)")
    return len(sources)


def bytecode_bytes(python_dir: Path) -> int:
    """Bytes of all the files in `__pycache__` folders under `python_dir`."""
    return sum(
        path.stat().st_size
        for path in regular_files(python_dir)
        if path.parent.name == "__pycache__"
    )


def _compileall(python_dir: Path, install_prefix: str) -> subprocess.CompletedProcess[bytes]:
    if sys.version_info[:2] != (3, 13):
        raise RuntimeError("bytecode must be compiled by python3.13 (the Lambda runtime's version)")
    environment = {
        key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"
    }
    # -d: the same file names in the bytecode wherever the build happens
    return subprocess.run(
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
        check=False,
        stdout=subprocess.DEVNULL,
        env=environment,
    )


def cached_bytecode(source: Path) -> Path:
    """Where python3.13 looks for the bytecode of `source`."""
    return source.parent / "__pycache__" / f"{source.stem}.cpython-313.pyc"


def rewrite_records(python_dir: Path) -> None:
    """Make each dist-info RECORD describe the slimmed files.

    Entries of removed files (and of files outside the layer, like pip's bin/ scripts whose
    hashes depend on the building interpreter's path) are dropped, stripped files rehashed and
    the precompiled bytecode listed, so RECORD never lies and the zip is reproducible.
    """
    for record in sorted(python_dir.glob("*.dist-info/RECORD")):
        record_name = record.relative_to(python_dir).as_posix()
        listed: dict[str, None] = {}
        for row in csv.reader(io.StringIO(record.read_text(encoding="utf-8"))):
            path = python_dir / row[0]
            if row[0] == record_name:
                continue
            if not path.resolve().is_relative_to(python_dir.resolve()) or not path.is_file():
                continue
            listed[row[0]] = None
            if path.suffix == ".py" and cached_bytecode(path).is_file():
                listed[cached_bytecode(path).relative_to(python_dir).as_posix()] = None
        text = io.StringIO()
        writer = csv.writer(text, lineterminator="\n")
        writer.writerows(
            [name, _record_hash(python_dir / name), (python_dir / name).stat().st_size]
            for name in listed
        )
        writer.writerow([record_name, "", ""])
        record.write_text(text.getvalue(), encoding="utf-8")


def _record_hash(path: Path) -> str:
    digest = hashlib.sha256(path.read_bytes()).digest()
    return "sha256=" + base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def slim(python_dir: Path, strip: str | None, install_prefix: str) -> SlimmingRecord:
    """Remove, strip, precompile and rewrite RECORDs in that order; report what was done."""
    removed = remove_unneeded(python_dir)
    stripped = strip_shared_objects(python_dir, strip)
    compiled = compile_bytecode(python_dir, install_prefix)
    rewrite_records(python_dir)
    return SlimmingRecord(
        removed=removed,
        strip_tool=Path(strip).name if strip else None,
        stripped_files=stripped,
        compiled_files=compiled,
    )
