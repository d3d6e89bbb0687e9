"""The admin use cases: collections, document batches, reindex jobs, versions and rollback."""

import hashlib
import io
import json
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from datetime import datetime
from itertools import chain, compress
from typing import Any

import numpy as np
from pydantic import JsonValue, ValidationError

from vecsearch.core import keys
from vecsearch.core.batches import (
    PENDING_BATCH,
    DeleteBatch,
    ImportBatch,
    ImportRecords,
    UpsertBatch,
    parse_import_records,
)
from vecsearch.core.clock import utc_now
from vecsearch.core.errors import (
    BatchNotFound,
    CollectionExists,
    CollectionNotFound,
    ConcurrentUpdate,
    DimensionMismatch,
    ImportSourceInvalid,
    InvalidRequest,
    InvalidVector,
    JobLost,
    JobNotFound,
    JobStale,
    PayloadTooLarge,
    ReindexInProgress,
    StoredDataCorrupt,
    VecsearchError,
    VersionCorrupt,
    VersionNotFound,
)
from vecsearch.core.index import Matrix, build_index, check_vectors, zero_length_rows
from vecsearch.core.limits import Limits
from vecsearch.core.models import (
    MAX_COMPONENT,
    BatchReceipt,
    CollectionInfo,
    CollectionList,
    CollectionRecord,
    CollectionSpec,
    CurrentPointer,
    DeleteRequest,
    ImportRequest,
    JobState,
    JobStatus,
    Metric,
    PendingBatchInfo,
    PendingList,
    ReindexRequest,
    ReindexSlot,
    UnreadableCollection,
    UpsertRequest,
    VersionInfo,
    VersionList,
)
from vecsearch.core.records import (
    live_pointer,
    new_generation,
    parse_stored,
    read_pointer,
    read_record,
)
from vecsearch.core.store import KeyNotFound, PreconditionFailed, Store
from vecsearch.core.versions import (
    MANIFEST_FILE,
    Metadata,
    load_version,
    read_manifest,
    verify_version,
    write_version,
)

PENDING_WRITE_ATTEMPTS = 3


class _Documents:
    """The collection's documents while a reindex applies batches, kept as arrays.

    The rows of all added segments are numbered in one sequence; `where` maps each live id to its
    latest row. A dict keeps first-insertion order, so a replaced id keeps its place and a deleted
    then re-added id moves to the end, exactly as applying the batches one by one would.
    """

    def __init__(self, dimension: int) -> None:
        self.dimension = dimension
        self.segments: list[Matrix] = []
        self.metadata: list[Sequence[Metadata]] = []
        self.rows = 0
        self.where: dict[str, int] = {}

    def add(self, vectors: Matrix, ids: Sequence[str], metadata: Sequence[Metadata]) -> None:
        """Insert or replace one document per row of vectors (a repeated id: its last row wins)."""
        if not vectors.shape[0] == len(ids) == len(metadata):
            raise ValueError("vectors, ids and metadata must have one entry per row")
        start = self.rows
        self.segments.append(vectors)
        self.metadata.append(metadata)
        self.rows += len(ids)
        self.where.update(zip(ids, range(start, self.rows), strict=True))

    def delete(self, ids: Sequence[str]) -> None:
        """Remove the documents; unknown ids are ignored."""
        for doc_id in ids:
            self.where.pop(doc_id, None)

    def assemble(self) -> tuple[Matrix, list[str], list[Metadata]]:
        """One float32 matrix with ids and metadata in row order."""
        ids = list(self.where)
        rows = np.fromiter(self.where.values(), dtype=np.int64, count=len(ids))
        every_row = len(ids) == self.rows and bool((rows == np.arange(self.rows)).all())
        if every_row and len(self.segments) == 1:
            return self.segments[0], ids, list(self.metadata[0])
        vectors = np.empty((len(ids), self.dimension), dtype=np.float32)
        start = 0
        for segment in self.segments:
            end = start + segment.shape[0]
            if every_row:
                vectors[start:end] = segment
            else:
                in_segment = (rows >= start) & (rows < end)
                vectors[in_segment] = segment[rows[in_segment] - start]
            start = end
        all_metadata = list(chain.from_iterable(self.metadata))
        if every_row:
            return vectors, ids, all_metadata
        if all_metadata.count(None) == len(all_metadata):
            return vectors, ids, [None] * len(ids)
        table = np.empty(len(all_metadata), dtype=object)
        table[:] = all_metadata
        return vectors, ids, table[rows].tolist()


