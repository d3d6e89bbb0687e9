"""Storage adapters: a local directory (the embedded default) and S3 (production)."""

import re
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from vecsearch.adapters.storage.local import LocalDirectoryStore
from vecsearch.core.store import Store

# S3's bucket naming rules (general purpose buckets): 3-63 characters, starting and ending with a
# letter or digit.
S3_BUCKET_NAME = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")


def store_from_url(url: str, *, cache_dir: Path | None = None, s3_client: Any = None) -> Store:
    """A store for file:///abs/path (local directory) or s3://bucket/prefix (S3 via boto3)."""
    parsed = urlparse(url)
    if parsed.scheme == "file":
        if parsed.netloc not in ("", "localhost") or not parsed.path.startswith("/"):
            raise ValueError(f"store URL {url!r}: use file:///absolute/path")
        return LocalDirectoryStore(Path(unquote(parsed.path)))
    if parsed.scheme == "s3":
        if not S3_BUCKET_NAME.fullmatch(parsed.netloc):
            raise ValueError(
                f"store URL {url!r}: use s3://bucket/prefix with a valid bucket name "
                "(3-63 lower-case letters, digits, '.' and '-')"
            )
        # Imported here: boto3 costs cold-start time that local stores never need.
        from vecsearch.adapters.storage.s3 import S3Store  # noqa: PLC0415

        return S3Store(parsed.netloc, parsed.path.strip("/"), client=s3_client, cache_dir=cache_dir)
    raise ValueError(f"store URL {url!r}: the scheme must be file:// or s3://")
