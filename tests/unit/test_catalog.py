"""Admin use cases on a real local-directory store: batches, reindex jobs, versions, rollback."""

import io
import json
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from vecsearch.adapters.storage.local import LocalDirectoryStore
from vecsearch.core import keys
from vecsearch.core.catalog import Catalog
from vecsearch.core.errors import (
    BatchNotFound,
    CollectionExists,
    CollectionNotFound,
    DimensionMismatch,
    ImportSourceInvalid,
    InvalidVector,
    JobNotFound,
    JobSubmitFailed,
    NoLiveVersion,
    PayloadTooLarge,
    ReindexInProgress,
    StorageError,
    StoredDataCorrupt,
    VersionCorrupt,
    VersionNotFound,
)
from vecsearch.core.limits import Limits
from vecsearch.core.models import (
    CollectionSpec,
    DeleteRequest,
    Document,
    HnswIndex,
    ImportRequest,
    JobState,
    Metric,
    ReindexRequest,
    SearchRequest,
    UpsertRequest,
)
from vecsearch.core.searcher import Searcher

DIMENSION = 6


def _vectors(count: int, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(count, DIMENSION)).astype(np.float32)


def _documents(vectors: np.ndarray, prefix: str = "doc") -> list[Document]:
    return [
        Document(id=f"{prefix}{i}", vector=v.tolist(), metadata={"parity": i % 2})
        for i, v in enumerate(vectors)
    ]


def _reindex(catalog: Catalog, name: str = "items", **request: object):
    job = catalog.start_reindex(name, ReindexRequest.model_validate(request))
    return catalog.run_reindex(name, job.job_id)


def _top_ids(store, vector: np.ndarray, k: int = 3, name: str = "items") -> list[str]:
    response = Searcher(store, refresh_seconds=0).search(
        name, SearchRequest(vector=vector.tolist(), k=k)
    )
    return [hit.id for hit in response.results[0].hits]


@pytest.fixture
def catalog(local_store: LocalDirectoryStore) -> Catalog:
    """A catalog with an empty flat l2 collection 'items'."""
    catalog = Catalog(local_store)
    catalog.create_collection(CollectionSpec(name="items", dimension=DIMENSION, metric=Metric.L2))
    return catalog


class FaultyStore:
    """A real store that fails writes to keys containing a fragment, as S3 or a disk might."""

    def __init__(self, inner: LocalDirectoryStore, failing_fragment: str) -> None:
        self.inner = inner
        self.failing_fragment = failing_fragment

    def _check(self, key: str) -> None:
        if self.failing_fragment in key:
            raise StorageError(f"injected failure writing {key}")

    def put(self, key: str, data: bytes) -> None:
        self._check(key)
        self.inner.put(key, data)

    def put_if_absent(self, key: str, data: bytes) -> None:
        self._check(key)
        self.inner.put_if_absent(key, data)

    def put_if_match(self, key: str, data: bytes, tag: str) -> None:
        self._check(key)
        self.inner.put_if_match(key, data, tag)

    def __getattr__(self, name: str):
        return getattr(self.inner, name)


def test_upsert_then_delete_then_reindex_gives_the_right_counts_and_results(
    catalog: Catalog, local_store: LocalDirectoryStore
) -> None:
    # given 20 documents upserted, 5 of them replaced, and 3 deleted
    vectors = _vectors(20)
    catalog.upsert("items", UpsertRequest(documents=_documents(vectors)))
    moved = _vectors(5, seed=2)
    catalog.upsert("items", UpsertRequest(documents=_documents(moved)))
    receipt = catalog.delete_documents("items", DeleteRequest(ids=["doc7", "doc8", "doc9", "nope"]))
    assert receipt.kind == "delete"
    assert catalog.describe("items").pending_batches == 3
    # when the collection is reindexed
    job = _reindex(catalog)
    # then the job succeeded with 17 documents, consumed every batch, and search sees the changes
    assert job.state is JobState.SUCCEEDED, job.error
    assert job.count == 17
    assert set(job.stages) >= {"load", "apply", "build", "write", "verify", "promote"}
    info = catalog.describe("items")
    assert (info.count, info.pending_batches, info.live_version) == (17, 0, job.version_id)
    assert _top_ids(local_store, moved[1], k=1) == ["doc1"]  # the replaced vector is served
    assert _top_ids(local_store, vectors[12], k=1) == ["doc12"]
    assert "doc8" not in _top_ids(local_store, vectors[8], k=17)


def test_reindex_builds_on_the_live_version(catalog: Catalog, local_store) -> None:
    first = _vectors(10)
    catalog.upsert("items", UpsertRequest(documents=_documents(first)))
    _reindex(catalog)
    catalog.upsert("items", UpsertRequest(documents=_documents(_vectors(4, seed=5), prefix="new")))
    catalog.delete_documents("items", DeleteRequest(ids=["doc0"]))
    job = _reindex(catalog)
    assert job.count == 13
    assert _top_ids(local_store, first[3], k=1) == ["doc3"]


def test_search_after_rollback_returns_the_old_versions_results(
    catalog: Catalog, local_store
) -> None:
    # given two promoted versions where doc0's vector moved
    vectors = _vectors(10)
    catalog.upsert("items", UpsertRequest(documents=_documents(vectors)))
    first = _reindex(catalog)
    catalog.upsert("items", UpsertRequest(documents=_documents(-vectors[:1] * 10)))
    catalog.delete_documents("items", DeleteRequest(ids=["doc5"]))
    _reindex(catalog)
    assert _top_ids(local_store, vectors[0], k=1) != ["doc0"]
    # when the operator rolls back
    info = catalog.rollback("items", first.version_id)
    # then the first version is live again with its own results
    assert (info.live_version, info.count) == (first.version_id, 10)
    assert _top_ids(local_store, vectors[0], k=1) == ["doc0"]
    assert _top_ids(local_store, vectors[5], k=1) == ["doc5"]
    versions = catalog.list_versions("items")
    assert [v.live for v in versions.versions] == [True, False]
    assert versions.current == first.version_id


def test_rollback_refuses_unknown_and_corrupt_versions(catalog: Catalog, local_store) -> None:
    catalog.upsert("items", UpsertRequest(documents=_documents(_vectors(5))))
    first = _reindex(catalog)
    catalog.upsert("items", UpsertRequest(documents=_documents(_vectors(5, seed=3))))
    second = _reindex(catalog)
    with pytest.raises(VersionNotFound):
        catalog.rollback("items", "20990101T000000000000Z-00000000")
    with pytest.raises(VersionNotFound):
        catalog.rollback("items", "../../etc")
    vectors_file = local_store.root / keys.version_file_key(
        "items", first.version_id, "vectors.npy"
    )
    vectors_file.write_bytes(vectors_file.read_bytes()[:-4] + b"\0\0\0\0")
    with pytest.raises(VersionCorrupt, match=r"vectors\.npy"):
        catalog.rollback("items", first.version_id)
    assert catalog.describe("items").live_version == second.version_id


