"""Search use cases: cached versions, pointer refresh, corrupt versions never served."""

import errno
import hashlib
import json
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest

from vecsearch.adapters.storage.local import LocalDirectoryStore
from vecsearch.core import keys
from vecsearch.core.catalog import Catalog
from vecsearch.core.errors import (
    CollectionNotFound,
    DimensionMismatch,
    InvalidVector,
    NoLiveVersion,
    StorageError,
    StoredDataCorrupt,
    VersionCorrupt,
)
from vecsearch.core.models import (
    MAX_COMPONENT,
    CollectionSpec,
    Document,
    JobState,
    Metric,
    ReindexRequest,
    SearchRequest,
    UpsertRequest,
)
from vecsearch.core.searcher import Searcher

DIMENSION = 5


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _vectors(count: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(count, DIMENSION)).astype(np.float32)


def _publish(catalog: Catalog, vectors: np.ndarray, prefix: str) -> str:
    documents = [
        Document(id=f"{prefix}{i}", vector=v.tolist(), metadata={"group": i % 3, "tag": prefix})
        for i, v in enumerate(vectors)
    ]
    catalog.upsert("items", UpsertRequest(documents=documents))
    job = catalog.start_reindex("items", ReindexRequest())
    status = catalog.run_reindex("items", job.job_id)
    assert status.state is JobState.SUCCEEDED, status.error
    assert status.version_id is not None
    return status.version_id


def _tamper(store: LocalDirectoryStore, version_id: str, file_name: str) -> None:
    path = store.root / keys.version_file_key("items", version_id, file_name)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


@pytest.fixture
def catalog(local_store: LocalDirectoryStore) -> Catalog:
    """A catalog with an empty cosine collection 'items'."""
    catalog = Catalog(local_store)
    catalog.create_collection(CollectionSpec(name="items", dimension=DIMENSION))
    return catalog


def test_the_pointer_is_rechecked_only_after_refresh_seconds(catalog: Catalog, local_store) -> None:
    clock = Clock()
    searcher = Searcher(local_store, refresh_seconds=30, monotonic=clock)
    first = _publish(catalog, _vectors(10, 1), "a")
    assert searcher.describe("items").version_id == first
    second = _publish(catalog, _vectors(5, 2), "b")
    clock.now = 29.0
    assert searcher.describe("items").version_id == first
    clock.now = 30.0
    live = searcher.describe("items")
    assert (live.version_id, live.count, live.warning) == (second, 15, None)


@pytest.mark.parametrize("file_name", ["index.faiss", "ids.json", "metadata.jsonl"])
def test_a_corrupt_new_version_is_not_served_and_the_old_one_is_kept(
    catalog: Catalog, local_store: LocalDirectoryStore, file_name: str
) -> None:
    clock = Clock()
    searcher = Searcher(local_store, refresh_seconds=1, monotonic=clock)
    vectors = _vectors(10, 1)
    first = _publish(catalog, vectors, "a")
    query = SearchRequest(vector=vectors[4].tolist(), k=1)
    assert searcher.search("items", query).results[0].hits[0].id == "a4"
    second = _publish(catalog, _vectors(5, 2), "b")
    _tamper(local_store, second, file_name)
    clock.now = 5.0
    response = searcher.search("items", query)
    assert response.version_id == first
    assert response.results[0].hits[0].id == "a4"
    live = searcher.describe("items")
    assert live.version_id == first
    assert live.warning is not None
    assert second in live.warning
    assert file_name in live.warning
    assert searcher.health().status == "degraded"


def test_a_corrupt_version_is_never_served_by_a_fresh_container(
    catalog: Catalog, local_store: LocalDirectoryStore
) -> None:
    version = _publish(catalog, _vectors(10, 1), "a")
    _tamper(local_store, version, "index.faiss")
    with pytest.raises(VersionCorrupt, match="sha256"):
        Searcher(local_store).search("items", SearchRequest(vector=[1.0] * DIMENSION))


def test_recovers_once_the_pointer_names_a_good_version(catalog: Catalog, local_store) -> None:
    clock = Clock()
    searcher = Searcher(local_store, refresh_seconds=1, monotonic=clock)
    first = _publish(catalog, _vectors(10, 1), "a")
    searcher.describe("items")
    second = _publish(catalog, _vectors(5, 2), "b")
    _tamper(local_store, second, "ids.json")
    clock.now = 2.0
    assert searcher.describe("items").warning is not None
    catalog.rollback("items", first)
    clock.now = 4.0
    assert searcher.describe("items").warning is None
    assert searcher.health().status == "ok"


