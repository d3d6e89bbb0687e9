"""Validated models shared by the core, the HTTP APIs and the stored JSON documents."""

import math
import re
from collections.abc import Iterator
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    field_validator,
    model_validator,
)

from vecsearch.core.keys import COLLECTION_NAME, OPAQUE_ID

MAX_DOCUMENT_ID_LENGTH = 256
MAX_DIMENSION = 4096
MAX_QUERIES_PER_BATCH = 100
MAX_K = 1000
# Queries x k per search: 10,000 hits with 256-character ids stay under 3 MB of JSON, half of
# Lambda's 6 MB response limit (metadata can still push a response past it: see the HTTP adapter).
MAX_HITS_PER_SEARCH = 10_000
# Bound on |component|: squared norms, inner products and L2 distances of MAX_DIMENSION-long
# vectors stay finite in float32 (4096 * (2e15)^2 = 1.6e34 < 3.4e38), so no score overflows.
MAX_COMPONENT = 1e15


class Strict(BaseModel):
    """Base for request models: unknown fields are errors, not silently dropped.

    Numbers and flags are declared strict field by field: true is not 1 and "5" is not 5 (a JSON
    integer is still a valid float). Strings stay lax so enums read from their JSON values.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)


class Stored(BaseModel):
    """Base for records read back from the store: fields added by a newer release are ignored.

    During a rolling deploy (or with the services deployed separately) an older container reads
    what a newer one wrote; refusing an added field would turn every read into a 500. Nested
    specs (CollectionSpec, index specs, documents) stay strict: they are the request contract.
    """

    model_config = ConfigDict(extra="ignore", frozen=True)


class Metric(StrEnum):
    COSINE = "cosine"
    L2 = "l2"
    IP = "ip"


def _kind_required(schema: dict[str, Any]) -> None:
    # kind has a default for Python callers, but the API's discriminator needs it in every body
    schema["required"] = ["kind", *schema.get("required", [])]


class IndexVariant(Strict):
    """Base of the index specs: 'kind' selects the variant and is required in JSON."""

    model_config = ConfigDict(json_schema_extra=_kind_required)


class FlatIndex(IndexVariant):
    kind: Literal["flat"] = "flat"


class HnswIndex(IndexVariant):
    kind: Literal["hnsw"] = "hnsw"
    m: Annotated[int, Field(strict=True, ge=4, le=128)] = 32
    ef_construction: Annotated[int, Field(strict=True, ge=8, le=2048)] = 128
    ef_search: Annotated[int, Field(strict=True, ge=1, le=4096)] = 128


class IvfIndex(IndexVariant):
    kind: Literal["ivf"] = "ivf"
    nlist: Annotated[int, Field(strict=True, ge=1, le=65536)] = 1024
    nprobe: Annotated[int, Field(strict=True, ge=1, le=65536)] = 32
    train_sample: Annotated[int, Field(strict=True, ge=1000, le=10_000_000)] = 100_000


IndexSpec = Annotated[FlatIndex | HnswIndex | IvfIndex, Field(discriminator="kind")]


def _finite_components(vector: list[float]) -> list[float]:
    # The usual case in three C-level passes: a finite sum means no NaN or Infinity (both
    # propagate through addition, and components under the bound cannot overflow it).
    if (
        vector
        and math.isfinite(sum(vector))
        and max(vector) <= MAX_COMPONENT
        and min(vector) >= -MAX_COMPONENT
    ):
        return vector
    for position, component in enumerate(vector):
        if not math.isfinite(component):
            raise ValueError(f"component {position} is {component}: vectors must be finite")
        if abs(component) > MAX_COMPONENT:
            raise ValueError(
                f"component {position} is {component}: the magnitude limit is {MAX_COMPONENT:g}"
            )
    return vector


Vector = Annotated[list[float], Field(min_length=1, max_length=MAX_DIMENSION)]

CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _printable_id(doc_id: str) -> str:
    if not doc_id.strip():
        raise ValueError("id must not be blank")
    if CONTROL_CHARACTERS.search(doc_id):
        raise ValueError("id must not hold control characters (newlines, NUL, ...)")
    return doc_id


# Objects and arrays nested in metadata or a filter (the outermost object is level 1). Stored
# batches are read back by pydantic's JSON parser, which refuses ~200 levels; import lines of at
# most 128 brackets skip per-line validation (batches._SAFE_BRACKETS): 128 keeps both paths equal.
MAX_JSON_DEPTH = 128


def _storable_json(value: JsonValue, where: str, depth: int = 1) -> None:
    """Raise ValueError naming the place of a value JSON storage cannot hold back unchanged."""
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{where} is {value}: numbers must be finite")
    if isinstance(value, str):
        _utf8(value, where)
    elif isinstance(value, dict | list):
        if depth > MAX_JSON_DEPTH:
            raise ValueError(f"{where} nests deeper than {MAX_JSON_DEPTH} objects or arrays")
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for key, item in items:
            if isinstance(key, str):
                _utf8(key, f"{where} key {key!r}")
                _storable_json(item, f"{where}.{key}", depth + 1)
            else:
                _storable_json(item, f"{where}[{key}]", depth + 1)


def _utf8(text: str, where: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(f"{where} holds a lone surrogate escape (not valid UTF-8)") from None


def _storable_metadata(metadata: dict[str, JsonValue] | None) -> dict[str, JsonValue] | None:
    if metadata is not None:
        _storable_json(metadata, "metadata")
    return metadata


def _storable_filter(conditions: dict[str, JsonValue] | None) -> dict[str, JsonValue] | None:
    if conditions is not None:
        _storable_json(conditions, "filter")
    return conditions


DocumentId = Annotated[
    str, Field(min_length=1, max_length=MAX_DOCUMENT_ID_LENGTH), AfterValidator(_printable_id)
]
# NaN, Infinity, lone surrogates and deep nesting parse from JSON bodies but cannot be stored
# as JSON and read back: refuse them.
DocumentMetadata = Annotated[dict[str, JsonValue] | None, AfterValidator(_storable_metadata)]


class CollectionSpec(Strict):
    name: str
    dimension: Annotated[int, Field(strict=True, ge=1, le=MAX_DIMENSION)]
    metric: Metric = Metric.COSINE
    index: IndexSpec = Field(default_factory=FlatIndex)

    @field_validator("name")
    @classmethod
    def _name_is_safe(cls, name: str) -> str:
        if not COLLECTION_NAME.fullmatch(name):
            raise ValueError(
                "name must be 1-63 characters of a-z, 0-9, '_' or '-', starting alphanumeric"
            )
        return name


class Document(Strict):
    id: DocumentId
    vector: Vector
    metadata: DocumentMetadata = None

    @field_validator("vector", mode="before")
    @classmethod
    def _numeric(cls, value: Any) -> Any:
        # Exact types: bool (a subclass of int) and strings are refused, not coerced.
        if isinstance(value, list) and not set(map(type, value)) <= {float, int}:
            for position, component in enumerate(value):
                if isinstance(component, bool) or not isinstance(component, int | float):
                    raise ValueError(f"component {position} is not a number")
        return value

    @field_validator("vector")
    @classmethod
    def _finite(cls, vector: list[float]) -> list[float]:
        return _finite_components(vector)


class UpsertRequest(Strict):
    documents: Annotated[list[Document], Field(min_length=1)]

    def __repr_args__(self) -> Iterator[tuple[str, Any]]:
        # Powertools formats every route's arguments into a debug message, logged or not: a
        # repr of every component of every document cost more than the request's own work.
        yield "documents", len(self.documents)


class DeleteRequest(Strict):
    ids: Annotated[list[DocumentId], Field(min_length=1)]


class ImportRequest(Strict):
    """Bulk import from files already in the store: a float32 .npy matrix plus JSON lines.

    Line i of records_key is {"id": ..., "metadata": {...}?} for row i of vectors_key.
    """

    vectors_key: Annotated[str, Field(min_length=1, max_length=1024)]
    records_key: Annotated[str, Field(min_length=1, max_length=1024)]


class ReindexRequest(Strict):
    """Start building a new version; index, if given, becomes the collection's index spec."""

    index: IndexSpec | None = None


