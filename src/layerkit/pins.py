"""Exact pins read from a layer's requirements file (pip's hash-checking format)."""

from __future__ import annotations

from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name


class PinError(ValueError):
    """A requirements file that is not a list of exact, hashed pins."""


def read_pins(requirements: Path, *, require_hashes: bool = True) -> dict[str, str]:
    """Map each pinned distribution (canonical name) to its exact version; every line needs `==`."""
    logical_lines = requirements.read_text().replace("\\\n", " ").splitlines()
    pins: dict[str, str] = {}
    for line in logical_lines:
        text = line.split("#", 1)[0].strip()
        if not text:
            continue
        requirement_text, _, options = text.partition(" --")
        requirement_text = requirement_text.strip()
        if require_hashes and "hash=sha256:" not in options:
            raise PinError(f"{requirements}: {requirement_text!r} has no --hash")
        try:
            requirement = Requirement(requirement_text)
        except InvalidRequirement as error:
            message = f"{requirements}: {requirement_text!r} is not a requirement: {error}"
            raise PinError(message) from error
        specifiers = list(requirement.specifier)
        if len(specifiers) != 1 or specifiers[0].operator != "==":
            raise PinError(f"{requirements}: {requirement_text!r} is not pinned with ==")
        pins[canonicalize_name(requirement.name)] = specifiers[0].version
    if not pins:
        raise PinError(f"{requirements}: no requirements")
    return pins
