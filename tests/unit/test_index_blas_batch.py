"""The BLAS batch path of flat indexes returns exactly what faiss's own search returns."""

import faiss
import numpy as np
import pytest

from vecsearch.core import index as index_module
from vecsearch.core.index import build_index
from vecsearch.core.models import FlatIndex, Metric


def _faiss_reference(data: np.ndarray, queries: np.ndarray, metric: Metric, k: int):
    """Plain faiss, default settings, on the same (normalised for cosine) data."""
    stored, asked = data.copy(), queries.copy()
    if metric is Metric.COSINE:
        faiss.normalize_L2(stored)
        faiss.normalize_L2(asked)
    faiss_metric = faiss.METRIC_L2 if metric is Metric.L2 else faiss.METRIC_INNER_PRODUCT
    reference = faiss.IndexFlat(data.shape[1], faiss_metric)
    reference.add(stored)
    distances, rows = reference.search(asked, k)
    if metric is Metric.L2:
        distances = np.sqrt(np.maximum(distances, 0.0))
    return distances, rows


@pytest.mark.parametrize("metric", list(Metric))
@pytest.mark.parametrize("block_rows", [64, 1000, index_module.BLAS_BLOCK_ROWS])
def test_batch_rows_and_scores_equal_plain_faiss(
    metric: Metric, block_rows: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given 1,000 seeded vectors, searched in blocks smaller than, equal to and larger than them
    monkeypatch.setattr(index_module, "BLAS_BLOCK_ROWS", block_rows)
    rng = np.random.default_rng(11)
    data = rng.standard_normal((1000, index_module.BLAS_MIN_DIMENSION)).astype(np.float32)
    queries = rng.standard_normal((37, index_module.BLAS_MIN_DIMENSION)).astype(np.float32)
    index, _ = build_index(data, metric, FlatIndex())
    # when a batch is searched through the collection's index
    hits = index.search(queries, 10)
    # then every query has faiss's rows in faiss's order, and its scores
    distances, rows = _faiss_reference(data, queries, metric, 10)
    assert [list(hit.rows) for hit in hits] == rows.tolist()
    np.testing.assert_allclose(
        np.stack([hit.scores for hit in hits]), distances, rtol=1e-4, atol=1e-4
    )


def test_batch_with_k_larger_than_a_block_is_exact(monkeypatch: pytest.MonkeyPatch) -> None:
    # given blocks of 8 rows and k = 20 (more than one block holds)
    monkeypatch.setattr(index_module, "BLAS_BLOCK_ROWS", 8)
    monkeypatch.setattr(index_module, "BLAS_MIN_DIMENSION", 1)
    rng = np.random.default_rng(3)
    data = rng.standard_normal((50, 6)).astype(np.float32)
    queries = rng.standard_normal((4, 6)).astype(np.float32)
    index, _ = build_index(data, Metric.IP, FlatIndex())
    # when searched, then the result is faiss's full top 20
    hits = index.search(queries, 20)
    _, rows = _faiss_reference(data, queries, Metric.IP, 20)
    assert [list(hit.rows) for hit in hits] == rows.tolist()


@pytest.mark.parametrize("dimension", [16, index_module.BLAS_MIN_DIMENSION])
def test_batch_and_single_query_paths_agree(dimension: int) -> None:
    # given a flat cosine index below and at the dimension where batches go through BLAS
    rng = np.random.default_rng(5)
    data = rng.standard_normal((500, dimension)).astype(np.float32)
    queries = rng.standard_normal((9, dimension)).astype(np.float32)
    index, _ = build_index(data, Metric.COSINE, FlatIndex())
    # when each query is asked alone (faiss path) and all together
    alone = [index.search(queries[i : i + 1], 5)[0] for i in range(9)]
    together = index.search(queries, 5)
    # then both give the same rows
    assert [list(hit.rows) for hit in together] == [list(hit.rows) for hit in alone]
