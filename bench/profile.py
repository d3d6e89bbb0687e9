"""Sizes and repetition counts for a full run and for --quick."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Profile:
    """How big and how often: the full run keeps under 15 minutes, quick under 3, on 2 cores."""

    name: str
    glove_limit: int | None
    synthetic_count: int
    synthetic_dimension: int
    query_count: int
    single_repeats: int
    batch_size: int
    batch_repeats: int
    cold_repeats: int
    reindex_repeats: int
    import_repeats: int
    http_repeats: int
    hnsw_count: int  # GloVe rows for the HNSW reindex comparison (the demo's M=16, efC=64)
    hnsw_repeats: int


FULL = Profile(
    name="full",
    glove_limit=None,
    synthetic_count=100_000,
    synthetic_dimension=384,
    query_count=200,
    single_repeats=200,
    batch_size=100,
    batch_repeats=10,
    cold_repeats=5,
    reindex_repeats=3,
    import_repeats=9,
    http_repeats=200,
    hnsw_count=100_000,
    hnsw_repeats=2,
)

QUICK = Profile(
    name="quick",
    glove_limit=100_000,
    synthetic_count=20_000,
    synthetic_dimension=384,
    query_count=100,
    single_repeats=60,
    batch_size=100,
    batch_repeats=5,
    cold_repeats=3,
    reindex_repeats=1,
    import_repeats=3,
    http_repeats=40,
    hnsw_count=20_000,
    hnsw_repeats=1,
)
