"""Verify layers and function packages against the Lambda python3.13 runtime they will run on."""

from __future__ import annotations

import importlib.util
import lzma
import os
import re
import shutil
import stat
import tempfile
import zipfile
import zlib
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

from elftools.common.exceptions import ELFError
from packaging.utils import canonicalize_name
from packaging.version import Version
from pydantic import ValidationError

from layerkit import emulate
from layerkit.distributions import Distribution, MetadataError, scan_distributions
from layerkit.elf import ElfFacts, binary_kind, read_elf, symbol_version
from layerkit.manifest import LayerManifest
from layerkit.pack import regular_files, tree_bytes
from layerkit.slim import cached_bytecode
from layerkit.targets import PYTHON_VERSION, Target

UNZIPPED_LIMIT = 262_144_000  # function + all its layers, unzipped
DIRECT_UPLOAD_LIMIT = 50 * 1024 * 1024  # bigger zips must be uploaded through S3
# Amazon Linux 2023 (the python3.13 runtime): glibc 2.34, libstdc++ from gcc 11.
MAX_SYMBOL_VERSIONS: dict[str, tuple[int, ...]] = {
    "GLIBC": (2, 34),
    "GLIBCXX": (3, 4, 29),
    "CXXABI": (1, 3, 13),
}
# Shared libraries every python3.13 Lambda has outside the layers: the glibc family, the gcc
# runtime (libstdc++, libgcc_s; NOT libgomp or libgfortran, which wheels must bundle) and the
# libraries the runtime's own interpreter links (zlib, OpenSSL, libffi, expat, sqlite, bz2, xz).
RUNTIME_LIBRARIES = frozenset(
    {
        "ld-linux-aarch64.so.1",
        "ld-linux-x86-64.so.2",
        "libc.so.6",
        "libm.so.6",
        "libdl.so.2",
        "libpthread.so.0",
        "librt.so.1",
        "libutil.so.1",
        "libresolv.so.2",
        "libcrypt.so.2",
        "libstdc++.so.6",
        "libgcc_s.so.1",
        "libz.so.1",
        "libssl.so.3",
        "libcrypto.so.3",
        "libffi.so.8",
        "libexpat.so.1",
        "libsqlite3.so.0",
        "libbz2.so.1",
        "liblzma.so.5",
    }
)
# Distributions the python3.13 runtime itself provides (boto3 and its dependencies).
RUNTIME_DISTRIBUTIONS = frozenset(
    {"boto3", "botocore", "s3transfer", "jmespath", "urllib3", "python-dateutil", "six"}
)
EXTENSION_TAG = re.compile(r"\.(cpython-\d+[a-z]*-[^.]+)\.so$")
NOT_IMPORTABLE = {"bin", "__pycache__"}
# What extracting a zip can raise: a broken archive, corrupt deflate/bzip2/lzma data, a truncated
# member, encryption (RuntimeError), a compression method zipfile lacks, members clashing on disk.
ZIP_ERRORS = (
    zipfile.BadZipFile,
    zlib.error,
    lzma.LZMAError,
    EOFError,
    RuntimeError,
    NotImplementedError,
    OSError,
)
# Lambda's LD_LIBRARY_PATH includes /var/task, /var/task/lib and /opt/lib (relative to the roots)
LIBRARY_DIRS: dict[str, tuple[str, ...]] = {"layer": ("lib",), "function": (".", "lib")}
UNCHECKED_HASH_PYC = 0b01  # PEP 552 flags: hash-based, not checked against the source
PackageKind = Literal["layer", "function"]


class Severity(StrEnum):
    """Errors fail verification; warnings are reported only."""

    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Finding:
    """One problem, named by check, package and file."""

    check: str
    severity: Severity
    package: str
    path: str
    message: str


@dataclass
class PackageFacts:
    """A layer or function package opened for verification."""

    label: str
    kind: PackageKind
    source: Path
    content_root: Path  # what the zip's root holds (a layer's python/ lies in it)
    path_entry: Path  # the folder Lambda puts on sys.path (/opt/python or /var/task)
    zipped_bytes: int | None
    unzipped_bytes: int = 0
    breakdown: list[tuple[str, int]] = field(default_factory=list)
    distributions: dict[str, Distribution] = field(default_factory=dict)
    metadata_problems: list[MetadataError] = field(default_factory=list)
    top_level: dict[str, Path] = field(default_factory=dict)  # importable name -> its entry

    def relative(self, path: Path) -> str:
        """A file's path as it appears in the package's zip."""
        return path.relative_to(self.content_root).as_posix()


