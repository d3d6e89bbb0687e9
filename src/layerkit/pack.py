"""Deterministic zips: sorted entries, fixed timestamps and permissions, nothing from the host."""

from __future__ import annotations

import hashlib
import os
import zipfile
from pathlib import Path

from layerkit.elf import ELF_MAGIC

FIXED_DATE_TIME = (1980, 1, 1, 0, 0, 0)
FILE_MODE = 0o100644
EXECUTABLE_MODE = 0o100755
UNIX_SYSTEM = 3


def regular_files(root: Path, *, skip: frozenset[str] = frozenset()) -> list[Path]:
    """Every regular file under `root` outside the `skip` folders, sorted by relative POSIX path."""
    files = [
        Path(folder, name)
        for folder, _, names in os.walk(root)
        for name in names
        if Path(folder, name).is_file() and not Path(folder, name).is_symlink()
    ]
    return sorted(
        (path for path in files if not skip.intersection(_folders_of(path.relative_to(root)))),
        key=lambda path: path.relative_to(root).as_posix(),
    )


def _folders_of(relative: Path) -> set[str]:
    return {parent.as_posix() for parent in relative.parents}


def tree_bytes(root: Path, *, skip: frozenset[str] = frozenset()) -> int:
    """Unzipped size of a folder: the sum of its regular files' sizes."""
    return sum(path.stat().st_size for path in regular_files(root, skip=skip))


def tree_sha256(root: Path, *, exclude: frozenset[str] = frozenset()) -> str:
    """A hash of every file's relative path and content; independent of timestamps and order."""
    digest = hashlib.sha256()
    for path in regular_files(root):
        relative = path.relative_to(root).as_posix()
        if relative in exclude:
            continue
        digest.update(relative.encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def pack_zip(root: Path, zip_path: Path, *, skip: frozenset[str] = frozenset()) -> None:
    """Zip the contents of `root` (so `root/python/...` becomes `python/...`) reproducibly."""
    temporary = zip_path.with_suffix(".zip.partial")
    with zipfile.ZipFile(temporary, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in regular_files(root, skip=skip):
            entry = zipfile.ZipInfo(path.relative_to(root).as_posix(), date_time=FIXED_DATE_TIME)
            entry.create_system = UNIX_SYSTEM
            content = path.read_bytes()
            # permissions follow the content, never the build host's umask or file modes
            mode = EXECUTABLE_MODE if content.startswith(ELF_MAGIC) else FILE_MODE
            entry.external_attr = mode << 16
            entry.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(entry, content)
    temporary.replace(zip_path)


def file_sha256(path: Path) -> str:
    """sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