@pytest.mark.parametrize("failing_file", ["index.faiss", "manifest.json", "current.json"])
def test_a_reindex_failing_midway_leaves_the_previous_version_live(
    catalog: Catalog, local_store: LocalDirectoryStore, failing_file: str
) -> None:
    # given a live version
    vectors = _vectors(10)
    catalog.upsert("items", UpsertRequest(documents=_documents(vectors)))
    live = _reindex(catalog)
    catalog.delete_documents("items", DeleteRequest(ids=["doc0"]))
    # when the next reindex hits a storage error while writing or promoting
    faulty = Catalog(FaultyStore(local_store, failing_file))
    job = faulty.start_reindex("items", ReindexRequest())
    result = faulty.run_reindex("items", job.job_id)
    # then the job is failed with the reason, and the previous version is still live and searchable
    assert result.state is JobState.FAILED
    assert result.error_code == "storage_error"
    assert "injected failure" in (result.error or "")
    assert catalog.job("items", job.job_id).state is JobState.FAILED
    info = catalog.describe("items")
    assert (info.live_version, info.count, info.pending_batches) == (live.version_id, 10, 1)
    assert _top_ids(local_store, vectors[0], k=1) == ["doc0"]
    assert [v.version_id for v in catalog.list_versions("items").versions] == [live.version_id]
    # and a later reindex with a healthy store applies the batch
    assert _reindex(catalog).count == 9


def test_a_lost_promotion_race_fails_the_job_and_keeps_the_batches(
    catalog: Catalog, local_store: LocalDirectoryStore
) -> None:
    catalog.upsert("items", UpsertRequest(documents=_documents(_vectors(6))))
    first = _reindex(catalog)
    catalog.upsert("items", UpsertRequest(documents=_documents(_vectors(2, seed=9), prefix="x")))

    class RacingStore(FaultyStore):
        """Another promotion lands between this job's load and its pointer swap."""

        def put_if_match(self, key: str, data: bytes, tag: str) -> None:
            if key.endswith("current.json"):
                self.inner.put(key, self.inner.get(key))  # the pointer is rewritten meanwhile
            self.inner.put_if_match(key, data, tag)

    racing = Catalog(RacingStore(local_store, "never"))
    job = racing.start_reindex("items", ReindexRequest())
    result = racing.run_reindex("items", job.job_id)
    assert result.state is JobState.FAILED
    assert result.error_code == "concurrent_update"
    info = catalog.describe("items")
    assert (info.live_version, info.pending_batches) == (first.version_id, 1)
    assert len(catalog.list_versions("items").versions) == 1


def test_batches_written_during_a_build_stay_pending(
    catalog: Catalog, local_store: LocalDirectoryStore
) -> None:
    catalog.upsert("items", UpsertRequest(documents=_documents(_vectors(4))))

    class WriterDuringBuild(FaultyStore):
        """Writes a new upsert batch when the version's first file is stored."""

        def put(self, key: str, data: bytes) -> None:
            if key.endswith("index.faiss"):
                late = _documents(_vectors(1, seed=4), prefix="late")
                catalog.upsert("items", UpsertRequest(documents=late))
            self.inner.put(key, data)

    busy = Catalog(WriterDuringBuild(local_store, "never"))
    job = busy.start_reindex("items", ReindexRequest())
    assert busy.run_reindex("items", job.job_id).count == 4
    assert catalog.describe("items").pending_batches == 1
    assert _reindex(catalog).count == 5


def test_two_concurrent_upsert_batches_both_survive(
    catalog: Catalog, local_store: LocalDirectoryStore
) -> None:
    batches = [_documents(_vectors(30, seed=s), prefix=f"t{s}-") for s in range(4)]
    barrier = threading.Barrier(len(batches))
    receipts = []

    def write(documents: list[Document]) -> None:
        barrier.wait()
        receipts.append(catalog.upsert("items", UpsertRequest(documents=documents)))

    threads = [threading.Thread(target=write, args=(b,)) for b in batches]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({r.batch_id for r in receipts}) == 4
    assert _reindex(catalog).count == 120


def test_bulk_import_from_store_files(catalog: Catalog, local_store: LocalDirectoryStore) -> None:
    vectors = _vectors(50, seed=11)
    path = Path(local_store.root / "imports/set/vectors.npy")
    path.parent.mkdir(parents=True)
    np.save(path, vectors)
    records = "".join(json.dumps({"id": f"w{i}", "metadata": {"n": i}}) + "\n" for i in range(50))
    local_store.put("imports/set/records.jsonl", records.encode())
    request = ImportRequest(
        vectors_key="imports/set/vectors.npy", records_key="imports/set/records.jsonl"
    )
    receipt = catalog.import_files("items", request)
    assert (receipt.kind, receipt.count) == ("import", 50)
    catalog.delete_documents("items", DeleteRequest(ids=["w3"]))
    assert _reindex(catalog).count == 49
    response = Searcher(local_store).search(
        "items", SearchRequest(vector=vectors[20].tolist(), k=1, include_metadata=True)
    )
    assert response.results[0].hits[0].id == "w20"
    assert response.results[0].hits[0].metadata == {"n": 20}


@pytest.mark.parametrize(
    ("vectors", "records", "problem"),
    [
        (np.ones((3, DIMENSION), np.float64), 3, "float64"),
        (np.ones((3, DIMENSION + 1), np.float32), 3, "dimension 7"),
        (np.ones((3, DIMENSION), np.float32), 2, "2 records"),
        (np.full((3, DIMENSION), np.nan, np.float32), 3, "NaN"),
    ],
)
def test_bulk_import_checks_files_up_front(
    catalog: Catalog, local_store: LocalDirectoryStore, vectors, records: int, problem: str
) -> None:
    path = local_store.root / "imports/bad/vectors.npy"
    path.parent.mkdir(parents=True)
    np.save(path, vectors)
    lines = "".join(json.dumps({"id": f"r{i}"}) + "\n" for i in range(records))
    local_store.put("imports/bad/records.jsonl", lines.encode())
    request = ImportRequest(
        vectors_key="imports/bad/vectors.npy", records_key="imports/bad/records.jsonl"
    )
    with pytest.raises(ImportSourceInvalid, match=problem):
        catalog.import_files("items", request)
    assert catalog.describe("items").pending_batches == 0