class RollbackRequest(Strict):
    version_id: Annotated[str, Field(min_length=1, max_length=128)]


class SearchRequest(Strict):
    """One query (vector) or a batch (vectors), never both."""

    vector: Vector | None = None
    vectors: (
        Annotated[list[Vector], Field(min_length=1, max_length=MAX_QUERIES_PER_BATCH)] | None
    ) = None
    k: Annotated[int, Field(strict=True, ge=1, le=MAX_K)] = 10
    threshold: Annotated[float, Field(strict=True)] | None = None
    filter: Annotated[dict[str, JsonValue] | None, AfterValidator(_storable_filter)] = None
    include_metadata: Annotated[bool, Field(strict=True)] = False

    @field_validator("vector", mode="before")
    @classmethod
    def _numeric_one(cls, value: Any) -> Any:
        return Document._numeric(value)

    @field_validator("vectors", mode="before")
    @classmethod
    def _numeric_many(cls, value: Any) -> Any:
        if isinstance(value, list):
            for query in value:
                Document._numeric(query)
        return value

    @field_validator("vector")
    @classmethod
    def _finite_one(cls, vector: list[float] | None) -> list[float] | None:
        return None if vector is None else _finite_components(vector)

    @field_validator("vectors")
    @classmethod
    def _finite_many(cls, vectors: list[list[float]] | None) -> list[list[float]] | None:
        if vectors is not None:
            for query in vectors:
                _finite_components(query)
        return vectors

    @field_validator("threshold")
    @classmethod
    def _finite_threshold(cls, threshold: float | None) -> float | None:
        if threshold is not None and not math.isfinite(threshold):
            raise ValueError("threshold must be finite")
        return threshold

    @model_validator(mode="after")
    def _one_shape(self) -> "SearchRequest":
        if (self.vector is None) == (self.vectors is None):
            raise ValueError("give exactly one of 'vector' (one query) or 'vectors' (a batch)")
        asked = len(self.queries()) * self.k
        if asked > MAX_HITS_PER_SEARCH:
            raise ValueError(
                f"{len(self.queries())} queries x k={self.k} asks for {asked} hits: one search "
                f"returns at most {MAX_HITS_PER_SEARCH}; lower k or send fewer queries"
            )
        return self

    def __repr_args__(self) -> Iterator[tuple[str, Any]]:
        # Compact, like UpsertRequest's: 100 x 384 components took ~20 ms to format.
        queries = self.queries()
        yield "queries", len(queries)
        yield "dimension", len(queries[0])
        yield "k", self.k
        yield "threshold", self.threshold
        yield "filter", self.filter
        yield "include_metadata", self.include_metadata

    def queries(self) -> list[list[float]]:
        """The queries as a list, whichever shape the request used."""
        if self.vector is not None:
            return [self.vector]
        assert self.vectors is not None
        return self.vectors


