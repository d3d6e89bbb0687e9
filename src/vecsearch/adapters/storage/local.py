"""A store in a local directory: atomic writes, conditional writes safe across processes."""

import fcntl
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from vecsearch.core.errors import StorageError
from vecsearch.core.keys import checked_key
from vecsearch.core.store import KeyNotFound, PreconditionFailed

LOCK_FILE = ".vecsearch.lock"
TEMP_PREFIX = ".tmp-"
TEMP_FILE_ATTEMPTS = 5


class LocalDirectoryStore:
    """Objects are files under root; a key's '/' segments are directories."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.root.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        return self.root / checked_key(key)

    def get(self, key: str) -> bytes:
        """Return the object's bytes; raise KeyNotFound if absent."""
        path = self._path(key)
        try:
            return path.read_bytes()
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            raise KeyNotFound(key) from None
        except OSError as error:
            raise StorageError(f"reading {key!r} failed: {error}") from error

    def get_tagged(self, key: str) -> tuple[bytes, str]:
        """Return the object's bytes and a tag that changes with every write."""
        path = self._path(key)
        try:
            with path.open("rb") as stream:
                return stream.read(), self._tag(os.fstat(stream.fileno()))
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            raise KeyNotFound(key) from None
        except OSError as error:
            raise StorageError(f"reading {key!r} failed: {error}") from error

    def put(self, key: str, data: bytes) -> None:
        """Write via a temporary file and os.replace: readers see the old or new bytes."""
        path = self._path(key)
        try:
            handle, temporary = self._temporary_beside(path)
            try:
                with os.fdopen(handle, "wb") as stream:
                    stream.write(data)
                    stream.flush()
                    os.fsync(stream.fileno())
                os.replace(temporary, path)
            except BaseException:
                Path(temporary).unlink(missing_ok=True)
                raise
        except OSError as error:
            raise StorageError(f"writing {key!r} failed: {error}") from error

    @staticmethod
    def _temporary_beside(path: Path) -> tuple[int, str]:
        """A new temporary file in path's folder, created if missing.

        delete() prunes folders it empties, so one may vanish between mkdir and mkstemp: retry.
        """
        attempts_left = TEMP_FILE_ATTEMPTS
        while True:
            path.parent.mkdir(parents=True, exist_ok=True)
            try:
                return tempfile.mkstemp(prefix=TEMP_PREFIX, dir=path.parent)
            except FileNotFoundError:
                attempts_left -= 1
                if attempts_left == 0:
                    raise

    def put_if_absent(self, key: str, data: bytes) -> None:
        """Create the object; PreconditionFailed if it exists (checked under a file lock)."""
        path = self._path(key)
        with self._exclusive():
            if path.exists():
                raise PreconditionFailed(key)
            self.put(key, data)

    def put_if_match(self, key: str, data: bytes, tag: str) -> None:
        """Replace the object only if its tag is still tag (checked under a file lock)."""
        path = self._path(key)
        with self._exclusive():
            try:
                current = self._tag(path.stat())
            except FileNotFoundError:
                raise PreconditionFailed(key) from None
            if current != tag:
                raise PreconditionFailed(key)
            self.put(key, data)

    def exists(self, key: str) -> bool:
        """Whether a file is stored under the key."""
        return self._path(key).is_file()

    def list(self, prefix: str) -> list[str]:
        """Every key starting with prefix, sorted; temporary and lock files are not keys."""
        directory = self.root / prefix.rpartition("/")[0] if "/" in prefix else self.root
        if not directory.resolve().is_relative_to(self.root) or not directory.is_dir():
            return []
        found: list[str] = []
        for folder, subfolders, files in os.walk(directory):
            subfolders[:] = [name for name in subfolders if not name.startswith(".")]
            relative = Path(folder).relative_to(self.root).as_posix()
            base = "" if relative == "." else f"{relative}/"
            found.extend(
                f"{base}{name}"
                for name in files
                if not name.startswith(".") and f"{base}{name}".startswith(prefix)
            )
        return sorted(found)

    def delete(self, key: str) -> None:
        """Remove the file and any directories it leaves empty; absent keys are fine."""
        path = self._path(key)
        try:
            path.unlink(missing_ok=True)
        except OSError as error:
            raise StorageError(f"deleting {key!r} failed: {error}") from error
        for parent in path.parents:
            if parent == self.root:
                break
            try:
                parent.rmdir()
            except OSError:
                break  # not empty, or already gone

    def local_path(self, key: str) -> Path:
        """The file itself (read it, never write it)."""
        path = self._path(key)
        if not path.is_file():
            raise KeyNotFound(key)
        return path

    @staticmethod
    def _tag(status: os.stat_result) -> str:
        # os.replace installs a new inode on every write, so inode + mtime + size changes too.
        return f"{status.st_ino}-{status.st_mtime_ns}-{status.st_size}"

    @contextmanager
    def _exclusive(self) -> Iterator[None]:
        # flock locks belong to an open file description: a fresh open() per call excludes
        # other threads of this process as well as other processes.
        with (self.root / LOCK_FILE).open("a") as lock:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock.fileno(), fcntl.LOCK_UN)