@dataclass
class VerifyReport:
    """Everything verification found, with sizes and the smoke test's outcome."""

    target: Target
    packages: list[PackageFacts]
    findings: list[Finding]
    smoke: emulate.SmokeResult | None

    @property
    def ok(self) -> bool:
        """True when no check found an error."""
        return not any(finding.severity is Severity.ERROR for finding in self.findings)

    def to_json(self) -> dict[str, Any]:
        """A machine-readable form of the report."""
        return {
            "ok": self.ok,
            "arch": self.target.arch.value,
            "python": PYTHON_VERSION,
            "packages": [
                {
                    "name": package.label,
                    "kind": package.kind,
                    "source": str(package.source),
                    "unzipped_bytes": package.unzipped_bytes,
                    "zipped_bytes": package.zipped_bytes,
                    "needs_s3_upload": (package.zipped_bytes or 0) > DIRECT_UPLOAD_LIMIT,
                    "breakdown": dict(package.breakdown),
                    "distributions": {
                        name: dist.version for name, dist in sorted(package.distributions.items())
                    },
                }
                for package in self.packages
            ],
            "combined_unzipped_bytes": sum(package.unzipped_bytes for package in self.packages),
            "unzipped_limit": UNZIPPED_LIMIT,
            "findings": [
                {
                    "check": finding.check,
                    "severity": finding.severity.value,
                    "package": finding.package,
                    "path": finding.path,
                    "message": finding.message,
                }
                for finding in self.findings
            ],
            "smoke": None
            if self.smoke is None
            else {
                "passed": self.smoke.passed,
                "command": self.smoke.command,
                "returncode": self.smoke.returncode,
                "timed_out": self.smoke.timed_out,
                "wall_seconds": round(self.smoke.wall_seconds, 3),
                "import_seconds": self.smoke.import_seconds,
                "stdout": self.smoke.stdout,
                "stderr": self.smoke.stderr[-4000:],
            },
        }

    def render(self) -> str:
        """A readable report."""
        mib = 1024 * 1024
        lines = [f"verify {self.target.arch.value} python{PYTHON_VERSION}"]
        for package in self.packages:
            zipped = (
                f", {package.zipped_bytes / mib:.1f} MiB zipped" if package.zipped_bytes else ""
            )
            upload = (
                " (needs S3 upload)" if (package.zipped_bytes or 0) > DIRECT_UPLOAD_LIMIT else ""
            )
            lines.append(
                f"{package.kind} {package.label} ({package.source}): "
                f"{package.unzipped_bytes / mib:.1f} MiB unzipped{zipped}{upload}"
            )
            lines.extend(f"    {size / mib:8.2f} MiB  {name}" for name, size in package.breakdown)
        total = sum(package.unzipped_bytes for package in self.packages)
        lines.append(f"combined: {total / mib:.1f} MiB of {UNZIPPED_LIMIT / mib:.1f} MiB allowed")
        if self.smoke is not None:
            outcome = "passed" if self.smoke.passed else "FAILED"
            imports = self.smoke.import_seconds
            lines.append(
                f"smoke import ({self.smoke.command[0]}): {outcome} in "
                f"{self.smoke.wall_seconds:.2f} s"
                + (f" (imports {imports:.3f} s)" if imports is not None else "")
            )
        lines.extend(
            f"{finding.severity.value.upper()} [{finding.check}] {finding.package}: "
            f"{finding.path}: {finding.message}"
            for finding in self.findings
        )
        errors = sum(finding.severity is Severity.ERROR for finding in self.findings)
        lines.append(
            f"result: {'PASSED' if self.ok else 'FAILED'} "
            f"({errors} errors, {len(self.findings) - errors} warnings)"
        )
        return "\n".join(lines)


