"""FAISS indexes: build for a metric and index spec, validate queries, search without padding."""

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import faiss
import numpy as np
import numpy.typing as npt

from vecsearch.core.errors import DimensionMismatch, InvalidVector
from vecsearch.core.models import FlatIndex, HnswIndex, IndexSpec, IvfIndex, Metric

Matrix = npt.NDArray[np.float32]
Rows = npt.NDArray[np.int64]

# faiss wants at least this many training points per inverted list to place centroids well.
MIN_POINTS_PER_LIST = 39
# Filters matching at most this many rows are scored exactly: graph and list traversal restricted
# by a selector can miss matches when few rows qualify.
EXACT_FILTER_ROWS = 4096
# A batch against a flat index of at least BLAS_MIN_DIMENSION is scored as one BLAS matrix product
# per block of BLAS_BLOCK_ROWS stored rows plus a partial sort: ~3x faster than faiss at d=384, same
# rows and scores. Below it the partial sort dominates and faiss's default batch path is faster
# (measured: d=128 equal; d=50 faiss 2.8x faster, and 4x slower again with its BLAS threshold at 1).
# The block bounds the score matrix (100 queries x 32768 rows x 4 bytes = 13 MB).
# Inner products only: an L2 distance by BLAS is |q|^2 - 2 q.x + |x|^2, which cancels in float32
# when the vectors share a large offset (d=256, components 1000 + N(0, 1): wrong neighbours), so
# L2 is always scored as sum((q - x)^2), faiss's direct path, whatever the batch size.
BLAS_MIN_DIMENSION = 256
# Beyond any batch: faiss never switches an L2 search to its BLAS path.
_NEVER_BLAS = 2**31 - 1
BLAS_BLOCK_ROWS = 32768

_MAX_THREADS = faiss.omp_get_max_threads()
_DEFAULT_BLAS_THRESHOLD = faiss.cvar.distance_compute_blas_threshold
# The BLAS threshold is a process-wide faiss setting: set it and search under one lock so a
# concurrent single query and batch never see each other's value. (Builds never take the lock.)
_SEARCH_SETTINGS = threading.Lock()


@dataclass(frozen=True, slots=True)
class RowHits:
    """One query's results: row numbers into the version and their scores, best first."""

    rows: Rows
    scores: npt.NDArray[np.float32]


def query_matrix(queries: Any, dimension: int) -> Matrix:
    """Queries as a C-contiguous float32 (n, dimension) matrix; raise on a bad shape or value."""
    try:
        given = np.asarray(queries)
    except (TypeError, ValueError) as error:
        raise InvalidVector("query vectors must be lists of numbers of one length") from error
    if given.dtype.kind not in "fiu":
        raise InvalidVector("query vectors must be lists of numbers of one length")
    matrix = given.astype(np.float32, copy=False)
    if matrix.ndim == 1:
        matrix = matrix.reshape(1, -1)
    if matrix.ndim != 2 or matrix.size == 0:
        raise InvalidVector("give one query vector or a non-empty list of them")
    if matrix.shape[1] != dimension:
        raise DimensionMismatch(
            f"query vectors have {matrix.shape[1]} components, the collection expects {dimension}"
        )
    if not np.isfinite(matrix).all():
        raise InvalidVector("query vectors must be finite (no NaN or Infinity)")
    return np.ascontiguousarray(matrix)


def check_vectors(vectors: npt.NDArray[Any], dimension: int) -> Matrix:
    """The document matrix, checked for dtype float32, shape (n, dimension) and finite values."""
    if vectors.dtype != np.float32:
        raise InvalidVector(f"vectors must be float32, got {vectors.dtype}")
    if vectors.ndim != 2 or vectors.shape[1] != dimension:
        raise DimensionMismatch(f"vectors have shape {vectors.shape}, expected (n, {dimension})")
    if not np.isfinite(vectors).all():
        raise InvalidVector("vectors must be finite (no NaN or Infinity)")
    return vectors


def zero_length_rows(matrix: Matrix) -> Rows:
    """Rows whose float32 length is zero or too small to normalize: no direction for cosine."""
    squared = np.einsum("ij,ij->i", matrix, matrix)
    return np.flatnonzero(~(squared >= np.finfo(np.float32).tiny))


def _faiss_metric(metric: Metric) -> int:
    return int(faiss.METRIC_L2 if metric is Metric.L2 else faiss.METRIC_INNER_PRODUCT)


def _normalized(matrix: Matrix) -> Matrix:
    unit = np.array(matrix, dtype=np.float32, order="C", copy=True)
    faiss.normalize_L2(unit)
    return unit


