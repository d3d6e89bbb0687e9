"""Binary file facts read with pyelftools: machine, needed libraries, required symbol versions."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from elftools.common.exceptions import ELFError
from elftools.elf.dynamic import DynamicSection
from elftools.elf.elffile import ELFFile
from elftools.elf.gnuversions import GNUVerNeedSection

ELF_MAGIC = b"\x7fELF"
MACH_O_MAGICS = (
    b"\xfe\xed\xfa\xce",
    b"\xfe\xed\xfa\xcf",
    b"\xce\xfa\xed\xfe",
    b"\xcf\xfa\xed\xfe",
)
FAT_MACH_O_MAGIC = b"\xca\xfe\xba\xbe"  # also the Java class file magic: judged by file name too
PE_DOS_MAGIC = b"MZ"
SYMBOL_VERSION = re.compile(r"^(GLIBC|GLIBCXX|CXXABI)_(\d+(?:\.\d+)*)$")


@dataclass(frozen=True)
class ElfFacts:
    """What the dynamic loader needs to load one ELF file."""

    machine: str
    needed: tuple[str, ...]
    # (library that must provide it, version name), e.g. ("libc.so.6", "GLIBC_2.27")
    version_needs: tuple[tuple[str, str], ...]
    search_paths: tuple[str, ...] = ()  # DT_RPATH and DT_RUNPATH entries, e.g. "$ORIGIN/../x.libs"


def binary_kind(path: Path) -> str | None:
    """'elf', 'mach-o' or 'pe' for binary executables and libraries; None for anything else."""
    with path.open("rb") as stream:
        head = stream.read(64)
    if head.startswith(ELF_MAGIC):
        return "elf"
    if head[:4] in MACH_O_MAGICS:
        return "mach-o"
    if head.startswith(FAT_MACH_O_MAGIC) and path.suffix != ".class":
        return "mach-o"
    if head.startswith(PE_DOS_MAGIC) and len(head) >= 64:
        pe_offset = int.from_bytes(head[60:64], "little")
        with path.open("rb") as stream:
            stream.seek(pe_offset)
            if stream.read(4) == b"PE\0\0":
                return "pe"
    return None


def read_elf(path: Path) -> ElfFacts:
    """Parse an ELF file; raises ELFError when it is truncated or corrupt."""
    with path.open("rb") as stream:
        elf = ELFFile(stream)
        needed: list[str] = []
        version_needs: list[tuple[str, str]] = []
        search_paths: list[str] = []
        for section in elf.iter_sections():
            if isinstance(section, DynamicSection):
                for tag in section.iter_tags():
                    if tag.entry.d_tag == "DT_NEEDED":
                        needed.append(tag.needed)  # type: ignore[attr-defined]
                    elif tag.entry.d_tag == "DT_RPATH":
                        search_paths.extend(tag.rpath.split(":"))  # type: ignore[attr-defined]
                    elif tag.entry.d_tag == "DT_RUNPATH":
                        search_paths.extend(tag.runpath.split(":"))  # type: ignore[attr-defined]
            elif isinstance(section, GNUVerNeedSection):
                for verneed, auxiliaries in section.iter_versions():
                    version_needs.extend((str(verneed.name), str(aux.name)) for aux in auxiliaries)
        return ElfFacts(
            str(elf["e_machine"]),
            tuple(needed),
            tuple(version_needs),
            tuple(search_paths),
        )


def parses_as_elf(path: Path) -> bool:
    """True when pyelftools reads the file's headers, sections and dynamic tags without error."""
    try:
        read_elf(path)
    except (ELFError, ValueError, OSError):
        return False
    return True


def symbol_version(name: str) -> tuple[str, tuple[int, ...]] | None:
    """('GLIBC', (2, 27)) for 'GLIBC_2.27'; None for names the runtime check does not bound."""
    match = SYMBOL_VERSION.match(name)
    if match is None:
        return None
    return match.group(1), tuple(int(part) for part in match.group(2).split("."))
