"""The storage port: what the core needs from a blob store. Adapters implement it."""

from pathlib import Path
from typing import Protocol


class KeyNotFound(KeyError):
    """No object is stored under the key."""


class PreconditionFailed(Exception):
    """A conditional write found the object changed (or present, for create-only writes)."""


class Store(Protocol):
    """A flat key -> bytes store with conditional writes. Keys use '/' as separator."""

    def get(self, key: str) -> bytes:
        """Return the object's bytes; raise KeyNotFound if absent."""
        ...

    def get_tagged(self, key: str) -> tuple[bytes, str]:
        """Return the object's bytes and an opaque version tag for put_if_match."""
        ...

    def put(self, key: str, data: bytes) -> None:
        """Write the object atomically (readers see the old or new bytes, never a mix)."""
        ...

    def put_if_absent(self, key: str, data: bytes) -> None:
        """Create the object; raise PreconditionFailed if the key already exists."""
        ...

    def put_if_match(self, key: str, data: bytes, tag: str) -> None:
        """Replace the object only if its current tag equals tag; else PreconditionFailed."""
        ...

    def exists(self, key: str) -> bool:
        """Whether an object is stored under the key."""
        ...

    def list(self, prefix: str) -> list[str]:
        """Every key starting with prefix, sorted."""
        ...

    def delete(self, key: str) -> None:
        """Remove the object; absent keys are not an error."""
        ...

    def local_path(self, key: str) -> Path:
        """A local file holding the object's bytes (the file itself, or a cached download)."""
        ...
