"""S3-specific behaviour against moto: prefixes, pagination, error mapping, the download cache."""

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from vecsearch.adapters.storage import store_from_url
from vecsearch.adapters.storage.s3 import S3Store
from vecsearch.core.catalog import Catalog
from vecsearch.core.errors import StorageError
from vecsearch.core.models import (
    CollectionSpec,
    DeleteRequest,
    Document,
    JobState,
    ReindexRequest,
    SearchRequest,
    UpsertRequest,
)
from vecsearch.core.searcher import Searcher

BUCKET = "vecsearch-test"


def test_the_prefix_is_honoured_and_hidden(s3_client: Any, tmp_path: Path) -> None:
    store = store_from_url(f"s3://{BUCKET}/tenant/a/", s3_client=s3_client, cache_dir=tmp_path)
    neighbour = S3Store(BUCKET, "tenant/b", client=s3_client)
    store.put("collections/x/spec.json", b"{}")
    listed = s3_client.list_objects_v2(Bucket=BUCKET)["Contents"]
    assert [item["Key"] for item in listed] == ["tenant/a/collections/x/spec.json"]
    assert store.list("collections/") == ["collections/x/spec.json"]
    assert neighbour.list("") == []
    assert not neighbour.exists("collections/x/spec.json")


def test_listing_follows_every_page(s3_client: Any) -> None:
    store = S3Store(BUCKET, client=s3_client, page_size=2)
    keys = [f"many/{i:02d}" for i in range(7)]
    for key in keys:
        store.put(key, b".")
    assert store.list("many/") == keys


def test_client_errors_become_storage_errors(s3_client: Any) -> None:
    store = S3Store("no-such-bucket", client=s3_client)
    with pytest.raises(StorageError, match="no-such-bucket"):
        store.get("k")
    with pytest.raises(StorageError):
        store.put("k", b"1")
    with pytest.raises(StorageError):
        store.list("")


def test_local_path_downloads_once_per_etag(s3_client: Any, tmp_path: Path) -> None:
    store = S3Store(BUCKET, client=s3_client, cache_dir=tmp_path / "cache")
    store.put("versions/v/index.faiss", b"a" * 10_000)
    first = store.local_path("versions/v/index.faiss")
    inode = first.stat().st_ino
    again = store.local_path("versions/v/index.faiss")
    assert again == first
    assert again.stat().st_ino == inode  # not downloaded again (a download replaces the file)
    store.put("versions/v/index.faiss", b"b" * 10)
    replaced = store.local_path("versions/v/index.faiss")
    assert replaced != first
    assert replaced.read_bytes() == b"b" * 10
    assert not first.exists()  # the stale download was removed
    assert first.is_relative_to(tmp_path / "cache")


def _cached_files(cache: Path) -> list[Path]:
    return [path for path in cache.rglob("*") if path.is_file()]


def test_the_download_cache_stays_within_its_byte_budget(s3_client: Any, tmp_path: Path) -> None:
    # given a cache with room for three 100-byte objects
    store = S3Store(BUCKET, client=s3_client, cache_dir=tmp_path / "cache", cache_bytes=300)
    for number in range(5):
        store.put(f"versions/v{number}/index.faiss", bytes([number]) * 100)
    store.local_path("versions/v0/index.faiss")
    store.local_path("versions/v1/index.faiss")
    store.local_path("versions/v2/index.faiss")
    store.local_path("versions/v0/index.faiss")  # used again: now the most recent
    # when two more versions are downloaded
    store.local_path("versions/v3/index.faiss")
    newest = store.local_path("versions/v4/index.faiss")
    # then the least recently used files were evicted and the budget holds
    kept = sorted(path.read_bytes()[0] for path in _cached_files(tmp_path / "cache"))
    assert kept == [0, 3, 4]
    assert sum(path.stat().st_size for path in _cached_files(tmp_path / "cache")) <= 300
    assert newest.read_bytes() == bytes([4]) * 100
    # and an evicted object is simply downloaded again
    assert store.local_path("versions/v1/index.faiss").read_bytes() == bytes([1]) * 100


def test_an_object_larger_than_the_budget_is_still_served(s3_client: Any, tmp_path: Path) -> None:
    store = S3Store(BUCKET, client=s3_client, cache_dir=tmp_path / "cache", cache_bytes=10)
    store.put("big", b"x" * 100)
    assert store.local_path("big").read_bytes() == b"x" * 100


def test_catalog_and_searcher_run_on_s3(s3_client: Any, tmp_path: Path) -> None:
    store = S3Store(BUCKET, "prod", client=s3_client, cache_dir=tmp_path / "cache")
    catalog = Catalog(store)
    catalog.create_collection(CollectionSpec(name="items", dimension=3))
    vectors = np.random.default_rng(3).normal(size=(12, 3)).astype(np.float32)
    documents = [Document(id=f"d{i}", vector=v.tolist()) for i, v in enumerate(vectors)]
    catalog.upsert("items", UpsertRequest(documents=documents))
    first = catalog.run_reindex("items", catalog.start_reindex("items", ReindexRequest()).job_id)
    assert first.state is JobState.SUCCEEDED, first.error
    catalog.delete_documents("items", DeleteRequest(ids=["d4"]))
    second = catalog.run_reindex("items", catalog.start_reindex("items", ReindexRequest()).job_id)
    assert (second.state, second.count) == (JobState.SUCCEEDED, 11)
    query = SearchRequest(vector=vectors[4].tolist(), k=1)
    assert Searcher(store).search("items", query).results[0].hits[0].id != "d4"
    catalog.rollback("items", first.version_id or "")
    assert Searcher(store).search("items", query).results[0].hits[0].id == "d4"