def _label(path: Path) -> str:
    if path.name == "python" and path.is_dir():
        return path.parent.name
    return path.name.removesuffix(".zip")


class UnreadableZip(Exception):
    """A zip that cannot be extracted: `member` names the entry at fault ("." for the archive)."""

    def __init__(self, member: str, message: str) -> None:
        super().__init__(message)
        self.member = member


def open_package(path: Path, kind: PackageKind, scratch: Path) -> PackageFacts:
    """Open a zip (extracted into the empty folder `scratch`) or a folder as a package.

    Raises FileNotFoundError for a missing path and UnreadableZip for a zip that cannot be read.
    """
    label = _label(path)
    zipped: int | None = None
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist")
    if path.is_file():
        content_root = scratch
        _extract(path, content_root)
        zipped = path.stat().st_size
    elif path.name == "python" and kind == "layer":
        content_root = path.parent
    else:
        content_root = path
    path_entry = content_root / "python" if kind == "layer" else content_root
    package = PackageFacts(label, kind, path, content_root, path_entry, zipped)
    package.unzipped_bytes = tree_bytes(content_root)
    if path_entry.is_dir():
        package.distributions, package.metadata_problems = scan_distributions(path_entry)
        package.top_level = _top_level_names(path_entry)
    package.breakdown = _breakdown(package)
    return package


def _extract(path: Path, destination: Path) -> None:
    """Extract a zip as Lambda would, symbolic links included; raise UnreadableZip if it cannot."""
    try:
        archive = zipfile.ZipFile(path)
    except ZIP_ERRORS as error:
        raise UnreadableZip(".", f"{path} is not a readable zip: {error}") from error
    links: list[tuple[Path, str]] = []
    with archive:
        for member in archive.infolist():
            try:
                extracted = Path(archive.extract(member, destination))
                if stat.S_ISLNK(member.external_attr >> 16):
                    links.append((extracted, extracted.read_text(errors="replace")))
            except ZIP_ERRORS as error:
                raise UnreadableZip(
                    member.filename, f"{path}: cannot extract {member.filename}: {error}"
                ) from error
    # links last: a link to a folder must not redirect the extraction of later members
    for extracted, target in links:
        extracted.unlink()
        extracted.symlink_to(target)


def _top_level_names(path_entry: Path) -> dict[str, Path]:
    names: dict[str, Path] = {}
    for entry in sorted(path_entry.iterdir()):
        if entry.is_dir() and entry.name not in NOT_IMPORTABLE and "." not in entry.name:
            names.setdefault(entry.name, entry)
        elif entry.suffix in {".py", ".so"}:
            names.setdefault(entry.name.split(".", 1)[0], entry)
    return names


def _breakdown(package: PackageFacts) -> list[tuple[str, int]]:
    sizes: dict[str, int] = {}
    for path in regular_files(package.content_root):
        parts = path.relative_to(package.content_root).parts
        inside = package.kind == "function" or (len(parts) > 1 and parts[0] == "python")
        key = (parts[1] if package.kind == "layer" else parts[0]) if inside else "(outside python/)"
        if inside and len(parts) == (2 if package.kind == "layer" else 1):
            key = "(top-level files)"
        sizes[key] = sizes.get(key, 0) + path.stat().st_size
    return sorted(sizes.items(), key=lambda item: (-item[1], item[0]))


def check_layout(package: PackageFacts) -> list[Finding]:
    """A layer needs python/ at the zip's root, where Lambda looks for it under /opt.

    A function package needs at least one file.
    """
    if package.kind == "layer" and not package.path_entry.is_dir():
        return [_error("layout", package, ".", "no python/ folder at the root")]
    if package.kind == "function" and not regular_files(package.content_root):
        return [_error("layout", package, ".", "the function package holds no files")]
    return []


def check_symlinks(package: PackageFacts) -> list[Finding]:
    """Symbolic links must point at something inside the package, which the other checks see.

    The checks read regular files only; a link leading out of the package (or nowhere) would
    carry a file no check has seen, or nothing at all on Lambda.
    """
    inside = package.content_root.resolve()
    findings: list[Finding] = []
    for folder, folders, files in os.walk(package.content_root):
        for name in sorted([*folders, *files]):
            link = Path(folder, name)
            if not link.is_symlink():
                continue
            target = link.resolve()
            if not target.exists() or not target.is_relative_to(inside):
                findings.append(
                    _error(
                        "symlink",
                        package,
                        package.relative(link),
                        f"symbolic link to {os.readlink(link)}, which is not in the package: "
                        "no check has seen what it points to, and Lambda may find nothing there",
                    )
                )
    return findings