class VectorIndex:
    """A FAISS index with the metric semantics of a collection (scores, thresholds, filters)."""

    def __init__(self, index: Any, metric: Metric, spec: IndexSpec) -> None:
        self.index = index
        self.metric = metric
        self.spec = spec
        self._direct_map_ready = not isinstance(spec, IvfIndex)
        # Made on the first filtered search; concurrent searches must neither make it twice nor
        # reconstruct rows while another thread is still making it.
        self._direct_map_lock = threading.Lock()

    @property
    def count(self) -> int:
        """How many vectors the index holds."""
        return int(self.index.ntotal)

    @property
    def dimension(self) -> int:
        """Length of every vector in the index."""
        return int(self.index.d)

    @classmethod
    def read(cls, path: Path, metric: Metric, spec: IndexSpec) -> "VectorIndex":
        """Load an index written by to_bytes."""
        return cls(faiss.read_index(str(path)), metric, spec)

    def to_bytes(self) -> bytes:
        """The serialized index, readable by read()."""
        return bytes(faiss.serialize_index(self.index))

    def search(
        self,
        queries: Matrix,
        k: int,
        *,
        threshold: float | None = None,
        allowed_rows: Rows | None = None,
    ) -> list[RowHits]:
        """Top-k rows per query (validated by query_matrix), optionally only among allowed_rows."""
        if queries.shape[1] != self.dimension:
            raise DimensionMismatch(
                f"query vectors have {queries.shape[1]} components, "
                f"the collection expects {self.dimension}"
            )
        if self.metric is Metric.COSINE:
            queries = _normalized(queries)
        population = self.count if allowed_rows is None else len(allowed_rows)
        k = min(k, population)
        if k == 0:
            empty = RowHits(np.empty(0, np.int64), np.empty(0, np.float32))
            return [empty for _ in range(queries.shape[0])]
        if allowed_rows is not None and (
            len(allowed_rows) <= EXACT_FILTER_ROWS and not isinstance(self.spec, FlatIndex)
        ):
            distances, rows = self._exact_among(queries, k, allowed_rows)
        elif allowed_rows is None and queries.shape[0] > 1 and self._flat_blas_pays():
            distances, rows = self._flat_batch(queries, k)
        else:
            distances, rows = self._faiss_search(queries, k, allowed_rows)
        return [self._hits(distances[i], rows[i], threshold) for i in range(queries.shape[0])]

    def _search_parameters(self, k: int, allowed_rows: Rows | None) -> Any:
        selector = None if allowed_rows is None else faiss.IDSelectorBatch(allowed_rows)
        if isinstance(self.spec, HnswIndex):
            return faiss.SearchParametersHNSW(  # type: ignore[attr-defined]
                sel=selector, efSearch=max(self.spec.ef_search, k)
            )
        # faiss's stubs omit the keyword constructor that also keeps the selector alive.
        if isinstance(self.spec, IvfIndex):
            return faiss.SearchParametersIVF(sel=selector, nprobe=self.spec.nprobe)  # type: ignore[call-arg]
        return faiss.SearchParameters(sel=selector)  # type: ignore[call-arg]

    def _faiss_search(
        self, queries: Matrix, k: int, allowed_rows: Rows | None
    ) -> tuple[npt.NDArray[np.float32], Rows]:
        params = self._search_parameters(k, allowed_rows)
        single = queries.shape[0] == 1
        low_dimension_flat = isinstance(self.spec, FlatIndex) and not self._flat_blas_pays()
        if self.metric is Metric.L2:
            blas_threshold = _NEVER_BLAS
        elif single or low_dimension_flat:
            blas_threshold = _DEFAULT_BLAS_THRESHOLD
        else:
            blas_threshold = 1
        with _SEARCH_SETTINGS:
            # One query: OpenMP threads cost more to start than they save. A batch: BLAS is faster,
            # except on a low-dimension flat index (see BLAS_MIN_DIMENSION) and for L2.
            faiss.omp_set_num_threads(1 if single else _MAX_THREADS)
            faiss.cvar.distance_compute_blas_threshold = blas_threshold
            distances, rows = self.index.search(queries, k, params=params)
        return distances, rows

    def _flat_blas_pays(self) -> bool:
        return (
            isinstance(self.spec, FlatIndex)
            and self.metric is not Metric.L2
            and self.dimension >= BLAS_MIN_DIMENSION
        )

    def _flat_batch(self, queries: Matrix, k: int) -> tuple[npt.NDArray[np.float32], Rows]:
        """Exact top-k inner products of a flat index by BLAS: per block, product + argpartition."""
        count = self.count
        # The flat index's own memory, viewed without a copy (it lives as long as self.index).
        stored = faiss.rev_swig_ptr(self.index.get_xb(), count * self.dimension).reshape(
            count, self.dimension
        )
        candidate_scores, candidate_rows = [], []
        for start in range(0, count, BLAS_BLOCK_ROWS):
            block = stored[start : start + BLAS_BLOCK_ROWS]
            similarity = queries @ block.T
            keep = min(k, block.shape[0])
            top = np.argpartition(similarity, block.shape[0] - keep, axis=1)[:, -keep:]
            candidate_scores.append(np.take_along_axis(similarity, top, axis=1))
            candidate_rows.append(top + start)
        scores = np.concatenate(candidate_scores, axis=1)
        rows = np.concatenate(candidate_rows, axis=1)
        order = np.argsort(-scores, axis=1, kind="stable")[:, :k]
        best = np.take_along_axis(scores, order, axis=1)
        return best.astype(np.float32, copy=False), np.take_along_axis(rows, order, axis=1)

    def _exact_among(
        self, queries: Matrix, k: int, allowed_rows: Rows
    ) -> tuple[npt.NDArray[np.float32], Rows]:
        if not self._direct_map_ready:
            with self._direct_map_lock:
                if not self._direct_map_ready:
                    faiss.extract_index_ivf(self.index).make_direct_map()
                    self._direct_map_ready = True
        candidates = self.index.reconstruct_batch(allowed_rows)
        if self.metric is Metric.L2:
            # Differences, not |q|^2 - 2 q.x + |x|^2, which cancels (see BLAS_MIN_DIMENSION).
            distances = np.stack([np.square(candidates - query).sum(axis=1) for query in queries])
            order = np.argsort(distances, axis=1, kind="stable")[:, :k]
        else:
            distances = queries @ candidates.T
            order = np.argsort(-distances, axis=1, kind="stable")[:, :k]
        best = np.take_along_axis(distances, order, axis=1).astype(np.float32)
        return best, allowed_rows[order]

    def _hits(
        self, distances: npt.NDArray[np.float32], rows: Rows, threshold: float | None
    ) -> RowHits:
        present = rows >= 0  # faiss pads with -1 when fewer than k rows qualify
        rows = rows[present].astype(np.int64, copy=False)
        scores = distances[present]
        if self.metric is Metric.L2:
            scores = np.sqrt(np.maximum(scores, 0.0))
            if threshold is not None:
                keep = scores <= threshold
                rows, scores = rows[keep], scores[keep]
        elif threshold is not None:
            keep = scores >= threshold
            rows, scores = rows[keep], scores[keep]
        return RowHits(rows, scores.astype(np.float32, copy=False))


