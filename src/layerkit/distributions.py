"""Installed distributions found in a folder that is a sys.path entry (dist-info metadata)."""

from __future__ import annotations

from dataclasses import dataclass
from email.parser import HeaderParser
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name


@dataclass(frozen=True)
class Distribution:
    """One installed distribution: its name, version, declared requirements and dist-info folder."""

    name: str
    version: str
    requires: tuple[Requirement, ...]
    dist_info: Path


def installed_distributions(path_entry: Path) -> dict[str, Distribution]:
    """The distributions whose `*.dist-info/METADATA` lies directly in `path_entry`."""
    found: dict[str, Distribution] = {}
    for metadata_file in sorted(path_entry.glob("*.dist-info/METADATA")):
        headers = HeaderParser().parsestr(metadata_file.read_text(encoding="utf-8"))
        name = canonicalize_name(headers["Name"])
        requires = tuple(Requirement(text) for text in headers.get_all("Requires-Dist") or [])
        found[name] = Distribution(name, headers["Version"], requires, metadata_file.parent)
    return found
