"""Installed distributions found in a folder that is a sys.path entry (dist-info metadata)."""

from __future__ import annotations

from dataclasses import dataclass
from email.parser import HeaderParser
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version


class MetadataError(ValueError):
    """A dist-info METADATA file that does not describe a distribution."""

    def __init__(self, metadata_file: Path, problem: str) -> None:
        super().__init__(f"{metadata_file}: {problem}")
        self.metadata_file = metadata_file
        self.problem = problem


@dataclass(frozen=True)
class Distribution:
    """One installed distribution: its name, version, declared requirements and dist-info folder."""

    name: str
    version: str
    requires: tuple[Requirement, ...]
    dist_info: Path


def read_distribution(metadata_file: Path) -> Distribution:
    """Parse one METADATA file; raises MetadataError naming what is wrong with it."""
    try:
        text = metadata_file.read_bytes().decode("utf-8")
    except UnicodeDecodeError as error:
        raise MetadataError(metadata_file, f"not UTF-8 ({error.reason})") from error
    except FileNotFoundError as error:
        raise MetadataError(metadata_file, "missing: the dist-info has no METADATA") from error
    except OSError as error:
        raise MetadataError(metadata_file, f"unreadable ({error.strerror})") from error
    headers = HeaderParser().parsestr(text)
    name, version = headers["Name"], headers["Version"]
    if not name:
        raise MetadataError(metadata_file, "no Name header")
    if not version:
        raise MetadataError(metadata_file, "no Version header")
    try:
        Version(version)
    except InvalidVersion as error:
        raise MetadataError(
            metadata_file, f"Version {version!r} is not a PEP 440 version"
        ) from error
    requires = []
    for requirement in headers.get_all("Requires-Dist") or []:
        try:
            requires.append(Requirement(requirement))
        except InvalidRequirement as error:
            raise MetadataError(
                metadata_file, f"invalid Requires-Dist {requirement!r}: {error}"
            ) from error
    return Distribution(canonicalize_name(name), version, tuple(requires), metadata_file.parent)


def scan_distributions(
    path_entry: Path,
) -> tuple[dict[str, Distribution], list[MetadataError]]:
    """The readable distributions directly in `path_entry`, and the problems of the others."""
    found: dict[str, Distribution] = {}
    problems: list[MetadataError] = []
    for dist_info in sorted(path_entry.glob("*.dist-info")):
        try:
            distribution = read_distribution(dist_info / "METADATA")
        except MetadataError as problem:
            problems.append(problem)
            continue
        found[distribution.name] = distribution
    return found, problems


def installed_distributions(path_entry: Path) -> dict[str, Distribution]:
    """The distributions whose `*.dist-info/METADATA` lies directly in `path_entry`; strict."""
    found, problems = scan_distributions(path_entry)
    if problems:
        raise problems[0]
    return found
