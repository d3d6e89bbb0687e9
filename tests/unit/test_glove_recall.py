"""Approximate indexes against exact search on real word vectors (a GloVe 6B 50-d sample)."""

import numpy as np
import pytest

from vecsearch.core.index import build_index, query_matrix
from vecsearch.core.models import FlatIndex, HnswIndex, IvfIndex, Metric

QUERIES = 100
K = 10


def _recall(found: list[np.ndarray], exact: list[np.ndarray]) -> float:
    hits = sum(len(set(f.tolist()) & set(e.tolist())) for f, e in zip(found, exact, strict=True))
    return hits / (K * len(exact))


@pytest.fixture(scope="module")
def exact(glove_sample):
    """Exact cosine neighbours of 100 seeded sample words."""
    rows = np.random.default_rng(42).choice(len(glove_sample.words), QUERIES, replace=False)
    queries = query_matrix(glove_sample.vectors[rows], 50)
    flat, _ = build_index(glove_sample.vectors, Metric.COSINE, FlatIndex())
    return queries, [hits.rows for hits in flat.search(queries, K)]


@pytest.fixture(scope="module")
def hnsw(glove_sample):
    """One HNSW index over the sample, shared by the tests below (building it is the slow part)."""
    index, _ = build_index(
        glove_sample.vectors, Metric.COSINE, HnswIndex(m=12, ef_construction=40, ef_search=64)
    )
    return index


def test_hnsw_recall_at_10_against_flat(hnsw, exact) -> None:
    queries, truth = exact
    assert _recall([hits.rows for hits in hnsw.search(queries, K)], truth) >= 0.9


def test_ivf_recall_at_10_against_flat(glove_sample, exact) -> None:
    queries, truth = exact
    index, _ = build_index(glove_sample.vectors, Metric.COSINE, IvfIndex(nlist=128, nprobe=16))
    assert _recall([hits.rows for hits in index.search(queries, K)], truth) >= 0.9


def test_king_is_near_queen(glove_sample, hnsw) -> None:
    words = glove_sample.words
    hits = hnsw.search(query_matrix(glove_sample.vectors[words.index("king")], 50), 10)[0]
    neighbours = [words[row] for row in hits.rows]
    assert neighbours[0] == "king"
    assert "queen" in neighbours
    assert hits.scores[0] == pytest.approx(1.0, abs=1e-5)