def check_metadata(package: PackageFacts) -> list[Finding]:
    """Every METADATA has a Name, a PEP 440 Version and valid Requires-Dist lines, in UTF-8."""
    return [
        _error("metadata", package, package.relative(problem.metadata_file), problem.problem)
        for problem in package.metadata_problems
    ]


def check_binaries(
    package: PackageFacts, target: Target, library_dirs: list[Path]
) -> list[Finding]:
    """ELF machine, foreign binaries, symbol versions, needed libraries, extension module tags."""
    findings: list[Finding] = []
    for path in regular_files(package.content_root):
        relative = package.relative(path)
        tag = EXTENSION_TAG.search(path.name)
        if tag and not path.name.endswith(target.extension_suffix):
            findings.append(
                _error(
                    "extension-suffix",
                    package,
                    relative,
                    f"extension module built for {tag.group(1)}; python{PYTHON_VERSION} on "
                    f"{target.arch} loads only *{target.extension_suffix} or *.abi3.so",
                )
            )
        if path.suffix == ".pyd":
            findings.append(_error("foreign-binary", package, relative, "Windows extension"))
        kind = binary_kind(path)
        if kind in {"mach-o", "pe"}:
            findings.append(_error("foreign-binary", package, relative, f"{kind} file, not ELF"))
        if kind == "elf":
            findings.extend(_check_elf(package, path, target, library_dirs))
    return findings


def _check_elf(
    package: PackageFacts, path: Path, target: Target, library_dirs: list[Path]
) -> list[Finding]:
    relative = package.relative(path)
    try:
        facts = read_elf(path)
    except (ELFError, ValueError) as error:
        return [_error("elf-parse", package, relative, f"unreadable ELF file: {error}")]
    if facts.machine != target.elf_machine:
        return [
            _error(
                "elf-machine",
                package,
                relative,
                f"built for {facts.machine}, the {target.arch} runtime needs {target.elf_machine}",
            )
        ]
    search = [*_own_search_dirs(path, facts), *library_dirs]
    bundled = {library for library in facts.needed if any((d / library).is_file() for d in search)}
    findings = [
        _error(
            "needed-library",
            package,
            relative,
            f"needs {library}, which is neither where the loader looks for it "
            "(RPATH/RUNPATH, its own folder, lib/ on LD_LIBRARY_PATH) nor in the Lambda runtime",
        )
        for library in facts.needed
        if library not in bundled and library not in RUNTIME_LIBRARIES
    ]
    highest: dict[str, tuple[tuple[int, ...], str]] = {}
    for library, version_name in facts.version_needs:
        parsed = symbol_version(version_name)
        # a bundled copy of a runtime base library (libstdc++, libc...) waives nothing: the
        # loader may well pick the runtime's own copy, loaded first by the interpreter
        if parsed is None or (library in bundled and library not in RUNTIME_LIBRARIES):
            continue
        family, version = parsed
        if family not in highest or version > highest[family][0]:
            highest[family] = (version, version_name)
    for family, (version, version_name) in sorted(highest.items()):
        limit = MAX_SYMBOL_VERSIONS[family]
        if version > limit:
            allowed = f"{family}_{'.'.join(map(str, limit))}"
            findings.append(
                _error(
                    "symbol-versions",
                    package,
                    relative,
                    f"needs {version_name}; Amazon Linux 2023 provides up to {allowed}",
                )
            )
    return findings


def _own_search_dirs(path: Path, facts: ElfFacts) -> list[Path]:
    """Its RPATH/RUNPATH ($ORIGIN entries) and its own folder.

    The own folder stands for the RPATH of the library that loads it: auditwheel's `*.libs`
    folders hold libraries found through the extension's RPATH, which the loader also uses for
    their dependencies.
    """
    folders = [path.parent]
    for entry in facts.search_paths:
        for origin in ("$ORIGIN", "${ORIGIN}"):
            if entry.startswith(origin):
                folders.append(Path(str(path.parent) + entry.removeprefix(origin)))
    return folders