def _npy_view(data: bytes) -> Matrix:
    """The array of a .npy file's bytes, viewed in place (read-only); ValueError if malformed."""
    stream = io.BytesIO(data)
    major, _ = np.lib.format.read_magic(stream)
    read_header = (
        np.lib.format.read_array_header_1_0 if major == 1 else np.lib.format.read_array_header_2_0
    )
    shape, fortran_order, dtype = read_header(stream)
    if dtype.hasobject:
        raise ValueError("the array holds Python objects, which are never loaded")
    array: Matrix = np.ndarray(
        shape, dtype, buffer=data, offset=stream.tell(), order="F" if fortran_order else "C"
    )
    return array


class Catalog:
    """The admin use cases over one store."""

    def __init__(
        self,
        store: Store,
        *,
        limits: Limits | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.store = store
        self.limits = Limits() if limits is None else limits
        self.clock = utc_now if clock is None else clock

    # collections

    def create_collection(self, spec: CollectionSpec) -> CollectionInfo:
        """Create an empty collection; CollectionExists if the name is taken."""
        record = CollectionRecord(spec=spec, created_at=self.clock(), generation=new_generation())
        try:
            self.store.put_if_absent(keys.spec_key(spec.name), record.model_dump_json().encode())
        except PreconditionFailed:
            raise CollectionExists(f"collection {spec.name!r} already exists") from None
        return CollectionInfo(
            spec=spec, live_version=None, count=0, pending_batches=0, created_at=record.created_at
        )

    def describe(self, name: str) -> CollectionInfo:
        """The collection's spec, live version, document count and pending batches."""
        record = self._record(name)
        pointer = live_pointer(read_pointer(self.store, name), record)
        count = 0
        if pointer is not None:
            count = read_manifest(self.store, name, pointer.version_id).count
        return CollectionInfo(
            spec=record.spec,
            live_version=None if pointer is None else pointer.version_id,
            count=count,
            pending_batches=len(self.store.list(keys.pending_prefix(name))),
            created_at=record.created_at,
        )

    def list_collections(self) -> CollectionList:
        """Every collection, by name."""
        names = [
            key.removeprefix(keys.COLLECTIONS).removesuffix("/spec.json")
            for key in self.store.list(keys.COLLECTIONS)
            if key.count("/") == 2 and key.endswith("/spec.json")
        ]
        collections = []
        unreadable = []
        for name in names:
            try:
                collections.append(self.describe(name))
            except CollectionNotFound:
                continue  # deleted while listing
            except VecsearchError as error:  # one broken collection must not hide the others
                flagged = self._flagged(name, error)
                if isinstance(flagged, CollectionInfo):
                    collections.append(flagged)
                elif flagged is not None:
                    unreadable.append(UnreadableCollection(name=name, warning=flagged.message))
        return CollectionList(collections=collections, unreadable=unreadable)

    def delete_collection(self, name: str) -> None:
        """Delete the collection with every version, batch and job; CollectionNotFound if absent.

        An unreadable collection record does not stop it: deleting is the way out of one."""
        with suppress(StoredDataCorrupt):
            self._record(name)
        # The spec goes first so the collection disappears at once, then the rest, until the name
        # is taken again: what is left then belongs to an older generation, which readers ignore,
        # and the new collection's pointer, slot and batches must not be deleted.
        spec_key = keys.spec_key(name)
        self.store.delete(spec_key)
        for key in self.store.list(keys.collection_prefix(name)):
            if self.store.exists(spec_key):
                return
            self.store.delete(key)

    # document batches

    def upsert(self, name: str, request: UpsertRequest) -> BatchReceipt:
        """Record an upsert batch, searchable after the next reindex; checks dimension and sizes."""
        record = self._record(name)
        spec = record.spec
        if len(request.documents) > self.limits.max_documents_per_upsert:
            raise PayloadTooLarge(
                f"{len(request.documents)} documents in one upsert, "
                f"the limit is {self.limits.max_documents_per_upsert}"
            )
        for document in request.documents:
            if len(document.vector) != spec.dimension:
                raise DimensionMismatch(
                    f"document {document.id!r} has {len(document.vector)} components, "
                    f"collection {name!r} expects dimension {spec.dimension}"
                )
            self._check_metadata_size(document.id, document.metadata)
        if spec.metric is Metric.COSINE:
            vectors = np.array([d.vector for d in request.documents], dtype=np.float32)
            flat = zero_length_rows(vectors)
            if flat.size:
                raise InvalidVector(
                    f"document {request.documents[int(flat[0])].id!r} has zero length: "
                    f"cosine collection {name!r} needs a direction"
                )
        batch = UpsertBatch(documents=request.documents, generation=record.generation)
        return self._write_pending(name, batch, len(request.documents))

    def delete_documents(self, name: str, request: DeleteRequest) -> BatchReceipt:
        """Record a delete batch (effective after the next reindex)."""
        record = self._record(name)
        if len(request.ids) > self.limits.max_ids_per_delete:
            raise PayloadTooLarge(
                f"{len(request.ids)} ids in one delete, "
                f"the limit is {self.limits.max_ids_per_delete}"
            )
        batch = DeleteBatch.of(request, record.generation)
        return self._write_pending(name, batch, len(request.ids))

    def import_files(self, name: str, request: ImportRequest) -> BatchReceipt:
        """Record a bulk import of a float32 .npy matrix plus JSON lines, checked up front."""
        record = self._record(name)
        spec = record.spec
        vectors, vectors_sha256 = self._import_vectors(request.vectors_key, spec)
        records, records_sha256 = self._import_records(request.records_key)
        if not records:
            raise ImportSourceInvalid(f"{request.records_key!r} holds no records")
        if len(records) != vectors.shape[0]:
            raise ImportSourceInvalid(
                f"{request.records_key!r} has {len(records)} records but "
                f"{request.vectors_key!r} has {vectors.shape[0]} vectors"
            )
        if records.metadata.count(None) != len(records):
            present = [fields is not None for fields in records.metadata]
            for doc_id, fields in zip(
                compress(records.ids, present), compress(records.metadata, present), strict=True
            ):
                self._check_metadata_size(doc_id, fields)
        batch = ImportBatch(
            vectors_key=request.vectors_key,
            records_key=request.records_key,
            count=len(records),
            generation=record.generation,
            vectors_sha256=vectors_sha256,
            records_sha256=records_sha256,
        )
        return self._write_pending(name, batch, len(records))

    # reindex jobs

    def start_reindex(self, name: str, request: ReindexRequest) -> JobStatus:
        """Queue a reindex job and return its record; a runner then calls run_reindex.

        ReindexInProgress while another job of the collection is queued or running: two builds at
        once would race for the pointer and the slower one's work (and index spec) would be lost.
        The slot (keys.reindex_slot_key) names the one job that may be active; it is taken over
        with a conditional write, so of concurrent requests exactly one gets a job.
        """
        record = self._record(name)
        active, slot_tag = self._active_job(name, record)
        if active is not None:
            raise self._in_progress(name, active)
        now = self.clock()
        status = JobStatus(
            job_id=keys.sortable_id(now),
            collection=name,
            state=JobState.QUEUED,
            created_at=now,
            updated_at=now,
            index=request.index,
            generation=record.generation,
        )
        job_key = keys.job_key(name, status.job_id)
        # The record first: whoever reads the slot then always finds the job it names.
        self.store.put_if_absent(job_key, status.model_dump_json().encode())
        slot = ReindexSlot(job_id=status.job_id).model_dump_json().encode()
        try:
            self._swap(keys.reindex_slot_key(name), slot, slot_tag)
        except PreconditionFailed:
            self.store.delete(job_key)  # never claimed: no worker is started for it
            winner, _ = self._active_job(name, record)
            raise self._in_progress(name, winner) from None
        except Exception:
            # A write can land and still report an error (an S3 500 or timeout after commit).
            active, _ = self._active_job(name, record)
            if active is not None and active.job_id == status.job_id:
                return status
            with suppress(Exception):  # unclaimed: leave no queued record behind
                self.store.delete(job_key)
            raise
        return status

    def run_reindex(self, name: str, job_id: str) -> JobStatus:
        """Build, verify and promote a version for a queued job; failures are recorded, not raised.

        The previous version stays live on any failure: the pointer is swapped last and only
        conditionally (a concurrent promotion makes this job fail with concurrent_update).
        The job is claimed with a conditional write, so a duplicate delivery never runs it twice.
        """
        status, tag = self._job_tagged(name, job_id)
        if status.state is not JobState.QUEUED:
            return self._reported(status)  # a retried invocation of a job that already ran
        reported = self._reported(status)
        if reported.state is not JobState.QUEUED:
            # Delivered after it was reported lost: running it now would contradict that report.
            return self._save_job(reported)
        stages: dict[str, float] = {}
        notes: list[str] = []
        version_id = keys.sortable_id(self.clock())
        # The RUNNING record names the version it will promote, so a stale record can be resolved.
        claimed = status.model_copy(
            update={"state": JobState.RUNNING, "version_id": version_id, "updated_at": self.clock()}
        )
        try:
            self.store.put_if_match(
                keys.job_key(name, job_id), claimed.model_dump_json().encode(), tag
            )
        except PreconditionFailed:
            return self.job(name, job_id)  # another delivery claimed it first
        status = claimed
        try:
            count, consumed = self._build_and_promote(name, status, version_id, stages, notes)
        except Exception as error:  # the job boundary: every failure becomes the job's outcome
            if self._pointer_names(name, version_id) is False:
                self._discard_version(name, version_id)
            if isinstance(error, CollectionNotFound):
                # Deleted meanwhile: a job record written now would outlive the collection.
                return status.model_copy(
                    update={
                        "state": JobState.FAILED,
                        "error": error.message,
                        "error_code": error.code,
                    }
                )
            code = error.code if isinstance(error, VecsearchError) else "internal_error"
            message = error.message if isinstance(error, VecsearchError) else repr(error)
            return self._save_job(
                status,
                state=JobState.FAILED,
                version_id=None,
                error=message,
                error_code=code,
                stages=stages,
                notes=notes,
            )
        with self._stage(stages, "cleanup"):
            self._after_promotion(name, status, consumed, notes)
        return self._save_job(
            status,
            state=JobState.SUCCEEDED,
            version_id=version_id,
            count=count,
            stages=stages,
            notes=notes,
        )

    def job(self, name: str, job_id: str) -> JobStatus:
        """A job's status; a RUNNING record older than any worker can run reports its outcome."""
        return self._reported(self._job_tagged(name, job_id)[0])

    def fail_job(self, name: str, job_id: str, error: VecsearchError) -> JobStatus:
        """Record a queued job as failed (its worker could not start); a started job is kept."""
        status, tag = self._job_tagged(name, job_id)
        if status.state is not JobState.QUEUED:
            return self._reported(status)
        failed = status.model_copy(
            update={
                "state": JobState.FAILED,
                "error": error.message,
                "error_code": error.code,
                "updated_at": self.clock(),
            }
        )
        try:
            self.store.put_if_match(
                keys.job_key(name, job_id), failed.model_dump_json().encode(), tag
            )
        except PreconditionFailed:
            return self.job(name, job_id)  # a worker claimed it after all
        return failed

    def discard_batch(self, name: str, batch_id: str) -> None:
        """Drop a pending batch that can never be applied; BatchNotFound if it is not pending.

        ReindexInProgress while a reindex is queued or running: it may already have applied the
        batch, which would then go live although the discard was acknowledged."""
        record = self._record(name)
        key = keys.pending_key(name, batch_id)
        if not keys.OPAQUE_ID.fullmatch(batch_id) or not self.store.exists(key):
            raise BatchNotFound(f"no pending batch {batch_id!r} in collection {name!r}")
        active, _ = self._active_job(name, record)
        if active is not None:
            raise self._in_progress(name, active)
        self.store.delete(key)

    def list_pending(self, name: str) -> PendingList:
        """The batches the next reindex applies, oldest first; unreadable ones carry a warning."""
        record = self._record(name)
        batches = []
        for key in sorted(self.store.list(keys.pending_prefix(name))):
            batch_id = key.rpartition("/")[2].removesuffix(".json")
            try:
                batch = PENDING_BATCH.validate_json(self.store.get(key))
            except KeyNotFound:
                continue  # indexed or discarded while listing
            except ValidationError as error:
                batches.append(
                    PendingBatchInfo(
                        batch_id=batch_id,
                        kind=None,
                        count=None,
                        created_at=keys.sortable_id_time(batch_id),
                        warning=f"unreadable ({error.errors()[0]['msg']}); discard it to proceed",
                    )
                )
                continue
            if batch.generation != record.generation:
                continue  # left behind by an earlier collection of this name
            batches.append(
                PendingBatchInfo(
                    batch_id=batch_id,
                    kind=batch.kind,
                    count=batch.size,
                    created_at=keys.sortable_id_time(batch_id),
                )
            )
        return PendingList(collection=name, batches=batches)

    # versions

    def list_versions(self, name: str) -> VersionList:
        """Every completed version, oldest first, marking the live one."""
        record = self._record(name)
        pointer = live_pointer(read_pointer(self.store, name), record)
        current = None if pointer is None else pointer.version_id
        versions = []
        for key in self.store.list(keys.versions_prefix(name)):
            if not key.endswith("/manifest.json"):
                continue
            version_id = key.removeprefix(keys.versions_prefix(name)).split("/")[0]
            try:
                manifest = read_manifest(self.store, name, version_id)
            except VersionCorrupt:
                continue  # never offered for rollback
            if manifest.generation != record.generation:
                continue  # left behind by an earlier collection of this name
            versions.append(
                VersionInfo(
                    version_id=version_id,
                    created_at=manifest.created_at,
                    count=manifest.count,
                    index=manifest.index,
                    live=version_id == current,
                )
            )
        return VersionList(collection=name, current=current, versions=versions)

    def rollback(self, name: str, version_id: str) -> CollectionInfo:
        """Make an earlier version live again after verifying all its files."""
        record = self._record(name)
        manifest = verify_version(self.store, name, version_id)
        if manifest.generation != record.generation:
            raise VersionNotFound(f"no version {version_id!r} in collection {name!r}")
        # Only the pointer's tag is needed, so an unreadable pointer is replaced like any other.
        try:
            previous_tag: str | None = self.store.get_tagged(keys.current_key(name))[1]
        except KeyNotFound:
            previous_tag = None
        self._promote(name, version_id, previous_tag, record.generation)
        return self.describe(name)

    # internals

    def _record(self, name: str) -> CollectionRecord:
        return read_record(self.store, name)[0]

    def _same_generation(self, name: str, job: JobStatus) -> CollectionRecord:
        record = self._record(name)
        if record.generation != job.generation:
            raise CollectionNotFound(
                f"collection {name!r} was deleted after job {job.job_id!r} was queued"
            )
        return record

    def _check_metadata_size(self, doc_id: str, metadata: dict[str, JsonValue] | None) -> None:
        if metadata is None:
            return
        text = json.dumps(metadata, separators=(",", ":"), ensure_ascii=False)
        size = len(text.encode("utf-8", "surrogatepass"))  # a lone surrogate must not crash
        if size > self.limits.max_metadata_bytes:
            raise PayloadTooLarge(
                f"document {doc_id!r} has {size} bytes of metadata, "
                f"the limit is {self.limits.max_metadata_bytes}"
            )

    def _write_pending(
        self, name: str, batch: UpsertBatch | DeleteBatch | ImportBatch, count: int
    ) -> BatchReceipt:
        data = batch.model_dump_json().encode()
        for _ in range(PENDING_WRITE_ATTEMPTS):
            batch_id = keys.sortable_id(self.clock())
            try:
                self.store.put_if_absent(keys.pending_key(name, batch_id), data)
            except PreconditionFailed:
                continue  # same instant and suffix as another batch: take a fresh id
            return BatchReceipt(collection=name, batch_id=batch_id, kind=batch.kind, count=count)
        raise ConcurrentUpdate(f"could not find a free batch id for collection {name!r}")

    def _import_key(self, key: str) -> None:
        problem = keys.key_problem(key)
        if problem is not None or not key.startswith(keys.IMPORTS):
            raise ImportSourceInvalid(
                f"import key {key!r} must be a safe key under {keys.IMPORTS!r}"
                + ("" if problem is None else f": {problem}")
            )

    def _import_file(self, key: str, expected_sha256: str | None) -> tuple[bytes, str]:
        """The import file's bytes and their sha256, which must equal expected_sha256 if given.

        Read once and hashed from memory: what is checked and applied is exactly what was hashed.
        """
        self._import_key(key)
        try:
            data = self.store.local_path(key).read_bytes()
        except KeyNotFound:
            raise ImportSourceInvalid(f"no import file {key!r} in the store") from None
        except OSError as error:
            raise ImportSourceInvalid(f"{key!r} is not readable: {error}") from None
        digest = hashlib.sha256(data).hexdigest()
        if expected_sha256 is not None and digest != expected_sha256:
            raise ImportSourceInvalid(f"{key!r} changed since the import was accepted")
        return data, digest

    def _import_vectors(
        self, key: str, spec: CollectionSpec, expected_sha256: str | None = None
    ) -> tuple[Matrix, str]:
        data, digest = self._import_file(key, expected_sha256)
        try:
            vectors = _npy_view(data)
        except (ValueError, TypeError, EOFError) as error:  # EOFError: an empty file
            raise ImportSourceInvalid(
                f"{key!r} is not a readable .npy file: {error or 'it is empty'}"
            ) from None
        if vectors.dtype != np.float32 or vectors.ndim != 2:
            raise ImportSourceInvalid(
                f"{key!r} holds {vectors.dtype} of shape {vectors.shape}: "
                "expected a 2-D float32 matrix"
            )
        if vectors.shape[1] != spec.dimension:
            raise ImportSourceInvalid(
                f"{key!r} has vectors of dimension {vectors.shape[1]}, "
                f"collection {spec.name!r} expects {spec.dimension}"
            )
        # min and max propagate NaN and need no temporary array: one bound check covers NaN,
        # Infinity and magnitude; only a failing file pays for the checks that name the problem.
        if vectors.size and not (
            float(vectors.min()) >= -MAX_COMPONENT and float(vectors.max()) <= MAX_COMPONENT
        ):
            if not np.isfinite(vectors).all():
                raise ImportSourceInvalid(f"{key!r} holds NaN or Infinity")
            raise ImportSourceInvalid(
                f"{key!r} holds a component beyond the magnitude limit {MAX_COMPONENT:g}"
            )
        if spec.metric is Metric.COSINE:
            flat = zero_length_rows(vectors)
            if flat.size:
                raise ImportSourceInvalid(
                    f"{key!r} row {int(flat[0])} has zero length: "
                    f"cosine collection {spec.name!r} needs a direction"
                )
        return vectors, digest

    def _import_records(
        self, key: str, expected_sha256: str | None = None
    ) -> tuple[ImportRecords, str]:
        data, digest = self._import_file(key, expected_sha256)
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as error:
            raise ImportSourceInvalid(f"{key!r} is not readable UTF-8 text: {error}") from None
        # Universal newlines, as a text-mode read gives: '\r\n' and a lone '\r' end a line.
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        try:
            return parse_import_records(text), digest
        except ValueError as error:
            raise ImportSourceInvalid(f"{key!r}: record {error}") from None

    def _job_tagged(self, name: str, job_id: str) -> tuple[JobStatus, str]:
        if not keys.OPAQUE_ID.fullmatch(job_id):
            raise JobNotFound(f"no job {job_id!r} in collection {name!r}")
        try:
            raw, tag = self.store.get_tagged(keys.job_key(name, job_id))
        except KeyNotFound:
            raise JobNotFound(f"no job {job_id!r} in collection {name!r}") from None
        return parse_stored(JobStatus, raw, f"collection {name!r}: job record {job_id!r}"), tag

    def _active_job(
        self, name: str, record: CollectionRecord
    ) -> tuple[JobStatus | None, str | None]:
        """The job in the reindex slot if it is still queued or running, and the slot's tag."""
        try:
            raw, tag = self.store.get_tagged(keys.reindex_slot_key(name))
        except KeyNotFound:
            return None, None
        try:
            job_id = ReindexSlot.model_validate_json(raw).job_id
            status = self._reported(self._job_tagged(name, job_id)[0])
        except (ValidationError, JobNotFound, StoredDataCorrupt, VersionCorrupt):
            # An unreadable slot or job record, or a stale job whose version cannot be read: no
            # worker can be running it.
            return None, tag
        if status.generation == record.generation and status.state in (
            JobState.QUEUED,
            JobState.RUNNING,
        ):
            return status, tag
        return None, tag

    @staticmethod
    def _in_progress(name: str, active: JobStatus | None) -> ReindexInProgress:
        job = (
            "another reindex job"
            if active is None
            else (f"reindex job {active.job_id!r} {active.state}")
        )
        return ReindexInProgress(
            f"collection {name!r} already has {job}; poll it and retry when it has finished"
        )

    def _reported(self, status: JobStatus) -> JobStatus:
        """The status with stale records resolved: RUNNING by its version, QUEUED as lost.

        A RUNNING record older than any worker can run succeeded if its version is live, else
        failed; a QUEUED one older than the worker event's maximum age will never start.
        """
        age = self.clock() - status.updated_at
        if status.state is JobState.QUEUED:
            if age.total_seconds() <= self.limits.lost_job_seconds:
                return status
            lost = JobLost(
                f"no worker started the job within {self.limits.lost_job_seconds} s "
                "(its invocation was dropped); the previous version stays live"
            )
            return status.model_copy(
                update={"state": JobState.FAILED, "error": lost.message, "error_code": lost.code}
            )
        if status.state is not JobState.RUNNING or age.total_seconds() <= (
            self.limits.stale_job_seconds
        ):
            return status
        version_id = status.version_id
        if version_id is not None and self._pointer_names(status.collection, version_id):
            count = read_manifest(self.store, status.collection, version_id).count
            return status.model_copy(update={"state": JobState.SUCCEEDED, "count": count})
        stale = JobStale(
            f"the worker stopped reporting {int(age.total_seconds())} s ago without promoting; "
            "the previous version stays live"
        )
        return status.model_copy(
            update={
                "state": JobState.FAILED,
                "version_id": None,
                "error": stale.message,
                "error_code": stale.code,
            }
        )

    def _save_job(self, status: JobStatus, **changes: Any) -> JobStatus:
        """Record the outcome; a failure to record it never changes it (job() resolves it later)."""
        updated = status.model_copy(update={**changes, "updated_at": self.clock()})
        try:
            self.store.put(
                keys.job_key(updated.collection, updated.job_id), updated.model_dump_json().encode()
            )
        except Exception as error:  # the build's outcome stands; the record stays RUNNING
            updated.notes.append(f"the job record could not be saved: {error!r}")
        return updated

    @contextmanager
    def _stage(self, stages: dict[str, float], stage: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            stages[stage] = round(time.perf_counter() - started, 6)

    def _build_and_promote(
        self,
        name: str,
        job: JobStatus,
        version_id: str,
        stages: dict[str, float],
        notes: list[str],
    ) -> tuple[int, list[str]]:
        with self._stage(stages, "load"):
            record = self._same_generation(name, job)
            spec = record.spec
            if job.index is not None:
                spec = spec.model_copy(update={"index": job.index})
            pointer = read_pointer(self.store, name)
            documents = _Documents(spec.dimension)
            live = live_pointer(pointer, record)
            if live is not None:
                current = load_version(self.store, name, live.version_id, with_vectors=True)
                assert current.vectors is not None
                documents.add(current.vectors, current.ids, current.metadata)
            pending = self.store.list(keys.pending_prefix(name))
        with self._stage(stages, "apply"):
            applied = [key for key in pending if self._apply_pending(documents, key, record, spec)]
            vectors, ids, metadata = documents.assemble()
            notes.append(f"applied {len(applied)} pending batches: {len(ids)} documents")
            if len(applied) < len(pending):
                notes.append(f"{len(pending) - len(applied)} pending batches discarded meanwhile")
        with self._stage(stages, "build"):
            started = time.perf_counter()
            index, build_notes = build_index(vectors, spec.metric, spec.index)
            build_seconds = time.perf_counter() - started
            notes.extend(build_notes)
        with self._stage(stages, "write"):
            write_version(
                self.store,
                spec,
                version_id,
                created_at=self.clock(),
                index=index,
                vectors=vectors,
                ids=ids,
                metadata=metadata,
                build_seconds=build_seconds,
                notes=build_notes,
                generation=record.generation,
            )
        with self._stage(stages, "verify"):
            load_version(self.store, name, version_id, with_vectors=True)
        with self._stage(stages, "promote"):
            self._same_generation(name, job)  # not deleted (or re-created) while building
            try:
                self._promote(
                    name, version_id, None if pointer is None else pointer[1], record.generation
                )
            except Exception:
                # An error after the write landed (an S3 500 or timeout after commit) is a success.
                if not self._pointer_names(name, version_id):
                    raise
                notes.append("the pointer swap reported an error but had landed")
        return len(ids), pending

    def _after_promotion(
        self, name: str, job: JobStatus, consumed: list[str], notes: list[str]
    ) -> None:
        """Best effort once live: batches left behind are re-applied harmlessly next time."""
        try:
            if job.index is not None:
                record, tag = read_record(self.store, name)
                if record.spec.index != job.index and record.generation == job.generation:
                    updated = record.model_copy(
                        update={"spec": record.spec.model_copy(update={"index": job.index})}
                    )
                    # Conditional: an unconditional write would resurrect a deleted collection.
                    self.store.put_if_match(
                        keys.spec_key(name), updated.model_dump_json().encode(), tag
                    )
            for key in consumed:
                self.store.delete(key)
        except Exception as error:  # the new version is live; leftovers are safe to retry
            notes.append(f"cleanup after promotion incomplete: {error!r}")

    def _apply_pending(
        self, documents: _Documents, key: str, record: CollectionRecord, spec: CollectionSpec
    ) -> bool:
        """Apply one pending batch (False if it was discarded since it was listed); one that can
        never apply fails naming itself for discarding."""
        batch_id = key.rpartition("/")[2].removesuffix(".json")
        hint = f"pending batch {batch_id!r} cannot be applied (discard it to proceed)"
        try:
            batch = PENDING_BATCH.validate_json(self.store.get(key))
        except KeyNotFound:
            return False
        except ValidationError as error:
            raise InvalidRequest(f"{hint}: it is unreadable: {error.errors()[0]['msg']}") from None
        if batch.generation != record.generation:
            return True  # left behind by an earlier collection of this name: consumed unread
        try:
            self._apply(documents, batch, spec)
        except (InvalidRequest, ImportSourceInvalid) as error:
            raise type(error)(f"{hint}: {error.message}") from None
        return True

    def _apply(
        self,
        documents: _Documents,
        batch: UpsertBatch | DeleteBatch | ImportBatch,
        spec: CollectionSpec,
    ) -> None:
        if isinstance(batch, UpsertBatch):
            vectors = np.array([d.vector for d in batch.documents], dtype=np.float32)
            documents.add(
                check_vectors(vectors.reshape(-1, spec.dimension), spec.dimension),
                [d.id for d in batch.documents],
                [d.metadata for d in batch.documents],
            )
        elif isinstance(batch, DeleteBatch):
            documents.delete(batch.ids)
        else:
            imported, _ = self._import_vectors(batch.vectors_key, spec, batch.vectors_sha256)
            records, _ = self._import_records(batch.records_key, batch.records_sha256)
            if len(records) != imported.shape[0]:
                raise ImportSourceInvalid(
                    f"{batch.records_key!r} changed since the import was accepted"
                )
            documents.add(imported, records.ids, records.metadata)

    def _promote(
        self,
        name: str,
        version_id: str,
        previous_tag: str | None,
        generation: str | None,
    ) -> None:
        """Swap the pointer if it still has previous_tag (None: if there is no pointer yet)."""
        pointer = CurrentPointer(
            version_id=version_id, updated_at=self.clock(), generation=generation
        ).model_dump_json()
        try:
            self._swap(keys.current_key(name), pointer.encode(), previous_tag)
        except PreconditionFailed:
            raise ConcurrentUpdate(
                f"collection {name!r}: the live version changed while {version_id!r} was prepared"
            ) from None

    def _swap(self, key: str, data: bytes, previous_tag: str | None) -> None:
        """Write key if it still has previous_tag (None: if it does not exist yet), else
        PreconditionFailed."""
        if previous_tag is None:
            self.store.put_if_absent(key, data)
        else:
            self.store.put_if_match(key, data, previous_tag)

    def _pointer_names(self, name: str, version_id: str) -> bool | None:
        """Whether the live pointer names version_id; None when the pointer cannot be read."""
        try:
            pointer = read_pointer(self.store, name)
        except Exception:  # the store is failing: the outcome of the swap is unknown
            return None
        return pointer is not None and pointer[0].version_id == version_id

    def _flagged(
        self, name: str, problem: VecsearchError
    ) -> CollectionInfo | StoredDataCorrupt | None:
        """A listing entry for a collection that cannot be described, or why its record is bad."""
        try:
            record = self._record(name)
        except StoredDataCorrupt as corrupt:
            return corrupt
        except VecsearchError:
            return None  # deleted meanwhile
        return CollectionInfo(
            spec=record.spec,
            live_version=None,
            count=0,
            pending_batches=0,
            created_at=record.created_at,
            warning=problem.message,
        )

    def _discard_version(self, name: str, version_id: str) -> None:
        """Best effort: remove an unpromoted version's files, manifest first so it never lists."""
        prefix = keys.version_file_key(name, version_id, "")
        try:
            self.store.delete(keys.version_file_key(name, version_id, MANIFEST_FILE))
            for key in self.store.list(prefix):
                self.store.delete(key)
        except Exception:  # the store is failing; an unlisted partial version is harmless
            return