def test_search_with_filter_threshold_metadata_and_batches(catalog: Catalog, local_store) -> None:
    vectors = _vectors(30, 3)
    _publish(catalog, vectors, "a")
    searcher = Searcher(local_store)
    request = SearchRequest(
        vectors=[vectors[0].tolist(), vectors[1].tolist()],
        k=30,
        filter={"group": 1},
        include_metadata=True,
    )
    response = searcher.search("items", request)
    assert response.metric is Metric.COSINE
    assert len(response.results) == 2
    for result in response.results:
        assert len(result.hits) == 10  # rows 1, 4, ..., 28
        assert all(hit.metadata == {"group": 1, "tag": "a"} for hit in result.hits)
    assert response.results[1].hits[0].id == "a1"
    scores = [h.score for h in response.results[1].hits]
    assert scores == sorted(scores, reverse=True)
    limited = searcher.search(
        "items", SearchRequest(vector=vectors[1].tolist(), k=30, threshold=scores[3])
    )
    assert all(hit.score >= scores[3] for hit in limited.results[0].hits)
    assert limited.results[0].hits[0].metadata is None
    none = searcher.search("items", SearchRequest(vector=vectors[1].tolist(), filter={"tag": "z"}))
    assert none.results[0].hits == []


def test_search_errors(catalog: Catalog, local_store: LocalDirectoryStore) -> None:
    searcher = Searcher(local_store)
    with pytest.raises(NoLiveVersion):
        searcher.search("items", SearchRequest(vector=[1.0] * DIMENSION))
    with pytest.raises(CollectionNotFound):
        searcher.search("missing", SearchRequest(vector=[1.0] * DIMENSION))
    _publish(catalog, _vectors(4, 1), "a")
    with pytest.raises(DimensionMismatch, match=r"query 0 has 2 components.*expects dimension 5"):
        searcher.search("items", SearchRequest(vector=[1.0, 2.0]))
    # the batch limit is the request model's (one source of truth): 422 before the searcher
    with pytest.raises(ValueError, match="at most 100"):
        SearchRequest(vectors=[[1.0] * DIMENSION] * 101)


def test_a_deleted_collection_stops_being_served(catalog: Catalog, local_store) -> None:
    searcher = Searcher(local_store, refresh_seconds=0)
    _publish(catalog, _vectors(4, 1), "a")
    searcher.describe("items")
    catalog.delete_collection("items")
    with pytest.raises(CollectionNotFound):
        searcher.search("items", SearchRequest(vector=[1.0] * DIMENSION))
    assert searcher.health().collections == []


def test_an_unreadable_pointer_keeps_the_cached_version(catalog: Catalog, local_store) -> None:
    clock = Clock()
    searcher = Searcher(local_store, refresh_seconds=1, monotonic=clock)
    first = _publish(catalog, _vectors(4, 1), "a")
    searcher.describe("items")
    local_store.put(keys.current_key("items"), b"{garbage")
    clock.now = 2.0
    live = searcher.describe("items")
    assert live.version_id == first
    assert live.warning is not None
    assert "pointer" in live.warning
    with pytest.raises(StoredDataCorrupt, match="pointer"):
        Searcher(local_store).describe("items")


@pytest.mark.parametrize("query", [[0.0] * DIMENSION, [1e-30] + [0.0] * (DIMENSION - 1)])
def test_a_cosine_query_of_zero_length_is_refused(catalog: Catalog, local_store, query) -> None:
    _publish(catalog, _vectors(4, 1), "a")
    with pytest.raises(InvalidVector, match="zero length"):
        Searcher(local_store).search("items", SearchRequest(vectors=[[1.0] * DIMENSION, query]))


def test_large_components_keep_finite_scores(local_store: LocalDirectoryStore) -> None:
    # given an inner-product collection holding vectors with components at the bound
    catalog = Catalog(local_store)
    catalog.create_collection(CollectionSpec(name="items", dimension=DIMENSION, metric=Metric.IP))
    big = [MAX_COMPONENT] * DIMENSION
    catalog.upsert("items", UpsertRequest(documents=[Document(id="big", vector=big)]))
    catalog.run_reindex("items", catalog.start_reindex("items", ReindexRequest()).job_id)
    # then a query at the bound scores it with a finite number
    hits = Searcher(local_store).search("items", SearchRequest(vector=big)).results[0].hits
    assert [h.id for h in hits] == ["big"]
    assert np.isfinite(hits[0].score)