def library_dirs(packages: list[PackageFacts]) -> list[Path]:
    """The packages' folders on Lambda's LD_LIBRARY_PATH (/var/task, /var/task/lib, /opt/lib)."""
    return [
        package.content_root / folder
        for package in sorted(packages, key=lambda package: package.kind != "function")
        for folder in LIBRARY_DIRS[package.kind]
    ]


def check_sizes(packages: list[PackageFacts]) -> list[Finding]:
    """Each package and all of them together within Lambda's unzipped limit; big zips flagged."""
    findings: list[Finding] = []
    for package in packages:
        if package.unzipped_bytes > UNZIPPED_LIMIT:
            findings.append(
                _error(
                    "size",
                    package,
                    ".",
                    f"{package.unzipped_bytes:,} bytes unzipped, over the {UNZIPPED_LIMIT:,} limit",
                )
            )
        if (package.zipped_bytes or 0) > DIRECT_UPLOAD_LIMIT:
            findings.append(
                Finding(
                    "size",
                    Severity.WARNING,
                    package.label,
                    str(package.source),
                    f"zip is {package.zipped_bytes:,} bytes: needs S3 upload (over 50 MB)",
                )
            )
    total = sum(package.unzipped_bytes for package in packages)
    if len(packages) > 1 and total > UNZIPPED_LIMIT:
        findings.append(
            Finding(
                "size",
                Severity.ERROR,
                "+".join(package.label for package in packages),
                ".",
                f"together {total:,} bytes unzipped, over the {UNZIPPED_LIMIT:,} limit",
            )
        )
    return findings


def check_overlaps(packages: list[PackageFacts]) -> list[Finding]:
    """No distribution or importable name in two layers; no function package shadowing a layer.

    Lambda extracts the layers into one /opt in order: a later layer's files overwrite an
    earlier one's. Namespace package folders may be shared as long as no file is.
    """
    findings: list[Finding] = []
    layers = [package for package in packages if package.kind == "layer"]
    for index, first in enumerate(layers):
        for second in layers[index + 1 :]:
            for name in sorted(set(first.distributions) & set(second.distributions)):
                findings.append(
                    _error(
                        "overlap",
                        second,
                        second.relative(second.distributions[name].dist_info),
                        f"distribution {name} is also in layer {first.label}",
                    )
                )
            for name in sorted(first.top_level.keys() & second.top_level.keys()):
                earlier, later = first.top_level[name], second.top_level[name]
                if _merge_cleanly(earlier, later):
                    continue
                findings.append(
                    _error(
                        "overlap",
                        second,
                        second.relative(later),
                        f"{name} is also in layer {first.label} ({first.relative(earlier)}): "
                        "Lambda extracts the layers into one /opt in order, so this layer's files "
                        "overwrite that one's",
                    )
                )
    for function in (package for package in packages if package.kind == "function"):
        for layer in layers:
            for name in sorted(function.top_level.keys() & layer.top_level.keys()):
                findings.append(
                    _error(
                        "overlap",
                        function,
                        function.relative(function.top_level[name]),
                        f"function package carries {name}, which layer {layer.label} provides: "
                        "the function's copy would shadow the layer's",
                    )
                )
    return findings


def _merge_cleanly(first: Path, second: Path) -> bool:
    """Two portions of a namespace package (folders without __init__.py) sharing no file."""

    def files(folder: Path) -> set[Path] | None:
        if not folder.is_dir() or (folder / "__init__.py").exists():
            return None
        return {path.relative_to(folder) for path in regular_files(folder)}

    mine, theirs = files(first), files(second)
    return mine is not None and theirs is not None and not mine & theirs


