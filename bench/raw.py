"""Raw FAISS baselines: what a user gets from faiss alone, with its default process settings."""

import os
from pathlib import Path
from typing import Any

import faiss
import numpy as np

DEFAULT_THREADS = faiss.omp_get_max_threads()
DEFAULT_BLAS_THRESHOLD = int(faiss.cvar.distance_compute_blas_threshold)


def faiss_defaults() -> None:
    """Restore faiss's process-wide defaults (the project's code may tune them per call)."""
    faiss.omp_set_num_threads(DEFAULT_THREADS)
    faiss.cvar.distance_compute_blas_threshold = DEFAULT_BLAS_THRESHOLD


def search_default(index: Any, queries: np.ndarray, k: int) -> np.ndarray:
    """index.search with faiss's default thread count and BLAS threshold; returns row labels."""
    faiss_defaults()
    _, labels = index.search(queries, k)
    return labels


def search_one_thread(index: Any, queries: np.ndarray, k: int) -> np.ndarray:
    """index.search on one OpenMP thread (the tuned single-query path)."""
    faiss.omp_set_num_threads(1)
    faiss.cvar.distance_compute_blas_threshold = DEFAULT_BLAS_THRESHOLD
    try:
        _, labels = index.search(queries, k)
    finally:
        faiss_defaults()
    return labels


def search_blas(unit_vectors: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    """Exact inner-product top-k as one BLAS matrix product plus argpartition (the tuned batch)."""
    scores = queries @ unit_vectors.T
    top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    order = np.argsort(-np.take_along_axis(scores, top, axis=1), axis=1, kind="stable")
    return np.take_along_axis(top, order, axis=1)


def build_flat_cosine(vectors: np.ndarray, path: Path) -> Any:
    """Normalise a copy, add it to a flat inner-product index, write it: raw faiss's reindex."""
    faiss_defaults()
    unit = np.array(vectors, dtype=np.float32, order="C", copy=True)
    faiss.normalize_L2(unit)
    index = faiss.IndexFlatIP(unit.shape[1])
    index.add(unit)
    faiss.write_index(index, os.fspath(path))
    return index


def build_hnsw_cosine(vectors: np.ndarray, path: Path, m: int, ef_construction: int) -> Any:
    """Normalise a copy, add it to an inner-product HNSW graph, write it: raw faiss's HNSW build."""
    faiss_defaults()
    unit = np.array(vectors, dtype=np.float32, order="C", copy=True)
    faiss.normalize_L2(unit)
    index = faiss.IndexHNSWFlat(unit.shape[1], m, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = ef_construction
    index.add(unit)
    faiss.write_index(index, os.fspath(path))
    return index