def _npy_bytes(vectors: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, vectors)
    return buffer.getvalue()


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"\x93NUMPY",
        _npy_bytes(np.ones((3, DIMENSION), np.float32))[:60],
        _npy_bytes(np.ones((3, DIMENSION), np.float32))[:-8],
    ],
    ids=["empty", "magic-only", "cut-header", "cut-data"],
)
def test_an_empty_or_truncated_npy_file_is_an_invalid_import_source(
    catalog: Catalog, local_store: LocalDirectoryStore, content: bytes
) -> None:
    local_store.put("imports/v.npy", content)
    local_store.put("imports/r.jsonl", b'{"id": "a"}\n')
    with pytest.raises(ImportSourceInvalid, match=r"v\.npy.*not a readable \.npy"):
        catalog.import_files(
            "items", ImportRequest(vectors_key="imports/v.npy", records_key="imports/r.jsonl")
        )


@pytest.mark.parametrize(
    "key", ["collections/items/spec.json", "imports/../collections/x", "imports/missing.npy"]
)
def test_bulk_import_reads_only_existing_files_under_imports(catalog: Catalog, key: str) -> None:
    with pytest.raises(ImportSourceInvalid):
        catalog.import_files("items", ImportRequest(vectors_key=key, records_key="imports/r.jsonl"))


def test_bad_import_records_are_named(catalog: Catalog, local_store: LocalDirectoryStore) -> None:
    path = local_store.root / "imports/v.npy"
    path.parent.mkdir(parents=True)
    np.save(path, _vectors(2))
    local_store.put("imports/r.jsonl", b'{"id": "a"}\n{"name": "b"}\n')
    with pytest.raises(ImportSourceInvalid, match=r"r\.jsonl.*record"):
        catalog.import_files(
            "items", ImportRequest(vectors_key="imports/v.npy", records_key="imports/r.jsonl")
        )


def test_upsert_checks_dimension_and_limits(local_store: LocalDirectoryStore) -> None:
    catalog = Catalog(local_store, limits=Limits(max_documents_per_upsert=2, max_metadata_bytes=20))
    catalog.create_collection(CollectionSpec(name="items", dimension=DIMENSION))
    with pytest.raises(DimensionMismatch, match=r"'short' has 2 components.*dimension 6"):
        catalog.upsert("items", UpsertRequest(documents=[Document(id="short", vector=[1.0, 2.0])]))
    with pytest.raises(PayloadTooLarge, match="3 documents"):
        catalog.upsert("items", UpsertRequest(documents=_documents(_vectors(3))))
    big = Document(id="big", vector=[1.0] * DIMENSION, metadata={"text": "x" * 30})
    with pytest.raises(PayloadTooLarge, match="metadata"):
        catalog.upsert("items", UpsertRequest(documents=[big]))
    assert catalog.describe("items").pending_batches == 0


def test_delete_checks_its_limit(local_store: LocalDirectoryStore) -> None:
    catalog = Catalog(local_store, limits=Limits(max_ids_per_delete=2))
    catalog.create_collection(CollectionSpec(name="items", dimension=DIMENSION))
    with pytest.raises(PayloadTooLarge):
        catalog.delete_documents("items", DeleteRequest(ids=["a", "b", "c"]))


def test_collections_are_created_listed_and_deleted(catalog: Catalog, local_store) -> None:
    with pytest.raises(CollectionExists):
        catalog.create_collection(CollectionSpec(name="items", dimension=3))
    catalog.create_collection(CollectionSpec(name="other", dimension=3))
    catalog.upsert("items", UpsertRequest(documents=_documents(_vectors(3))))
    _reindex(catalog)
    assert [c.spec.name for c in catalog.list_collections().collections] == ["items", "other"]
    catalog.delete_collection("items")
    assert [c.spec.name for c in catalog.list_collections().collections] == ["other"]
    assert local_store.list("collections/items/") == []
    for missing in ("items", "../x", "Items"):
        with pytest.raises(CollectionNotFound):
            catalog.describe(missing)
    with pytest.raises(CollectionNotFound):
        catalog.delete_collection("items")


def test_job_records_move_through_their_states(catalog: Catalog) -> None:
    catalog.upsert("items", UpsertRequest(documents=_documents(_vectors(3))))
    queued = catalog.start_reindex("items", ReindexRequest())
    assert catalog.job("items", queued.job_id).state is JobState.QUEUED
    done = catalog.run_reindex("items", queued.job_id)
    assert done.state is JobState.SUCCEEDED
    assert catalog.job("items", queued.job_id) == done
    # a retried invocation does not build again
    assert catalog.run_reindex("items", queued.job_id) == done
    with pytest.raises(JobNotFound):
        catalog.job("items", "20990101T000000000000Z-00000000")
    with pytest.raises(JobNotFound):
        catalog.job("items", "../spec")


def test_reindex_with_a_new_index_spec_changes_the_collection(catalog: Catalog) -> None:
    catalog.upsert("items", UpsertRequest(documents=_documents(_vectors(40))))
    job = _reindex(catalog, index={"kind": "hnsw", "m": 8})
    assert job.state is JobState.SUCCEEDED
    assert catalog.describe("items").spec.index == HnswIndex(m=8)
    assert catalog.list_versions("items").versions[0].index == HnswIndex(m=8)


def test_ids_and_times_come_from_the_clock(local_store: LocalDirectoryStore) -> None:
    moment = datetime(2030, 5, 6, 7, 8, 9, tzinfo=UTC)
    catalog = Catalog(local_store, clock=lambda: moment)
    info = catalog.create_collection(CollectionSpec(name="items", dimension=DIMENSION))
    receipt = catalog.upsert("items", UpsertRequest(documents=_documents(_vectors(1))))
    assert info.created_at == moment
    assert receipt.batch_id.startswith("20300506T070809000000Z-")


def test_a_cosine_collection_refuses_zero_length_vectors(local_store: LocalDirectoryStore) -> None:
    catalog = Catalog(local_store)
    catalog.create_collection(CollectionSpec(name="angles", dimension=3))
    for vector in ([0.0, 0.0, 0.0], [1e-30, 0.0, 0.0]):  # the second underflows in float32
        with pytest.raises(InvalidVector, match="'flat'"):
            catalog.upsert("angles", UpsertRequest(documents=[Document(id="flat", vector=vector)]))
    assert catalog.describe("angles").pending_batches == 0


