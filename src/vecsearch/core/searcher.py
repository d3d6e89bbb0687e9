"""The search use cases: serve each collection's live version, cached per container."""

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from vecsearch.core import keys
from vecsearch.core.clock import utc_now
from vecsearch.core.errors import (
    CollectionNotFound,
    DimensionMismatch,
    InvalidVector,
    NoLiveVersion,
    VecsearchError,
)
from vecsearch.core.filters import MetadataIndex
from vecsearch.core.index import query_matrix, zero_length_rows
from vecsearch.core.limits import Limits
from vecsearch.core.models import (
    Health,
    Hit,
    LiveCollection,
    Metric,
    QueryResult,
    SearchRequest,
    SearchResponse,
)
from vecsearch.core.records import live_pointer, read_pointer, read_record
from vecsearch.core.store import Store
from vecsearch.core.versions import IndexVersion, load_version


@dataclass(slots=True)
class _Serving:
    """A loaded version and when the pointer was last checked."""

    version: IndexVersion
    loaded_at: datetime
    checked_at: float
    warning: str | None = None
    filters: MetadataIndex | None = field(default=None)

    def metadata_index(self) -> MetadataIndex:
        """The inverted metadata map, built on the first filtered search."""
        if self.filters is None:
            self.filters = MetadataIndex(self.version.metadata)
        return self.filters


class Searcher:
    """Searches live versions; re-reads each pointer at most every refresh_seconds."""

    def __init__(
        self,
        store: Store,
        *,
        refresh_seconds: float = 30.0,
        monotonic: Callable[[], float] = time.monotonic,
        limits: Limits | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.store = store
        self.refresh_seconds = refresh_seconds
        self.monotonic = monotonic
        self.limits = Limits() if limits is None else limits
        self.clock = utc_now if clock is None else clock
        self._serving: dict[str, _Serving] = {}
        self._lock = threading.Lock()

    def search(self, name: str, request: SearchRequest) -> SearchResponse:
        """Top-k hits per query of the live version, with threshold and metadata filter."""
        serving = self._live(name)
        version = serving.version
        queries = request.queries()
        dimension = version.manifest.dimension
        for position, query in enumerate(queries):
            if len(query) != dimension:
                raise DimensionMismatch(
                    f"query {position} has {len(query)} components, "
                    f"collection {name!r} expects dimension {dimension}"
                )
        matrix = query_matrix(queries, dimension)
        if version.manifest.metric is Metric.COSINE:
            flat = zero_length_rows(matrix)
            if flat.size:
                raise InvalidVector(
                    f"query {int(flat[0])} has zero length: cosine needs a direction"
                )
        allowed = None
        if request.filter:
            allowed = serving.metadata_index().rows_matching(request.filter)
        found = version.index.search(
            matrix, request.k, threshold=request.threshold, allowed_rows=allowed
        )
        results = []
        for hits in found:
            results.append(
                QueryResult(
                    hits=[
                        Hit(
                            id=version.ids[row],
                            score=score,
                            metadata=version.metadata[row] if request.include_metadata else None,
                        )
                        for row, score in zip(hits.rows.tolist(), hits.scores.tolist(), strict=True)
                    ]
                )
            )
        return SearchResponse(
            collection=name,
            version_id=version.manifest.version_id,
            metric=version.manifest.metric,
            results=results,
        )

    def describe(self, name: str) -> LiveCollection:
        """What this container serves for the collection, with any warning about newer versions."""
        return self._live_collection(name, self._live(name))

    def health(self) -> Health:
        """Degraded when a collection is served from an older version because a newer one failed.

        A degraded collection's pointer is re-read when due (cheap: no version is loaded here), so
        a pointer put back on the version being served clears the warning without a search.
        """
        with self._lock:
            warned = [name for name, entry in self._serving.items() if entry.warning]
        for name in warned:
            try:
                self._live(name, load=False)
            except VecsearchError:
                continue  # deleted or unreadable meanwhile: the next search reports it
        with self._lock:
            serving = list(self._serving.items())
        collections = [self._live_collection(name, entry) for name, entry in serving]
        degraded = any(entry.warning for entry in collections)
        return Health(status="degraded" if degraded else "ok", collections=collections)

    def _live_collection(self, name: str, serving: _Serving) -> LiveCollection:
        manifest = serving.version.manifest
        return LiveCollection(
            collection=name,
            version_id=manifest.version_id,
            dimension=manifest.dimension,
            metric=manifest.metric,
            index=manifest.index,
            count=manifest.count,
            loaded_at=serving.loaded_at,
            warning=serving.warning,
        )

    def _live(self, name: str, *, load: bool = True) -> _Serving:
        """The cached version to serve, after re-reading the pointer when due.

        With load=False a pointer naming another version leaves the entry untouched (still due).
        """
        if not keys.COLLECTION_NAME.fullmatch(name):
            raise CollectionNotFound(f"no collection {name!r}")
        with self._lock:
            cached = self._serving.get(name)
            now = self.monotonic()
            if cached is not None and now - cached.checked_at < self.refresh_seconds:
                return cached
            try:
                record = read_record(self.store, name)[0]
                pointer = live_pointer(read_pointer(self.store, name), record)
            except CollectionNotFound:
                self._serving.pop(name, None)
                raise
            except VecsearchError as error:
                if cached is None:
                    raise
                cached.checked_at = now
                cached.warning = f"could not read the live-version pointer: {error.message}"
                return cached
            if pointer is None:  # never promoted, or only for an earlier collection of this name
                self._serving.pop(name, None)
                raise NoLiveVersion(f"collection {name!r} has not been indexed yet")
            version_id = pointer.version_id
            if cached is not None and cached.version.manifest.version_id == version_id:
                cached.checked_at = now
                cached.warning = None
                return cached
            if cached is not None and not load:
                return cached
            try:
                version = load_version(self.store, name, version_id, with_vectors=False)
            except Exception as error:
                if cached is None:
                    raise
                # Keep serving the version that works; report the one that does not.
                reason = error.message if isinstance(error, VecsearchError) else repr(error)
                cached.checked_at = now
                cached.warning = f"version {version_id!r} not served: {reason}"
                return cached
            serving = _Serving(version=version, loaded_at=self.clock(), checked_at=now)
            self._serving[name] = serving
            return serving