def _replace_index(store: LocalDirectoryStore, version_id: str, data: bytes) -> None:
    """Swap a version's index for other bytes and re-sign the manifest (an unreadable index)."""
    store.put(keys.version_file_key("items", version_id, "index.faiss"), data)
    manifest_key = keys.version_file_key("items", version_id, "manifest.json")
    manifest = json.loads(store.get(manifest_key))
    manifest["files"]["index.faiss"] = hashlib.sha256(data).hexdigest()
    store.put(manifest_key, json.dumps(manifest).encode())


class NoSpaceForVersion:
    """A real store whose local copies of one version fail as a full /tmp would."""

    def __init__(self, inner: LocalDirectoryStore, version_id: str) -> None:
        self.inner = inner
        self.version_id = version_id

    def local_path(self, key: str) -> Path:
        if self.version_id in key:
            raise OSError(errno.ENOSPC, "No space left on device")
        return self.inner.local_path(key)

    def __getattr__(self, name: str):
        return getattr(self.inner, name)


@pytest.mark.parametrize("failure", ["faiss cannot read the index", "no space for the files"])
def test_a_new_version_failing_to_load_for_any_reason_keeps_the_old_one(
    catalog: Catalog, local_store: LocalDirectoryStore, failure: str
) -> None:
    # given a warm container serving the first version
    clock = Clock()
    vectors = _vectors(10, 1)
    first = _publish(catalog, vectors, "a")
    second_vectors = _vectors(5, 2)
    store = local_store
    if failure == "no space for the files":
        second = _publish(catalog, second_vectors, "b")
        catalog.rollback("items", first)
        store = NoSpaceForVersion(local_store, second)
    searcher = Searcher(store, refresh_seconds=1, monotonic=clock)
    query = SearchRequest(vector=vectors[4].tolist(), k=1)
    assert searcher.search("items", query).version_id == first
    # when the pointer moves to a version that cannot be loaded
    if failure == "no space for the files":
        catalog.rollback("items", second)
    else:
        second = _publish(catalog, second_vectors, "b")
        _replace_index(local_store, second, b"not a faiss index" * 8)
    clock.now = 5.0
    # then the old version keeps serving, with a warning naming the new one
    for _ in range(2):
        assert searcher.search("items", query).version_id == first
    live = searcher.describe("items")
    assert live.warning is not None
    assert second in live.warning
    assert searcher.health().status == "degraded"
    # and a fresh container reports an API error, not an internal one
    expected = StorageError if failure == "no space for the files" else VersionCorrupt
    with pytest.raises(expected, match=second):
        Searcher(store).search("items", query)


def test_health_reflects_a_fixed_pointer_without_a_search(catalog: Catalog, local_store) -> None:
    # given a searcher serving the first version and warning about a broken second one
    clock = Clock()
    searcher = Searcher(local_store, refresh_seconds=1, monotonic=clock)
    first = _publish(catalog, _vectors(10, 1), "a")
    searcher.describe("items")
    second = _publish(catalog, _vectors(5, 2), "b")
    _tamper(local_store, second, "ids.json")
    clock.now = 2.0
    assert searcher.describe("items").warning is not None
    assert searcher.health().status == "degraded"
    # when the operator rolls back to the version it serves, health alone notices
    catalog.rollback("items", first)
    assert searcher.health().status == "degraded"  # not before the refresh interval
    clock.now = 4.0
    assert searcher.health().status == "ok"


def test_names_outside_the_collection_name_rule_are_never_collections(local_store) -> None:
    # given a record placed by hand under a name create_collection would refuse
    catalog = Catalog(local_store)
    catalog.create_collection(CollectionSpec(name="items", dimension=DIMENSION))
    record = local_store.get(keys.spec_key("items"))
    local_store.put(keys.spec_key("Items"), record)
    for call in (catalog.describe, Searcher(local_store).describe):
        with pytest.raises(CollectionNotFound):
            call("Items")
    assert [c.spec.name for c in catalog.list_collections().collections] == ["items"]


def test_catalog_and_searcher_share_one_utc_clock(local_store) -> None:
    assert Catalog(local_store).clock is Searcher(local_store).clock
    assert Catalog(local_store).clock().utcoffset() == timedelta(0)