def test_an_l2_collection_accepts_the_origin(catalog: Catalog, local_store) -> None:
    origin = Document(id="origin", vector=[0.0] * DIMENSION)
    catalog.upsert("items", UpsertRequest(documents=[origin]))
    assert _reindex(catalog).count == 1
    assert _top_ids(local_store, np.zeros(DIMENSION)) == ["origin"]


def test_bulk_import_refuses_components_beyond_the_bound(
    catalog: Catalog, local_store: LocalDirectoryStore
) -> None:
    path = local_store.root / "imports/v.npy"
    path.parent.mkdir(parents=True)
    vectors = _vectors(2)
    vectors[1, 2] = 1e30
    np.save(path, vectors)
    local_store.put("imports/r.jsonl", b'{"id": "a"}\n{"id": "b"}\n')
    with pytest.raises(ImportSourceInvalid, match="magnitude"):
        catalog.import_files(
            "items", ImportRequest(vectors_key="imports/v.npy", records_key="imports/r.jsonl")
        )


class LandsThenFails(FaultyStore):
    """The write lands, then the caller sees an error (an S3 500 or a timeout after commit)."""

    def _landed_then_fail(self, key: str) -> None:
        if self.failing_fragment in key:
            raise StorageError(f"injected failure after writing {key}")

    def put_if_match(self, key: str, data: bytes, tag: str) -> None:
        self.inner.put_if_match(key, data, tag)
        self._landed_then_fail(key)

    def put_if_absent(self, key: str, data: bytes) -> None:
        self.inner.put_if_absent(key, data)
        self._landed_then_fail(key)


@pytest.mark.parametrize("live_before", [False, True])
def test_a_pointer_write_that_lands_but_reports_an_error_keeps_the_new_version(
    catalog: Catalog, local_store: LocalDirectoryStore, live_before: bool
) -> None:
    # given (maybe) a live version and a pending batch
    if live_before:
        catalog.upsert(
            "items", UpsertRequest(documents=_documents(_vectors(3, seed=7), prefix="old"))
        )
        _reindex(catalog)
    vectors = _vectors(4)
    catalog.upsert("items", UpsertRequest(documents=_documents(vectors)))
    # when the pointer swap lands but the store reports a failure
    ambiguous = Catalog(LandsThenFails(local_store, "current.json"))
    job = ambiguous.run_reindex("items", ambiguous.start_reindex("items", ReindexRequest()).job_id)
    # then the job reports the version that is in fact live, and its files are all there
    assert job.state is JobState.SUCCEEDED, job.error
    info = catalog.describe("items")
    assert info.live_version == job.version_id
    assert info.count == (7 if live_before else 4)
    assert _top_ids(local_store, vectors[2], k=1) == ["doc2"]
    assert [c.spec.name for c in catalog.list_collections().collections] == ["items"]


def test_a_pointer_that_cannot_be_reread_after_a_failed_swap_keeps_the_version_files(
    catalog: Catalog, local_store: LocalDirectoryStore
) -> None:
    catalog.upsert("items", UpsertRequest(documents=_documents(_vectors(4))))

    class BlindAfterSwap(LandsThenFails):
        """The pointer write lands and errors, and the store then fails every pointer read."""

        swapped = False

        def _landed_then_fail(self, key: str) -> None:
            if key.endswith("current.json"):
                self.swapped = True
            super()._landed_then_fail(key)

        def get_tagged(self, key: str) -> tuple[bytes, str]:
            if self.swapped:
                raise StorageError("injected failure reading the pointer")
            return self.inner.get_tagged(key)

    blind = Catalog(BlindAfterSwap(local_store, "current.json"))
    job = blind.run_reindex("items", blind.start_reindex("items", ReindexRequest()).job_id)
    # the outcome is unknown to the job, so it must not delete what the pointer may name
    assert job.state is JobState.FAILED
    info = catalog.describe("items")
    assert info.count == 4
    assert _top_ids(local_store, _vectors(4)[1], k=1) == ["doc1"]


def test_one_broken_collection_does_not_break_the_listing(
    catalog: Catalog, local_store: LocalDirectoryStore
) -> None:
    catalog.create_collection(CollectionSpec(name="other", dimension=3))
    catalog.upsert("items", UpsertRequest(documents=_documents(_vectors(2))))
    live = _reindex(catalog)
    local_store.delete(keys.version_file_key("items", live.version_id, "manifest.json"))
    listed = {c.spec.name: c for c in catalog.list_collections().collections}
    assert set(listed) == {"items", "other"}
    assert listed["items"].warning is not None
    assert live.version_id in listed["items"].warning
    assert listed["other"].warning is None


class DeleteWhileBuilding(FaultyStore):
    """Deletes the collection (through a healthy catalog) when the job writes its first file."""

    def __init__(self, inner: LocalDirectoryStore, then: object = None) -> None:
        super().__init__(inner, "never")
        self.then = then
        self.fired = False

    def put(self, key: str, data: bytes) -> None:
        if not self.fired and "/versions/" in key:
            self.fired = True
            Catalog(self.inner).delete_collection("items")
            if callable(self.then):
                self.then()
        self.inner.put(key, data)


def test_a_collection_deleted_during_a_reindex_stays_deleted(
    catalog: Catalog, local_store: LocalDirectoryStore
) -> None:
    catalog.upsert("items", UpsertRequest(documents=_documents(_vectors(5))))
    building = Catalog(DeleteWhileBuilding(local_store))
    job = building.run_reindex("items", building.start_reindex("items", ReindexRequest()).job_id)
    assert job.state is JobState.FAILED
    assert job.error_code == "collection_not_found"
    assert [c.spec.name for c in catalog.list_collections().collections] == []
    assert local_store.list("collections/items/") == []


def test_a_collection_recreated_during_a_reindex_inherits_nothing(
    catalog: Catalog, local_store: LocalDirectoryStore
) -> None:
    # given a job building the old collection while it is deleted and re-created with dimension 3
    catalog.upsert("items", UpsertRequest(documents=_documents(_vectors(5))))

    def recreate() -> None:
        catalog.create_collection(CollectionSpec(name="items", dimension=3))

    building = Catalog(DeleteWhileBuilding(local_store, then=recreate))
    job = building.run_reindex("items", building.start_reindex("items", ReindexRequest()).job_id)
    assert job.state is JobState.FAILED
    # then the new collection has no live version and builds from its own batches only
    info = catalog.describe("items")
    assert (info.spec.dimension, info.live_version, info.count) == (3, None, 0)
    with pytest.raises(NoLiveVersion):
        Searcher(local_store).search("items", SearchRequest(vector=[1.0, 0.0, 0.0]))
    catalog.upsert("items", UpsertRequest(documents=[Document(id="new", vector=[1.0, 0.0, 0.0])]))
    rebuilt = _reindex(catalog)
    assert (rebuilt.state, rebuilt.count) == (JobState.SUCCEEDED, 1), rebuilt.error


