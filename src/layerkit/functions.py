"""Function packages: a service's handlers, the project's code and pure-Python dependencies, zipped.

The heavy dependencies (faiss, numpy, pydantic) come from the layers and boto3 from the runtime, so
a function package holds only `vecsearch/`, the service's top-level `*.py` handler files, and the
distributions pinned in requirements/function.txt, copied from the running interpreter's
site-packages after checking their versions match the pins. Nothing native is allowed in. No
build-host caches either: bytecode is compiled afresh as unchecked-hash pycs (/var/task is read-only
and zips lose mtimes, so without them every cold start recompiles), and the zip is byte-for-byte
reproducible (sorted entries, fixed timestamps and permissions).
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path, PurePosixPath

from layerkit.elf import ELF_MAGIC
from layerkit.pack import file_sha256, pack_zip, regular_files
from layerkit.pins import PinError, read_pins
from layerkit.slim import compile_bytecode

PROJECT_PACKAGE = "vecsearch"
TASK_ROOT = "/var/task"  # where Lambda unpacks the function package
NATIVE_SUFFIXES = (".so", ".pyd", ".dylib", ".dll", ".a")
EXCLUDED_PARTS = frozenset({"__pycache__", "tests", "test"})
EXCLUDED_SUFFIXES = (".pyc", ".pyo")
# Install bookkeeping that describes the build machine, not the package.
EXCLUDED_DIST_INFO = frozenset({"RECORD", "INSTALLER", "REQUESTED", "direct_url.json"})


class FunctionPackageError(Exception):
    """A function package cannot be built as specified."""


@dataclass(frozen=True)
class FunctionPackage:
    """A built function zip: where it is, what it holds and its sha256."""

    path: Path
    entries: tuple[str, ...]
    sha256: str


def _is_excluded(relative: PurePosixPath) -> bool:
    return bool(EXCLUDED_PARTS.intersection(relative.parts)) or relative.suffix in EXCLUDED_SUFFIXES


def _project_files(source_root: Path) -> dict[str, Path]:
    package_dir = source_root / PROJECT_PACKAGE
    if not package_dir.is_dir():
        raise FunctionPackageError(f"{package_dir} is not a directory")
    files: dict[str, Path] = {}
    for path in package_dir.rglob("*"):
        relative = PurePosixPath(path.relative_to(source_root).as_posix())
        if path.is_file() and not _is_excluded(relative):
            files[str(relative)] = path
    return files


def _handler_files(service_dir: Path) -> dict[str, Path]:
    handlers = {path.name: path for path in service_dir.glob("*.py") if path.is_file()}
    if not handlers:
        raise FunctionPackageError(f"no handler files (*.py) in {service_dir}")
    return handlers


def _distribution_files(name: str, version: str) -> dict[str, Path]:
    try:
        distribution = metadata.distribution(name)
    except metadata.PackageNotFoundError as error:
        raise FunctionPackageError(
            f"{name}=={version} is not installed in this interpreter"
        ) from error
    if distribution.version != version:
        raise FunctionPackageError(
            f"{name} {distribution.version} is installed but {version} is pinned: "
            "reinstall the requirements"
        )
    site_packages = Path(str(distribution.locate_file(""))).resolve()
    files: dict[str, Path] = {}
    for entry in distribution.files or ():
        path = Path(str(distribution.locate_file(entry))).resolve()
        if not path.is_relative_to(site_packages) or not path.is_file():
            continue  # console scripts live outside site-packages; they are not importable code
        relative = PurePosixPath(path.relative_to(site_packages).as_posix())
        is_bookkeeping = relative.parent.name.endswith(".dist-info") and (
            relative.name in EXCLUDED_DIST_INFO
        )
        if not is_bookkeeping and not _is_excluded(relative):
            files[str(relative)] = path
    return files


def _reject_native(files: dict[str, Path]) -> None:
    for arcname, path in files.items():
        with path.open("rb") as handle:
            is_elf = handle.read(len(ELF_MAGIC)) == ELF_MAGIC
        if is_elf or arcname.endswith(NATIVE_SUFFIXES) or ".so." in arcname:
            raise FunctionPackageError(
                f"{arcname} is a native file: function packages must be pure Python "
                "(native code belongs in a layer)"
            )


def build_function_package(
    service_dir: Path, source_root: Path, requirements: Path, output: Path
) -> FunctionPackage:
    """Build the zip for one service: its handlers, `vecsearch/` and the pinned pure-Python deps."""
    files = _project_files(source_root)
    for name, path in _handler_files(service_dir).items():
        if name in files:
            raise FunctionPackageError(f"handler {name} collides with {files[name]}")
        files[name] = path
    try:
        pins = read_pins(requirements, require_hashes=False)
    except PinError as error:
        raise FunctionPackageError(str(error)) from error
    for name, version in pins.items():
        for arcname, path in _distribution_files(name, version).items():
            if arcname in files:
                raise FunctionPackageError(f"{arcname} is shipped by {name} and by another source")
            files[arcname] = path
    _reject_native(files)
    with tempfile.TemporaryDirectory(prefix="function-package-") as scratch:
        staging = Path(scratch)
        for arcname, path in files.items():
            (staging / arcname).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, staging / arcname)
        compile_bytecode(staging, TASK_ROOT)
        entries = tuple(path.relative_to(staging).as_posix() for path in regular_files(staging))
        output.parent.mkdir(parents=True, exist_ok=True)
        pack_zip(staging, output)
    return FunctionPackage(path=output, entries=entries, sha256=file_sha256(output))


def main(argv: list[str] | None = None) -> int:
    """`python -m layerkit.functions SERVICE_DIR OUTPUT`: build one service's function zip."""
    parser = argparse.ArgumentParser(prog="layerkit.functions", description=main.__doc__)
    parser.add_argument("service_dir", type=Path, help="the service folder (handlers at its top)")
    parser.add_argument("output", type=Path, help="where to write the zip")
    parser.add_argument("--source-root", type=Path, default=Path("src"))
    parser.add_argument("--requirements", type=Path, default=Path("requirements/function.txt"))
    args = parser.parse_args(argv)
    try:
        package = build_function_package(
            args.service_dir, args.source_root, args.requirements, args.output
        )
    except FunctionPackageError as error:
        parser.exit(2, f"error: {error}\n")
    print(f"{package.path} {len(package.entries)} files sha256:{package.sha256}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
