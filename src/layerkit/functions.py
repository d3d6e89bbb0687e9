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
import hashlib
import re
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path, PurePosixPath

from layerkit.pack import regular_files
from layerkit.slim import compile_bytecode

PROJECT_PACKAGE = "vecsearch"
TASK_ROOT = "/var/task"  # where Lambda unpacks the function package
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
FILE_MODE = 0o644 << 16
NATIVE_SUFFIXES = (".so", ".pyd", ".dylib", ".dll", ".a")
ELF_MAGIC = b"\x7fELF"
EXCLUDED_PARTS = frozenset({"__pycache__", "tests", "test"})
EXCLUDED_SUFFIXES = (".pyc", ".pyo")
# Install bookkeeping that describes the build machine, not the package.
EXCLUDED_DIST_INFO = frozenset({"RECORD", "INSTALLER", "REQUESTED", "direct_url.json"})
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\#]+)")


class FunctionPackageError(Exception):
    """A function package cannot be built as specified."""


@dataclass(frozen=True)
class FunctionPackage:
    """A built function zip: where it is, what it holds and its sha256."""

    path: Path
    entries: tuple[str, ...]
    sha256: str


def read_pins(requirements: Path) -> dict[str, str]:
    """The `name==version` pins of a requirements file, by distribution name."""
    pins: dict[str, str] = {}
    for line in requirements.read_text(encoding="utf-8").splitlines():
        match = PIN.match(line.strip())
        if match:
            pins[match.group(1)] = match.group(2)
    return pins


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


def write_deterministic_zip(files: dict[str, Path], output: Path) -> str:
    """Zip files under their archive names in sorted order with fixed metadata; return sha256."""
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(output.name + ".partial")
    with zipfile.ZipFile(
        partial, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9
    ) as archive:
        for arcname in sorted(files):
            info = zipfile.ZipInfo(arcname, date_time=ZIP_EPOCH)
            info.external_attr = FILE_MODE
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, files[arcname].read_bytes(), compresslevel=9)
    partial.replace(output)
    return hashlib.sha256(output.read_bytes()).hexdigest()


def build_function_package(
    service_dir: Path, source_root: Path, requirements: Path, output: Path
) -> FunctionPackage:
    """Build the zip for one service: its handlers, `vecsearch/` and the pinned pure-Python deps."""
    files = _project_files(source_root)
    for name, path in _handler_files(service_dir).items():
        if name in files:
            raise FunctionPackageError(f"handler {name} collides with {files[name]}")
        files[name] = path
    for name, version in read_pins(requirements).items():
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
        staged = {path.relative_to(staging).as_posix(): path for path in regular_files(staging)}
        digest = write_deterministic_zip(staged, output)
    return FunctionPackage(path=output, entries=tuple(sorted(staged)), sha256=digest)


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