def test_a_batch_of_a_deleted_collection_is_not_applied_to_its_successor(
    catalog: Catalog, local_store: LocalDirectoryStore
) -> None:
    class RecreateBeforeBatchLands(FaultyStore):
        """The collection is deleted and re-created between an upsert's check and its write."""

        def put_if_absent(self, key: str, data: bytes) -> None:
            if "/pending/" in key:
                catalog.delete_collection("items")
                catalog.create_collection(CollectionSpec(name="items", dimension=3))
            self.inner.put_if_absent(key, data)

    racing = Catalog(RecreateBeforeBatchLands(local_store, "never"))
    racing.upsert("items", UpsertRequest(documents=_documents(_vectors(2))))
    catalog.upsert("items", UpsertRequest(documents=[Document(id="new", vector=[1.0, 0.0, 0.0])]))
    rebuilt = _reindex(catalog)
    assert (rebuilt.state, rebuilt.count) == (JobState.SUCCEEDED, 1), rebuilt.error
    assert catalog.describe("items").pending_batches == 0


def test_a_job_delivered_twice_runs_once_and_its_record_tells_the_truth(
    catalog: Catalog, local_store: LocalDirectoryStore
) -> None:
    catalog.upsert("items", UpsertRequest(documents=_documents(_vectors(5))))
    job = catalog.start_reindex("items", ReindexRequest())

    class SecondDeliveryFirst(FaultyStore):
        """A duplicate delivery runs the whole job between this one's read and its claim."""

        ran = False

        def _duplicate(self, key: str) -> None:
            if not self.ran and key == keys.job_key("items", job.job_id):
                self.ran = True
                assert Catalog(self.inner).run_reindex("items", job.job_id).state is (
                    JobState.SUCCEEDED
                )

        def put(self, key: str, data: bytes) -> None:
            self._duplicate(key)
            self.inner.put(key, data)

        def put_if_match(self, key: str, data: bytes, tag: str) -> None:
            self._duplicate(key)
            self.inner.put_if_match(key, data, tag)

    late = Catalog(SecondDeliveryFirst(local_store, "never")).run_reindex("items", job.job_id)
    record = catalog.job("items", job.job_id)
    assert (late.state, record.state) == (JobState.SUCCEEDED, JobState.SUCCEEDED)
    assert record.version_id == catalog.describe("items").live_version
    assert len(catalog.list_versions("items").versions) == 1


class FailsToRecordSuccess(FaultyStore):
    """The store refuses the job record's final 'succeeded' write."""

    def put(self, key: str, data: bytes) -> None:
        if "/jobs/" in key and b'"succeeded"' in data:
            raise StorageError("injected failure recording success")
        self.inner.put(key, data)


def test_a_promoted_job_whose_record_cannot_be_saved_still_reports_success(
    local_store: LocalDirectoryStore,
) -> None:
    now = [datetime(2030, 1, 1, tzinfo=UTC)]
    catalog = Catalog(local_store, clock=lambda: now[0])
    catalog.create_collection(CollectionSpec(name="items", dimension=DIMENSION))
    catalog.upsert("items", UpsertRequest(documents=_documents(_vectors(3))))
    flaky = Catalog(FailsToRecordSuccess(local_store, "never"), clock=lambda: now[0])
    job = flaky.run_reindex("items", flaky.start_reindex("items", ReindexRequest()).job_id)
    assert job.state is JobState.SUCCEEDED
    assert catalog.job("items", job.job_id).state is JobState.RUNNING  # the worker may still run
    # once the record is older than any worker can run, it reports what happened
    now[0] += timedelta(hours=1)
    reported = catalog.job("items", job.job_id)
    assert (reported.state, reported.version_id) == (JobState.SUCCEEDED, job.version_id)
    assert reported.count == 3


def test_a_job_whose_worker_died_is_reported_failed(local_store: LocalDirectoryStore) -> None:
    now = [datetime(2030, 1, 1, tzinfo=UTC)]
    catalog = Catalog(local_store, clock=lambda: now[0])
    catalog.create_collection(CollectionSpec(name="items", dimension=DIMENSION))
    catalog.upsert("items", UpsertRequest(documents=_documents(_vectors(3))))
    job = catalog.start_reindex("items", ReindexRequest())
    # a worker that claimed the job and was killed before promoting
    running = job.model_copy(update={"state": JobState.RUNNING})
    local_store.put(keys.job_key("items", job.job_id), running.model_dump_json().encode())
    assert catalog.job("items", job.job_id).state is JobState.RUNNING
    now[0] += timedelta(hours=1)
    reported = catalog.job("items", job.job_id)
    assert (reported.state, reported.error_code) == (JobState.FAILED, "job_stale")
    assert catalog.describe("items").live_version is None


def test_stored_records_with_fields_from_a_newer_release_still_read(
    catalog: Catalog, local_store: LocalDirectoryStore
) -> None:
    # given records written by a newer worker that added a field to each of them
    catalog.upsert("items", UpsertRequest(documents=_documents(_vectors(3))))
    first = _reindex(catalog)
    catalog.upsert("items", UpsertRequest(documents=_documents(_vectors(2, seed=2), "new")))
    stored = [
        "collections/items/spec.json",
        "collections/items/current.json",
        f"collections/items/versions/{first.version_id}/manifest.json",
        f"collections/items/jobs/{first.job_id}.json",
        *local_store.list("collections/items/pending/"),
    ]
    for key in stored:
        record = json.loads(local_store.get(key))
        record["added_by_a_newer_release"] = {"any": "value"}
        local_store.put(key, json.dumps(record).encode())
    # then this release reads them all
    assert catalog.describe("items").live_version == first.version_id
    assert catalog.job("items", first.job_id).state is JobState.SUCCEEDED
    assert [v.version_id for v in catalog.list_versions("items").versions] == [first.version_id]
    second = _reindex(catalog)
    assert (second.state, second.count) == (JobState.SUCCEEDED, 5)
    assert catalog.rollback("items", first.version_id).count == 3
    assert len(_top_ids(local_store, _vectors(3)[0])) == 3


def test_requests_still_refuse_unknown_fields() -> None:
    with pytest.raises(ValueError, match="surprise"):
        ReindexRequest.model_validate({"surprise": 1})