def check_pins(packages: list[PackageFacts], target: Target) -> list[Finding]:
    """Installed versions equal the pins in the layer's manifest, built for this arch."""
    findings: list[Finding] = []
    for package in packages:
        for manifest_path in sorted(package.path_entry.glob("*-layer-manifest.json")):
            relative = package.relative(manifest_path)
            try:
                manifest = LayerManifest.read(manifest_path)
            except (ValidationError, ValueError) as error:
                findings.append(_error("pins", package, relative, f"unreadable manifest: {error}"))
                continue
            if manifest.arch != target.arch.value:
                findings.append(
                    _error(
                        "pins", package, relative, f"built for {manifest.arch}, not {target.arch}"
                    )
                )
            installed = {name: dist.version for name, dist in package.distributions.items()}
            if installed != manifest.pins:
                findings.append(
                    _error(
                        "pins",
                        package,
                        relative,
                        f"installed {sorted(installed.items())} != pinned "
                        f"{sorted(manifest.pins.items())}",
                    )
                )
    return findings


def check_requirements(packages: list[PackageFacts], target: Target) -> list[Finding]:
    """Every declared requirement is provided and its version in range (numpy for faiss-cpu)."""
    findings: list[Finding] = []
    visible: dict[str, Distribution] = {}
    for package in sorted(packages, key=lambda package: package.kind != "function"):
        for name, dist in package.distributions.items():
            visible.setdefault(name, dist)
    environment = {
        "python_version": PYTHON_VERSION,
        "python_full_version": f"{PYTHON_VERSION}.0",
        "platform_machine": target.gnu_machine,
        "sys_platform": "linux",
        "platform_system": "Linux",
        "os_name": "posix",
        "implementation_name": "cpython",
        "platform_python_implementation": "CPython",
        "extra": "",
    }
    for package in packages:
        for dist in package.distributions.values():
            for requirement in dist.requires:
                if requirement.marker is not None and not requirement.marker.evaluate(environment):
                    continue
                found = visible.get(canonicalize_name(requirement.name))
                relative = package.relative(dist.dist_info / "METADATA")
                if found is None:
                    if canonicalize_name(requirement.name) not in RUNTIME_DISTRIBUTIONS:
                        findings.append(
                            _error(
                                "requirements",
                                package,
                                relative,
                                f"{dist.name} requires {requirement}, which no package provides",
                            )
                        )
                elif not requirement.specifier.contains(Version(found.version), prereleases=True):
                    findings.append(
                        _error(
                            "requirements",
                            package,
                            relative,
                            f"{dist.name} requires {requirement}, but {found.name} "
                            f"{found.version} is installed",
                        )
                    )
    return findings


def check_bytecode(package: PackageFacts) -> list[Finding]:
    """Every module has unchecked-hash python3.13 bytecode matching its source.

    Read-only /opt and /var/task cannot cache bytecode: modules without it recompile on every
    cold start, and bytecode compiled from other source is imported instead of the source.
    """
    sources = [path for path in regular_files(package.path_entry) if path.suffix == ".py"]
    missing: list[Path] = []
    findings: list[Finding] = []
    for source in sources:
        pyc = cached_bytecode(source)
        header = _pyc_header(pyc)
        if header is None:
            missing.append(source)
        elif header[8:16] != importlib.util.source_hash(source.read_bytes()):
            findings.append(
                _error(
                    "bytecode",
                    package,
                    package.relative(source),
                    f"stale bytecode: {package.relative(pyc)} was compiled from other source, "
                    "and Python imports it without checking",
                )
            )
    if missing:
        severity = Severity.ERROR if package.kind == "layer" else Severity.WARNING
        findings.append(
            Finding(
                "bytecode",
                severity,
                package.label,
                package.relative(missing[0]),
                f"{len(missing)} of {len(sources)} modules lack unchecked-hash python"
                f"{PYTHON_VERSION} bytecode: they recompile on every cold start",
            )
        )
    return findings


def _pyc_header(pyc: Path) -> bytes | None:
    """The 16-byte header of an unchecked-hash pyc for this Python, else None."""
    if not pyc.is_file():
        return None
    with pyc.open("rb") as stream:
        header = stream.read(16)
    flags = int.from_bytes(header[4:8], "little")
    if header[:4] != importlib.util.MAGIC_NUMBER or flags != UNCHECKED_HASH_PYC:
        return None
    return header