class Hit(BaseModel):
    id: str
    score: float
    metadata: dict[str, JsonValue] | None = None


class QueryResult(BaseModel):
    hits: list[Hit]


class SearchResponse(BaseModel):
    collection: str
    version_id: str
    metric: Metric
    results: list[QueryResult]


class VersionManifest(Stored):
    """Everything needed to verify and load a version; written last, read first."""

    version_id: str
    collection: str
    created_at: datetime
    dimension: int
    metric: Metric
    index: IndexSpec
    count: int
    faiss_version: str
    files: dict[str, str]  # file name -> sha256 hex
    build_seconds: float = 0.0
    # adjustments made to the requested spec, e.g. nlist clamped
    notes: list[str] = Field(default_factory=list)
    generation: str | None = None  # the collection record's generation it was built for


class CurrentPointer(Stored):
    """The small object naming a collection's live version; swapped only by conditional writes."""

    version_id: str
    updated_at: datetime
    generation: str | None = None  # the collection record's generation when it was written


class ReindexSlot(Stored):
    """The collection's one reindex job that may be queued or running."""

    job_id: Annotated[str, Field(pattern=OPAQUE_ID.pattern)]


class CollectionRecord(Stored):
    """The stored spec of a collection."""

    spec: CollectionSpec
    created_at: datetime
    generation: str | None = None  # drawn at creation; None for records written before it existed


class VersionInfo(BaseModel):
    version_id: str
    created_at: datetime
    count: int
    index: IndexSpec
    live: bool


class VersionList(BaseModel):
    collection: str
    current: str | None
    versions: list[VersionInfo]


class CollectionInfo(BaseModel):
    spec: CollectionSpec
    live_version: str | None
    count: int  # documents in the live version
    pending_batches: int  # upsert/delete/import batches written since the live version
    created_at: datetime
    warning: str | None = None  # set in listings when the live version cannot be described


class UnreadableCollection(BaseModel):
    """A collection whose own stored record cannot be read: listed by name with the reason."""

    name: str
    warning: str


class CollectionList(BaseModel):
    collections: list[CollectionInfo]
    unreadable: list[UnreadableCollection] = Field(default_factory=list)


class BatchReceipt(BaseModel):
    """An accepted write; it becomes searchable after the next reindex."""

    collection: str
    batch_id: str
    kind: Literal["upsert", "delete", "import"]
    count: int


class PendingBatchInfo(BaseModel):
    """One batch written since the live version; kind and count are None if it is unreadable."""

    batch_id: str
    kind: Literal["upsert", "delete", "import"] | None
    count: int | None
    created_at: datetime | None
    warning: str | None = None


class PendingList(BaseModel):
    """A collection's pending batches, oldest first: applied in this order by the next reindex."""

    collection: str
    batches: list[PendingBatchInfo]


class JobState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class JobStatus(BaseModel):
    job_id: str
    collection: str
    state: JobState
    created_at: datetime
    updated_at: datetime
    version_id: str | None = None
    count: int | None = None
    error: str | None = None
    error_code: str | None = None  # the VecsearchError code of a failure, e.g. concurrent_update
    stages: dict[str, float] = Field(default_factory=dict)  # stage name -> seconds
    index: IndexSpec | None = None  # the index spec requested for this reindex, if any
    notes: list[str] = Field(default_factory=list)  # adjustments made while building
    generation: str | None = None  # the collection record's generation the job was queued for


class LiveCollection(BaseModel):
    """What a search container is serving for a collection."""

    collection: str
    version_id: str
    dimension: int
    metric: Metric
    index: IndexSpec
    count: int
    loaded_at: datetime
    warning: str | None = None  # e.g. a newer version failed to load and the old one is kept


class Health(BaseModel):
    status: Literal["ok", "degraded"]
    collections: list[LiveCollection]