def _clocked_catalog(store: LocalDirectoryStore) -> tuple[Catalog, list[datetime]]:
    now = [datetime(2030, 1, 1, tzinfo=UTC)]
    catalog = Catalog(store, clock=lambda: now[0])
    catalog.create_collection(CollectionSpec(name="items", dimension=DIMENSION))
    catalog.upsert("items", UpsertRequest(documents=_documents(_vectors(3))))
    return catalog, now


def test_a_queued_job_whose_worker_never_started_is_reported_lost(
    local_store: LocalDirectoryStore,
) -> None:
    catalog, now = _clocked_catalog(local_store)
    job = catalog.start_reindex("items", ReindexRequest())
    # the async event may wait in Lambda's queue until its maximum age: still queued
    now[0] += timedelta(seconds=catalog.limits.lost_job_seconds)
    assert catalog.job("items", job.job_id).state is JobState.QUEUED
    # past that, no worker will ever start it
    now[0] += timedelta(seconds=1)
    reported = catalog.job("items", job.job_id)
    assert (reported.state, reported.error_code) == (JobState.FAILED, "job_lost")
    # and a delivery that arrives after all does not run it
    ran = catalog.run_reindex("items", job.job_id)
    assert (ran.state, ran.error_code) == (JobState.FAILED, "job_lost")
    assert catalog.describe("items").live_version is None
    assert catalog.job("items", job.job_id).error_code == "job_lost"


def test_a_job_that_could_not_be_submitted_is_recorded_failed(catalog: Catalog) -> None:
    job = catalog.start_reindex("items", ReindexRequest())
    failed = catalog.fail_job("items", job.job_id, JobSubmitFailed("no worker"))
    assert (failed.state, failed.error_code, failed.error) == (
        JobState.FAILED,
        "job_submit_failed",
        "no worker",
    )
    assert catalog.job("items", job.job_id) == failed
    # the refusal did not hold the collection: the next reindex starts
    assert _reindex(catalog).state is JobState.SUCCEEDED


def test_failing_a_job_that_already_started_leaves_its_record(catalog: Catalog) -> None:
    done = _reindex(catalog)
    assert catalog.fail_job("items", done.job_id, JobSubmitFailed("late")).state is (
        JobState.SUCCEEDED
    )
    assert catalog.job("items", done.job_id).state is JobState.SUCCEEDED


def test_a_second_reindex_is_refused_while_one_is_queued_or_running(
    local_store: LocalDirectoryStore,
) -> None:
    catalog, now = _clocked_catalog(local_store)
    first = catalog.start_reindex("items", ReindexRequest())
    with pytest.raises(ReindexInProgress, match=first.job_id) as refused:
        catalog.start_reindex("items", ReindexRequest(index=HnswIndex()))
    assert refused.value.status == 409
    # while it runs as well
    running = first.model_copy(update={"state": JobState.RUNNING, "updated_at": now[0]})
    local_store.put(keys.job_key("items", first.job_id), running.model_dump_json().encode())
    with pytest.raises(ReindexInProgress):
        catalog.start_reindex("items", ReindexRequest())
    # a stale job does not hold the collection forever
    now[0] += timedelta(seconds=catalog.limits.stale_job_seconds + 1)
    second = catalog.start_reindex("items", ReindexRequest())
    assert catalog.run_reindex("items", second.job_id).state is JobState.SUCCEEDED
    # nor does a finished one
    catalog.start_reindex("items", ReindexRequest())


def test_of_concurrent_reindex_requests_exactly_one_gets_a_job(
    catalog: Catalog, local_store: LocalDirectoryStore
) -> None:
    catalog.upsert("items", UpsertRequest(documents=_documents(_vectors(3))))
    started: list[str] = []
    refused: list[ReindexInProgress] = []
    barrier = threading.Barrier(8)

    def request() -> None:
        barrier.wait()
        try:
            started.append(catalog.start_reindex("items", ReindexRequest()).job_id)
        except ReindexInProgress as error:
            refused.append(error)

    threads = [threading.Thread(target=request) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert (len(started), len(refused)) == (1, 7)
    # only the winner's job record is kept, and it runs
    assert local_store.list(keys.jobs_prefix("items")) == [keys.job_key("items", started[0])]
    assert catalog.run_reindex("items", started[0]).count == 3


def test_a_request_that_loses_the_slot_race_is_refused_naming_the_winner(
    catalog: Catalog, local_store: LocalDirectoryStore
) -> None:
    winner: list[str] = []

    class OtherRequestFirst(FaultyStore):
        """Another request takes the slot between this one's check and its claim."""

        def put_if_absent(self, key: str, data: bytes) -> None:
            if key == keys.reindex_slot_key("items") and not winner:
                winner.append(catalog.start_reindex("items", ReindexRequest()).job_id)
            self.inner.put_if_absent(key, data)

    with pytest.raises(ReindexInProgress) as raised:
        Catalog(OtherRequestFirst(local_store, "never")).start_reindex("items", ReindexRequest())
    assert winner[0] in raised.value.message


def _import(
    catalog: Catalog, store: LocalDirectoryStore, vectors: np.ndarray, records: str
) -> ImportRequest:
    path = store.root / "imports/v.npy"
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, vectors)
    store.put("imports/r.jsonl", records.encode())
    return ImportRequest(vectors_key="imports/v.npy", records_key="imports/r.jsonl")


def test_import_records_are_split_on_newlines_only(
    catalog: Catalog, local_store: LocalDirectoryStore
) -> None:
    # U+2028 and NEL are line breaks to str.splitlines but ordinary characters in JSON strings
    records = (
        '{"id": "a", "metadata": {"t": "x\u2028y"}}\n{"id": "b", "metadata": {"t": "p\x85q"}}\n'
    )
    catalog.import_files("items", _import(catalog, local_store, _vectors(2), records))
    assert _reindex(catalog).count == 2
    response = Searcher(local_store).search(
        "items", SearchRequest(vector=_vectors(2)[0].tolist(), k=2, include_metadata=True)
    )
    assert {h.id: h.metadata for h in response.results[0].hits} == {
        "a": {"t": "x\u2028y"},
        "b": {"t": "p\x85q"},
    }


@pytest.mark.parametrize(
    ("records", "problem"),
    [
        ('{"id": "p"},{"id": "q"}\n', "line 1"),
        ('{"id": "p"}\n{"id": "q"}]\n', "line 2"),
    ],
)
def test_import_records_hold_one_object_per_line(
    catalog: Catalog, local_store: LocalDirectoryStore, records: str, problem: str
) -> None:
    with pytest.raises(ImportSourceInvalid, match=problem):
        catalog.import_files("items", _import(catalog, local_store, _vectors(2), records))