def smoke_modules(packages: list[PackageFacts]) -> list[str]:
    """Which of faiss, numpy and pydantic the packages provide (those the smoke test exercises)."""
    provided = set().union(*(package.top_level for package in packages))
    return [name for name in emulate.SMOKE_MODULES if name in provided]


def merge_layers(layers: list[PackageFacts], opt: Path) -> None:
    """Lay the layers into one folder as Lambda does into /opt: in order, later files win.

    Files are hard-linked where the file system allows it, else copied.
    """
    opt.mkdir()
    for layer in layers:
        shutil.copytree(
            layer.content_root, opt, symlinks=True, dirs_exist_ok=True, copy_function=_link_or_copy
        )


def _link_or_copy(source: str, destination: str) -> None:
    Path(destination).unlink(missing_ok=True)
    try:
        os.link(source, destination)
    except OSError:
        shutil.copy2(source, destination)


def check_smoke(
    packages: list[PackageFacts], target: Target, cache_dir: Path, opt: Path
) -> tuple[list[Finding], emulate.SmokeResult | None]:
    """Import and use the packages with the target's interpreter, as Lambda would.

    The function package comes first on sys.path, then the layers merged into `opt` (a new
    folder) the way Lambda extracts them into /opt.
    """
    functions = [package for package in packages if package.kind == "function"]
    layers = [package for package in packages if package.kind == "layer"]
    label = "+".join(package.label for package in [*functions, *layers])
    try:
        merge_layers(layers, opt)
    except (OSError, shutil.Error) as error:
        message = f"the layers do not merge into one /opt: {error}"
        return [Finding("emulated-import", Severity.ERROR, label, ".", message)], None
    roots = [
        *(function.path_entry for function in functions),
        *([opt / "python"] if layers else []),
    ]
    try:
        result = emulate.run_smoke(target, roots, smoke_modules(packages), cache_dir)
    except emulate.EmulationUnavailable as error:
        return [Finding("emulated-import", Severity.ERROR, label, ".", str(error))], None
    if result.passed:
        return [], result
    tail = "\n".join(result.stderr.strip().splitlines()[-6:])
    outcome = (
        f"timed out after {emulate.SMOKE_TIMEOUT_SECONDS:g} s"
        if result.timed_out
        else f"exited {result.returncode} without its success line"
    )
    message = f"smoke test {outcome}:\n{tail}" if tail else f"smoke test {outcome}"
    return [Finding("emulated-import", Severity.ERROR, label, ".", message)], result


def verify(
    target: Target,
    layers: list[Path],
    function: Path | None,
    *,
    emulate: bool,
    cache_dir: Path,
) -> VerifyReport:
    """Run every check on the layers (in order) and the function package that uses them."""
    with tempfile.TemporaryDirectory(prefix="layerkit-verify-") as scratch:
        requested: list[tuple[Path, PackageKind]] = [(path, "layer") for path in layers]
        if function is not None:
            requested.append((function, "function"))
        packages: list[PackageFacts] = []
        findings: list[Finding] = []
        for index, (path, kind) in enumerate(requested):
            try:
                packages.append(open_package(path, kind, Path(scratch, str(index))))
            except FileNotFoundError:
                findings.append(_unopened("exists", path, f"{kind} {path} does not exist"))
            except UnreadableZip as error:
                findings.append(_unopened("zip", path, str(error), error.member))
        libraries = library_dirs(packages)
        for package in packages:
            findings += check_layout(package)
            findings += check_symlinks(package)
            findings += check_metadata(package)
            findings += check_binaries(package, target, libraries)
            findings += check_bytecode(package)
        findings += check_sizes(packages)
        findings += check_overlaps(packages)
        findings += check_pins(packages, target)
        findings += check_requirements(packages, target)
        smoke_result = None
        if emulate:
            smoke_findings, smoke_result = check_smoke(
                packages, target, cache_dir, Path(scratch, "opt")
            )
            findings += smoke_findings
        return VerifyReport(target, packages, findings, smoke_result)


def _error(check: str, package: PackageFacts, path: str, message: str) -> Finding:
    return Finding(check, Severity.ERROR, package.label, path, message)


def _unopened(check: str, path: Path, message: str, member: str = ".") -> Finding:
    return Finding(check, Severity.ERROR, _label(path), member, message)