def build_index(
    vectors: Matrix, metric: Metric, spec: IndexSpec, *, seed: int = 0
) -> tuple[VectorIndex, list[str]]:
    """Build an index over checked vectors; returns it and notes on any adjustment to the spec."""
    notes: list[str] = []
    count, dimension = vectors.shape
    data = _normalized(vectors) if metric is Metric.COSINE else np.ascontiguousarray(vectors)
    faiss_metric = _faiss_metric(metric)
    if count == 0 and not isinstance(spec, FlatIndex):
        notes.append(f"empty collection: built a flat index instead of {spec.kind}")
        spec = FlatIndex()
    index: Any
    if isinstance(spec, HnswIndex):
        index = faiss.IndexHNSWFlat(dimension, spec.m, faiss_metric)
        index.hnsw.efConstruction = spec.ef_construction
    elif isinstance(spec, IvfIndex):
        spec, index = _trained_ivf(data, faiss_metric, spec, seed, notes)
    else:
        index = faiss.IndexFlat(dimension, faiss_metric)
    faiss.omp_set_num_threads(_MAX_THREADS)  # OpenMP's thread count is per calling thread
    index.add(data)
    return VectorIndex(index, metric, spec), notes


def _trained_ivf(
    data: Matrix, faiss_metric: int, spec: IvfIndex, seed: int, notes: list[str]
) -> tuple[IvfIndex, Any]:
    count, dimension = data.shape
    training_rows = min(count, spec.train_sample)
    nlist = min(spec.nlist, max(1, training_rows // MIN_POINTS_PER_LIST))
    if nlist < spec.nlist:
        notes.append(
            f"nlist clamped from {spec.nlist} to {nlist}: {training_rows} training rows allow "
            f"at least {MIN_POINTS_PER_LIST} points per list"
        )
    nprobe = min(spec.nprobe, nlist)
    if nprobe < spec.nprobe:
        notes.append(f"nprobe clamped from {spec.nprobe} to {nprobe} (= nlist)")
    if count > spec.train_sample:
        rng = np.random.default_rng(seed)
        sample = np.sort(rng.choice(count, size=spec.train_sample, replace=False))
        training = data[sample]
        notes.append(f"trained on a seeded sample of {spec.train_sample} of {count} rows")
    else:
        training = data
    quantizer = faiss.IndexFlat(dimension, faiss_metric)
    index = faiss.IndexIVFFlat(quantizer, dimension, nlist, faiss_metric)
    faiss.omp_set_num_threads(_MAX_THREADS)
    index.train(training)
    index.nprobe = nprobe
    return spec.model_copy(update={"nlist": nlist, "nprobe": nprobe}), index