def test_an_empty_import_is_refused(catalog: Catalog, local_store: LocalDirectoryStore) -> None:
    with pytest.raises(ImportSourceInvalid, match="no records"):
        catalog.import_files("items", _import(catalog, local_store, _vectors(0), ""))


@pytest.mark.parametrize("change", ["replaced", "deleted"])
def test_an_import_whose_files_changed_fails_the_reindex_by_name_until_discarded(
    catalog: Catalog, local_store: LocalDirectoryStore, change: str
) -> None:
    # given an accepted import and a later upsert
    request = _import(catalog, local_store, _vectors(2), '{"id": "a"}\n{"id": "b"}\n')
    receipt = catalog.import_files("items", request)
    catalog.upsert("items", UpsertRequest(documents=_documents(_vectors(1, seed=8), "later")))
    # when the source file changes before the reindex
    if change == "replaced":
        np.save(local_store.root / "imports/v.npy", _vectors(2, seed=99))  # same shape
    else:
        local_store.delete("imports/v.npy")
    # then the reindex fails naming the batch, and nothing else changes
    failed = _reindex(catalog)
    assert (failed.state, failed.error_code) == (JobState.FAILED, "import_source_invalid")
    assert receipt.batch_id in (failed.error or "")
    assert catalog.describe("items").pending_batches == 2
    # and once the operator discards that batch, the rest is indexed
    catalog.discard_batch("items", receipt.batch_id)
    rebuilt = _reindex(catalog)
    assert (rebuilt.state, rebuilt.count) == (JobState.SUCCEEDED, 1)


def test_discarding_an_unknown_batch_is_batch_not_found(catalog: Catalog) -> None:
    for batch_id in ("20990101T000000000000Z-00000000", "../spec"):
        with pytest.raises(BatchNotFound):
            catalog.discard_batch("items", batch_id)


def test_a_stored_batch_that_can_never_apply_is_named_and_can_be_discarded(
    catalog: Catalog, local_store: LocalDirectoryStore
) -> None:
    # given a batch written before components were bounded (1e39 is inf in float32)
    generation = json.loads(local_store.get(keys.spec_key("items")))["generation"]
    legacy = {
        "kind": "upsert",
        "generation": generation,
        "documents": [{"id": "huge", "vector": [1e39] + [0.0] * (DIMENSION - 1)}],
    }
    local_store.put(
        keys.pending_key("items", "20000101T000000000000Z-0000beef"), json.dumps(legacy).encode()
    )
    catalog.upsert("items", UpsertRequest(documents=_documents(_vectors(2))))
    failed = _reindex(catalog)
    assert (failed.state, failed.error_code) == (JobState.FAILED, "invalid_request")
    assert "20000101T000000000000Z-0000beef" in (failed.error or "")
    catalog.discard_batch("items", "20000101T000000000000Z-0000beef")
    assert _reindex(catalog).count == 2


def test_the_metadata_limit_counts_utf8_bytes(local_store: LocalDirectoryStore) -> None:
    # {"t":"éééé"} is 16 bytes of UTF-8 (32 if each é were counted as an ASCII escape)
    catalog = Catalog(local_store, limits=Limits(max_metadata_bytes=16))
    catalog.create_collection(CollectionSpec(name="items", dimension=1))
    fits = Document(id="fits", vector=[1.0], metadata={"t": "éééé"})
    assert catalog.upsert("items", UpsertRequest(documents=[fits])).count == 1
    over = Document(id="over", vector=[1.0], metadata={"t": "ééééé"})
    with pytest.raises(PayloadTooLarge, match="18 bytes"):
        catalog.upsert("items", UpsertRequest(documents=[over]))


def test_pending_batches_are_listed_oldest_first_with_kind_count_and_time(
    local_store: LocalDirectoryStore,
) -> None:
    # given a clock that ticks one second per call, an upsert of 3 and a delete of 2
    times = iter(datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=s) for s in range(100))
    catalog = Catalog(local_store, clock=lambda: next(times))
    catalog.create_collection(CollectionSpec(name="items", dimension=DIMENSION))
    upsert = catalog.upsert("items", UpsertRequest(documents=_documents(_vectors(3))))
    delete = catalog.delete_documents("items", DeleteRequest(ids=["doc0", "doc1"]))
    # then both are listed, oldest first, with what they hold and when they were written
    listed = catalog.list_pending("items")
    assert listed.collection == "items"
    assert [(b.batch_id, b.kind, b.count) for b in listed.batches] == [
        (upsert.batch_id, "upsert", 3),
        (delete.batch_id, "delete", 2),
    ]
    assert listed.batches[0].created_at == datetime(2026, 1, 1, 0, 0, 1, tzinfo=UTC)
    # and a discarded batch is no longer listed; an indexed one neither
    catalog.discard_batch("items", upsert.batch_id)
    assert [b.batch_id for b in catalog.list_pending("items").batches] == [delete.batch_id]
    _reindex(catalog)
    assert catalog.list_pending("items").batches == []


def test_an_unreadable_pending_batch_is_listed_with_a_warning(
    catalog: Catalog, local_store: LocalDirectoryStore
) -> None:
    local_store.put(keys.pending_key("items", "20000101T000000000000Z-0000beef"), b"{not json")
    [listed] = catalog.list_pending("items").batches
    assert (listed.batch_id, listed.kind, listed.count) == (
        "20000101T000000000000Z-0000beef",
        None,
        None,
    )
    assert "discard" in (listed.warning or "")


def test_listing_pending_batches_of_an_unknown_collection_is_not_found(catalog: Catalog) -> None:
    with pytest.raises(CollectionNotFound):
        catalog.list_pending("nothing")


@pytest.mark.parametrize("stored", [b"{garbage", b'{"spec": {"name": "items"}}', b"[]"])
def test_a_corrupt_collection_record_is_stored_data_corrupt_and_flagged_in_the_listing(
    catalog: Catalog, local_store: LocalDirectoryStore, stored: bytes
) -> None:
    catalog.create_collection(CollectionSpec(name="other", dimension=3))
    local_store.put(keys.spec_key("items"), stored)
    with pytest.raises(StoredDataCorrupt, match="'items'") as raised:
        catalog.describe("items")
    assert (raised.value.code, raised.value.status) == ("stored_data_corrupt", 500)
    listing = catalog.list_collections()
    assert [c.spec.name for c in listing.collections] == ["other"]
    [flagged] = listing.unreadable
    assert flagged.name == "items"
    assert "record" in flagged.warning


