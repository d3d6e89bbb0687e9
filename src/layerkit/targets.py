"""Target platforms: the Lambda python3.13 runtime on arm64 (Graviton) or x86_64."""

from __future__ import annotations

import platform
import shutil
from dataclasses import dataclass
from enum import StrEnum

PYTHON_VERSION = "3.13"
PYTHON_TAG = "cp313"
# PEP 600 tags are matched literally by pip: every tag the runtime's glibc (2.34) accepts must be
# passed, or pip silently falls back to older releases that happen to carry the one tag given.
MANYLINUX_MINORS = tuple(range(17, 35))


class Arch(StrEnum):
    """A Lambda instruction set architecture, named as Lambda names it."""

    ARM64 = "arm64"
    X86_64 = "x86_64"


@dataclass(frozen=True)
class Target:
    """Everything that depends on the target architecture."""

    arch: Arch
    gnu_machine: str
    elf_machine: str
    strip_tool: str
    docker_platform: str

    @property
    def platform_tags(self) -> tuple[str, ...]:
        """Every manylinux tag a python3.13 Lambda on this architecture can load."""
        return tuple(f"manylinux_2_{minor}_{self.gnu_machine}" for minor in MANYLINUX_MINORS)

    @property
    def extension_suffix(self) -> str:
        """The version-specific extension module suffix of CPython 3.13 on this target."""
        return f".cpython-313-{self.gnu_machine}-linux-gnu.so"

    @property
    def is_host(self) -> bool:
        """True when binaries for this target run natively on this machine."""
        return platform.machine() == self.gnu_machine

    def strip_command(self) -> str | None:
        """A strip that understands this target's ELF files, or None when none is installed."""
        found = shutil.which(self.strip_tool)
        if found is None and self.is_host:
            found = shutil.which("strip")
        return found


TARGETS: dict[Arch, Target] = {
    Arch.ARM64: Target(
        arch=Arch.ARM64,
        gnu_machine="aarch64",
        elf_machine="EM_AARCH64",
        strip_tool="aarch64-linux-gnu-strip",
        docker_platform="linux/arm64",
    ),
    Arch.X86_64: Target(
        arch=Arch.X86_64,
        gnu_machine="x86_64",
        elf_machine="EM_X86_64",
        strip_tool="x86_64-linux-gnu-strip",
        docker_platform="linux/amd64",
    ),
}


def target(arch: str) -> Target:
    """The target for an architecture name (`arm64` or `x86_64`)."""
    return TARGETS[Arch(arch)]
