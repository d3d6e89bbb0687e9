"""A store in an S3 bucket under a prefix, with conditional writes and an etag-keyed file cache."""

import hashlib
import os
import stat
import tempfile
import time
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from vecsearch.core.errors import StorageError
from vecsearch.core.keys import checked_key
from vecsearch.core.store import KeyNotFound, PreconditionFailed

MISSING_CODES = frozenset({"NoSuchKey", "404", "NotFound"})
# 412: the condition failed; 409 ConditionalRequestConflict: a concurrent conditional write won.
CONFLICT_CODES = frozenset({"PreconditionFailed", "412", "ConditionalRequestConflict", "409"})
# Half of Lambda's default 512 MB /tmp: room for the loaded version plus the one replacing it.
DEFAULT_CACHE_BYTES = 256 * 1024 * 1024


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


class S3Store:
    """Objects live at s3://bucket/prefix/key; local_path downloads into cache_dir once per etag.

    The cache holds at most cache_bytes: after each download the least recently used files are
    evicted (never the one just returned, so a single larger object is still served). Callers read
    a returned file right away; a file already opened or memory-mapped survives its eviction.
    """

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        client: Any = None,
        cache_dir: Path | None = None,
        page_size: int = 1000,
        cache_bytes: int = DEFAULT_CACHE_BYTES,
    ) -> None:
        self.bucket = bucket
        self.prefix = f"{prefix.strip('/')}/" if prefix.strip("/") else ""
        # Typed Any: the boto3 S3 stubs matching the pinned boto3 are not published.
        self.client: Any = boto3.client("s3") if client is None else client
        self.cache_dir = (
            Path(tempfile.gettempdir()) / "vecsearch-s3-cache" if cache_dir is None else cache_dir
        )
        self.page_size = page_size
        self.cache_bytes = cache_bytes

    def _object_key(self, key: str) -> str:
        return f"{self.prefix}{checked_key(key)}"

    def _storage_error(self, action: str, key: str, error: Exception) -> StorageError:
        return StorageError(f"S3 {action} of {key!r} in bucket {self.bucket!r} failed: {error}")

    def get(self, key: str) -> bytes:
        """Return the object's bytes; raise KeyNotFound if absent."""
        return self.get_tagged(key)[0]

    def get_tagged(self, key: str) -> tuple[bytes, str]:
        """Return the object's bytes and its ETag."""
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=self._object_key(key))
            return response["Body"].read(), response["ETag"]
        except ClientError as error:
            if _code(error) in MISSING_CODES:
                raise KeyNotFound(key) from None
            raise self._storage_error("get", key, error) from error
        except BotoCoreError as error:
            raise self._storage_error("get", key, error) from error

    def _put(self, key: str, data: bytes, **conditions: str) -> None:
        try:
            self.client.put_object(
                Bucket=self.bucket, Key=self._object_key(key), Body=data, **conditions
            )
        except ClientError as error:
            code = _code(error)
            if code in CONFLICT_CODES or (conditions and code in MISSING_CODES):
                raise PreconditionFailed(key) from None
            raise self._storage_error("put", key, error) from error
        except BotoCoreError as error:
            raise self._storage_error("put", key, error) from error

    def put(self, key: str, data: bytes) -> None:
        """Write the object (S3 PUTs are atomic)."""
        self._put(key, data)

    def put_if_absent(self, key: str, data: bytes) -> None:
        """Create the object with If-None-Match: *; PreconditionFailed if it exists."""
        self._put(key, data, IfNoneMatch="*")

    def put_if_match(self, key: str, data: bytes, tag: str) -> None:
        """Replace the object with If-Match: tag; PreconditionFailed if changed or absent."""
        self._put(key, data, IfMatch=tag)

    def _head(self, key: str) -> dict[str, Any] | None:
        try:
            return dict(self.client.head_object(Bucket=self.bucket, Key=self._object_key(key)))
        except ClientError as error:
            if _code(error) in MISSING_CODES:
                return None
            raise self._storage_error("head", key, error) from error
        except BotoCoreError as error:
            raise self._storage_error("head", key, error) from error

    def exists(self, key: str) -> bool:
        """Whether an object is stored under the key."""
        return self._head(key) is not None

    def list(self, prefix: str) -> list[str]:
        """Every key starting with prefix, sorted, across all result pages."""
        found: list[str] = []
        try:
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket,
                Prefix=f"{self.prefix}{prefix}",  # a prefix may end in '/' (no key may)
                PaginationConfig={"PageSize": self.page_size},
            )
            for page in pages:
                found.extend(
                    item["Key"].removeprefix(self.prefix) for item in page.get("Contents", [])
                )
        except (ClientError, BotoCoreError) as error:
            raise self._storage_error("list", prefix, error) from error
        return sorted(found)

    def delete(self, key: str) -> None:
        """Remove the object; absent keys are not an error."""
        try:
            self.client.delete_object(Bucket=self.bucket, Key=self._object_key(key))
        except (ClientError, BotoCoreError) as error:
            raise self._storage_error("delete", key, error) from error

    def local_path(self, key: str) -> Path:
        """A cached download of the object, reused while its ETag is unchanged."""
        head = self._head(key)
        if head is None:
            raise KeyNotFound(key)
        etag = str(head["ETag"]).strip('"')
        folder = (
            self.cache_dir
            / hashlib.sha256(f"{self.bucket}/{self._object_key(key)}".encode()).hexdigest()
        )
        cached = folder / f"{etag}-{key.rpartition('/')[2]}"
        if cached.is_file():
            _touch(cached)
            return cached
        folder.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=".download-", dir=folder)
        os.close(handle)
        try:
            self.client.download_file(self.bucket, self._object_key(key), temporary)
            # download_file accepts no If-Match: re-check that the bytes are the etag's bytes.
            after = self._head(key)
            if after is None or after["ETag"] != head["ETag"]:
                raise StorageError(f"S3 object {key!r} changed while it was downloaded")
            os.replace(temporary, cached)
        except ClientError as error:
            Path(temporary).unlink(missing_ok=True)
            if _code(error) in MISSING_CODES:
                raise KeyNotFound(key) from None
            raise self._storage_error("download", key, error) from error
        except BotoCoreError as error:
            Path(temporary).unlink(missing_ok=True)
            raise self._storage_error("download", key, error) from error
        except StorageError:
            Path(temporary).unlink(missing_ok=True)
            raise
        _touch(cached)
        for stale in folder.iterdir():
            if stale != cached and not stale.name.startswith("."):
                stale.unlink(missing_ok=True)  # older etags of this key
        self._evict(keep=cached)
        return cached

    def _evict(self, keep: Path) -> None:
        """Remove the least recently used downloads until the cache fits cache_bytes."""
        files = []
        for path in self.cache_dir.rglob("*"):
            try:
                status = path.stat()
            except FileNotFoundError:
                continue  # evicted by another thread meanwhile
            if stat.S_ISREG(status.st_mode) and not path.name.startswith("."):
                files.append((status.st_mtime_ns, status.st_size, path))
        total = sum(size for _, size, _ in files)
        for _, size, path in sorted(files):
            if total <= self.cache_bytes:
                break
            if path != keep:
                path.unlink(missing_ok=True)
                total -= size


def _touch(path: Path) -> None:
    """Mark a cached file as just used (its mtime orders eviction)."""
    now = time.time_ns()
    os.utime(path, ns=(now, now))