def test_a_corrupt_job_record_is_stored_data_corrupt_and_does_not_block_reindexing(
    catalog: Catalog, local_store: LocalDirectoryStore
) -> None:
    job = catalog.start_reindex("items", ReindexRequest())
    local_store.put(keys.job_key("items", job.job_id), b'{"job_id": 3}')
    with pytest.raises(StoredDataCorrupt, match=job.job_id):
        catalog.job("items", job.job_id)
    assert catalog.start_reindex("items", ReindexRequest()).job_id != job.job_id


def test_a_corrupt_pointer_is_stored_data_corrupt_and_flagged_in_the_listing(
    catalog: Catalog, local_store: LocalDirectoryStore
) -> None:
    catalog.upsert("items", UpsertRequest(documents=_documents(_vectors(2))))
    _reindex(catalog)
    local_store.put(keys.current_key("items"), b"{garbage")
    with pytest.raises(StoredDataCorrupt, match="pointer"):
        catalog.describe("items")
    [listed] = catalog.list_collections().collections
    assert "pointer" in (listed.warning or "")


def test_a_collection_with_a_corrupt_record_can_be_deleted_and_created_again(
    catalog: Catalog, local_store: LocalDirectoryStore
) -> None:
    catalog.upsert("items", UpsertRequest(documents=_documents(_vectors(2))))
    local_store.put(keys.spec_key("items"), b"{garbage")
    catalog.delete_collection("items")
    assert local_store.list(keys.collection_prefix("items")) == []
    catalog.create_collection(CollectionSpec(name="items", dimension=3))
    assert catalog.describe("items").spec.dimension == 3


def test_rolling_back_replaces_a_corrupt_pointer(
    catalog: Catalog, local_store: LocalDirectoryStore
) -> None:
    vectors = _vectors(3)
    catalog.upsert("items", UpsertRequest(documents=_documents(vectors)))
    first = _reindex(catalog).version_id
    assert first is not None
    local_store.put(keys.current_key("items"), b"{garbage")
    assert catalog.rollback("items", first).live_version == first
    assert _top_ids(local_store, vectors[1], k=1) == ["doc1"]


def test_a_batch_cannot_be_discarded_while_a_reindex_is_queued_or_running(
    catalog: Catalog, local_store: LocalDirectoryStore
) -> None:
    batch = catalog.upsert("items", UpsertRequest(documents=_documents(_vectors(2))))
    job = catalog.start_reindex("items", ReindexRequest())
    with pytest.raises(ReindexInProgress, match=job.job_id):
        catalog.discard_batch("items", batch.batch_id)
    assert catalog.run_reindex("items", job.job_id).count == 2
    assert catalog.list_pending("items").batches == []


def test_a_batch_discarded_just_before_a_reindex_listed_it_is_skipped(
    catalog: Catalog, local_store: LocalDirectoryStore
) -> None:
    catalog.upsert("items", UpsertRequest(documents=_documents(_vectors(2))))
    doomed = catalog.upsert("items", UpsertRequest(documents=_documents(_vectors(1), "bad")))

    class DiscardAfterListing(FaultyStore):
        """A discard that passed its check before the job started deletes after the listing."""

        def list(self, prefix: str) -> list[str]:
            listed = self.inner.list(prefix)
            if prefix == keys.pending_prefix("items"):
                self.inner.delete(keys.pending_key("items", doomed.batch_id))
            return listed

    busy = Catalog(DiscardAfterListing(local_store, "never"))
    job = busy.start_reindex("items", ReindexRequest())
    done = busy.run_reindex("items", job.job_id)
    assert (done.state, done.count) == (JobState.SUCCEEDED, 2)
    assert "1 pending batches discarded meanwhile" in done.notes
    assert _top_ids(local_store, _vectors(1)[0], k=3) == ["doc0", "doc1"]


class SlotWriteFails(FaultyStore):
    """The reindex slot's first write fails, before or after it landed."""

    def __init__(self, inner: LocalDirectoryStore, *, lands: bool) -> None:
        super().__init__(inner, "never")
        self.lands = lands
        self.failed = False

    def put_if_absent(self, key: str, data: bytes) -> None:
        if key == keys.reindex_slot_key("items") and not self.failed:
            self.failed = True
            if self.lands:
                self.inner.put_if_absent(key, data)
            raise StorageError("injected: connection reset")
        self.inner.put_if_absent(key, data)


def test_a_slot_claim_that_landed_despite_an_error_is_the_job(
    catalog: Catalog, local_store: LocalDirectoryStore
) -> None:
    catalog.upsert("items", UpsertRequest(documents=_documents(_vectors(2))))
    flaky = Catalog(SlotWriteFails(local_store, lands=True))
    job = flaky.start_reindex("items", ReindexRequest())
    assert catalog.run_reindex("items", job.job_id).count == 2


def test_a_slot_claim_that_failed_leaves_no_job_behind(
    catalog: Catalog, local_store: LocalDirectoryStore
) -> None:
    flaky = Catalog(SlotWriteFails(local_store, lands=False))
    with pytest.raises(StorageError):
        flaky.start_reindex("items", ReindexRequest())
    assert local_store.list(keys.jobs_prefix("items")) == []
    assert catalog.start_reindex("items", ReindexRequest()).state is JobState.QUEUED


def test_deleting_stops_once_the_name_is_taken_again(
    catalog: Catalog, local_store: LocalDirectoryStore
) -> None:
    catalog.upsert("items", UpsertRequest(documents=_documents(_vectors(2))))
    old_job = catalog.start_reindex("items", ReindexRequest())
    catalog.run_reindex("items", old_job.job_id)
    successor: list[str] = []

    class RecreateDuringDelete(FaultyStore):
        """Another client re-creates the collection while the old one's files are deleted."""

        def delete(self, key: str) -> None:
            if key.startswith(keys.jobs_prefix("items")) and not successor:
                catalog.create_collection(CollectionSpec(name="items", dimension=DIMENSION))
                catalog.upsert("items", UpsertRequest(documents=_documents(_vectors(1), "new")))
                successor.append(catalog.start_reindex("items", ReindexRequest()).job_id)
            self.inner.delete(key)

    Catalog(RecreateDuringDelete(local_store, "never")).delete_collection("items")
    # the new collection keeps its batch and its reindex slot: a second job is refused
    assert catalog.describe("items").pending_batches == 1
    with pytest.raises(ReindexInProgress, match=successor[0]):
        catalog.start_reindex("items", ReindexRequest())
    assert catalog.run_reindex("items", successor[0]).count == 1
