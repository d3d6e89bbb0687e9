"""Index building and search: metric semantics, padding, thresholds, filters, input checks."""

import threading
import time
from typing import Any

import faiss
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from vecsearch.core.errors import DimensionMismatch, InvalidVector
from vecsearch.core.index import EXACT_FILTER_ROWS, build_index, check_vectors, query_matrix
from vecsearch.core.models import FlatIndex, HnswIndex, IvfIndex, Metric

SPECS = [
    FlatIndex(),
    HnswIndex(m=16, ef_construction=64, ef_search=64),
    IvfIndex(nlist=8, nprobe=8),
]


def _data(rows: int = 400, dimension: int = 8, seed: int = 7) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(rows, dimension)).astype(np.float32)


def _brute_force(data: np.ndarray, query: np.ndarray, metric: Metric) -> np.ndarray:
    """Reference scores of every row, in the API's convention."""
    if metric is Metric.L2:
        return np.sqrt(((data - query) ** 2).sum(axis=1))
    if metric is Metric.COSINE:
        unit = data / np.linalg.norm(data, axis=1, keepdims=True)
        return unit @ (query / np.linalg.norm(query))
    return data @ query


@pytest.mark.parametrize("metric", list(Metric))
def test_flat_search_matches_brute_force_scores(metric: Metric) -> None:
    data = _data()
    index, notes = build_index(data, metric, FlatIndex())
    query = data[3] + 0.1
    hits = index.search(query_matrix(query, 8), 5)[0]
    expected = _brute_force(data, query, metric)
    order = np.argsort(expected) if metric is Metric.L2 else np.argsort(-expected)
    assert notes == []
    assert hits.rows.tolist() == order[:5].tolist()
    np.testing.assert_allclose(hits.scores, expected[order[:5]], rtol=1e-4, atol=1e-4)


def test_cosine_scores_are_similarities_of_the_raw_vectors() -> None:
    data = _data() * 5.0  # far from unit length
    index, _ = build_index(data, Metric.COSINE, FlatIndex())
    hits = index.search(query_matrix(data[10] * 3.0, 8), 1)[0]
    assert hits.rows.tolist() == [10]
    assert hits.scores[0] == pytest.approx(1.0, abs=1e-5)


@pytest.mark.parametrize("spec", SPECS, ids=lambda spec: spec.kind)
def test_k_beyond_the_collection_returns_no_padding(spec: FlatIndex | HnswIndex | IvfIndex) -> None:
    data = _data(rows=400)
    index, _ = build_index(data, Metric.IP, spec)
    results = index.search(query_matrix(data[:3], 8), 1000)
    for hits in results:
        assert (hits.rows >= 0).all()
        assert np.isfinite(hits.scores).all()
        assert np.abs(hits.scores).max() < 1e30
        assert len(set(hits.rows.tolist())) == len(hits.rows)


def test_tiny_collection_returns_exactly_what_exists() -> None:
    data = _data(rows=3)
    index, _ = build_index(data, Metric.L2, FlatIndex())
    hits = index.search(query_matrix(data[0], 8), 10)[0]
    assert sorted(hits.rows.tolist()) == [0, 1, 2]


def test_empty_collection_searches_to_nothing() -> None:
    index, notes = build_index(_data(rows=0), Metric.COSINE, HnswIndex())
    assert index.count == 0
    assert isinstance(index.spec, FlatIndex)
    assert notes
    assert index.search(query_matrix(_data(rows=1)[0], 8), 5)[0].rows.size == 0


@pytest.mark.parametrize("metric", [Metric.COSINE, Metric.IP])
def test_threshold_is_a_minimum_score_for_similarities(metric: Metric) -> None:
    data = _data()
    index, _ = build_index(data, metric, FlatIndex())
    query = query_matrix(data[0], 8)
    everything = index.search(query, 400)[0]
    cut = float(everything.scores[20])
    hits = index.search(query, 400, threshold=cut)[0]
    assert (hits.scores >= cut).all()
    assert hits.rows.tolist() == everything.rows[everything.scores >= cut].tolist()


def test_threshold_is_a_maximum_distance_for_l2() -> None:
    data = _data()
    index, _ = build_index(data, Metric.L2, FlatIndex())
    query = query_matrix(data[0], 8)
    everything = index.search(query, 400)[0]
    cut = float(everything.scores[20])
    hits = index.search(query, 400, threshold=cut)[0]
    assert (hits.scores <= cut).all()
    assert len(hits.rows) == int((everything.scores <= cut).sum())
    assert hits.scores[0] == pytest.approx(0.0, abs=1e-3)  # the query itself: distance, not squared


@pytest.mark.parametrize("spec", SPECS, ids=lambda spec: spec.kind)
@pytest.mark.parametrize("allowed_count", [5, EXACT_FILTER_ROWS + 100])
def test_filtered_search_is_exact_among_allowed_rows(
    spec: FlatIndex | HnswIndex | IvfIndex, allowed_count: int
) -> None:
    data = _data(rows=EXACT_FILTER_ROWS + 1000, dimension=8)
    index, _ = build_index(data, Metric.L2, spec)
    allowed = np.sort(np.random.default_rng(3).choice(len(data), allowed_count, replace=False))
    query = data[allowed[0]] + 0.01
    hits = index.search(query_matrix(query, 8), 5, allowed_rows=allowed)[0]
    assert set(hits.rows.tolist()) <= set(allowed.tolist())
    assert len(hits.rows) == 5
    assert hits.rows[0] == allowed[0]
    if allowed_count <= EXACT_FILTER_ROWS or isinstance(spec, FlatIndex):
        distances = _brute_force(data[allowed], query, Metric.L2)
        assert hits.rows.tolist() == allowed[np.argsort(distances)[:5]].tolist()


def test_filter_matching_nothing_returns_empty_hits() -> None:
    index, _ = build_index(_data(), Metric.IP, FlatIndex())
    hits = index.search(query_matrix(_data(rows=2), 8), 5, allowed_rows=np.empty(0, np.int64))
    assert [len(h.rows) for h in hits] == [0, 0]


def test_ivf_clamps_nlist_and_samples_training_rows() -> None:
    data = _data(rows=2000)
    index, notes = build_index(data, Metric.IP, IvfIndex(nlist=1024, nprobe=64, train_sample=1000))
    assert isinstance(index.spec, IvfIndex)
    assert index.spec.nlist == 1000 // 39
    assert index.spec.nprobe == index.spec.nlist
    assert any("nlist clamped from 1024" in note for note in notes)
    assert any("sample of 1000 of 2000" in note for note in notes)
    assert index.count == 2000


def test_serialized_index_round_trips(tmp_path) -> None:
    data = _data()
    index, _ = build_index(data, Metric.COSINE, HnswIndex(m=8))
    path = tmp_path / "index.faiss"
    path.write_bytes(index.to_bytes())
    loaded = type(index).read(path, Metric.COSINE, index.spec)
    query = query_matrix(data[:4], 8)
    before = index.search(query, 7)
    after = loaded.search(query, 7)
    for one, two in zip(before, after, strict=True):
        assert one.rows.tolist() == two.rows.tolist()


def test_batch_and_single_queries_agree() -> None:
    data = _data()
    index, _ = build_index(data, Metric.COSINE, FlatIndex())
    batch = index.search(query_matrix(data[:5], 8), 4)
    for position in range(5):
        single = index.search(query_matrix(data[position], 8), 4)[0]
        assert single.rows.tolist() == batch[position].rows.tolist()


def test_wrong_dimension_names_expected_and_got() -> None:
    with pytest.raises(DimensionMismatch, match=r"3 components.*expects 8"):
        query_matrix([1.0, 2.0, 3.0], 8)
    index, _ = build_index(_data(), Metric.IP, FlatIndex())
    with pytest.raises(DimensionMismatch):
        index.search(np.ones((1, 4), dtype=np.float32), 3)


@pytest.mark.parametrize(
    "bad",
    [[float("nan")] * 8, [float("inf")] * 8, [[1.0] * 8, [1.0] * 7], [["x"] * 8], ["1"] * 8, []],
)
def test_bad_queries_are_rejected_before_faiss(bad: object) -> None:
    with pytest.raises(InvalidVector):
        query_matrix(bad, 8)


def test_document_vectors_are_checked() -> None:
    with pytest.raises(InvalidVector, match="float32"):
        check_vectors(np.ones((2, 8), dtype=np.float64), 8)
    with pytest.raises(DimensionMismatch):
        check_vectors(np.ones((2, 7), dtype=np.float32), 8)
    bad = np.ones((2, 8), dtype=np.float32)
    bad[1, 3] = np.nan
    with pytest.raises(InvalidVector, match="finite"):
        check_vectors(bad, 8)


@given(
    st.lists(
        st.one_of(
            st.floats(allow_nan=True, allow_infinity=True, width=32),
            st.sampled_from(["1", "0.5", "x", ""]),
        ),
        min_size=1,
        max_size=6,
    )
)
def test_query_validation_accepts_exactly_finite_numbers_of_the_right_length(
    components: list[object],
) -> None:
    valid = len(components) == 4 and all(
        isinstance(c, float) and np.isfinite(c) for c in components
    )
    if valid:
        matrix = query_matrix(components, 4)
        assert matrix.shape == (1, 4)
        assert matrix.dtype == np.float32
        assert matrix.flags.c_contiguous
    else:
        with pytest.raises((InvalidVector, DimensionMismatch)):
            query_matrix(components, 4)


def test_the_ivf_direct_map_is_made_once_under_concurrent_filtered_searches(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given an IVF index whose direct map is slow to make (widening any race)
    data = _data(rows=400, dimension=8)
    index, _ = build_index(data, Metric.L2, IvfIndex(nlist=8, nprobe=8))
    made = []
    extract = faiss.extract_index_ivf

    def slow_extract(wrapped: Any) -> Any:
        ivf = extract(wrapped)
        make = ivf.make_direct_map

        def slow_make(*args: Any) -> None:
            made.append(1)
            time.sleep(0.05)
            make(*args)

        ivf.make_direct_map = slow_make
        return ivf

    monkeypatch.setattr(faiss, "extract_index_ivf", slow_extract)
    allowed = np.arange(0, 400, 7)
    start = threading.Barrier(4)
    results: list[list[int]] = []

    def filtered_search() -> None:
        start.wait()
        hits = index.search(query_matrix(data[0], 8), 3, allowed_rows=allowed)[0]
        results.append(hits.rows.tolist())

    threads = [threading.Thread(target=filtered_search) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # then the map is made once and every search sees it complete
    assert len(made) == 1
    assert len(results) == 4
    assert all(rows == results[0] for rows in results)


@pytest.mark.parametrize(
    ("spec", "allowed_count"),
    [(FlatIndex(), None), (FlatIndex(), 50), (HnswIndex(m=16, ef_search=64), 50)],
    ids=["flat batch", "flat filtered", "hnsw filtered"],
)
def test_l2_batches_stay_exact_when_vectors_share_a_large_offset(
    spec: FlatIndex | HnswIndex, allowed_count: int | None
) -> None:
    # given vectors 1000 + N(0, 1) in 256 dimensions: |q|^2 - 2 q.x + |x|^2 cancels in float32
    rng = np.random.default_rng(3)
    data = (1000 + rng.normal(size=(500, 256))).astype(np.float32)
    allowed = None if allowed_count is None else np.arange(allowed_count, dtype=np.int64)
    index, _ = build_index(data, Metric.L2, spec)
    # when a batch of stored vectors is searched
    hits = index.search(data[:8], 3, allowed_rows=allowed)
    # then each finds itself first, and the true nearest rows with their true distances
    candidates = data if allowed is None else data[allowed]
    for position, hit in enumerate(hits):
        exact = np.sqrt(((candidates.astype(np.float64) - data[position]) ** 2).sum(axis=1))
        assert hit.rows.tolist() == np.argsort(exact)[:3].tolist()
        np.testing.assert_allclose(hit.scores, np.sort(exact)[:3], rtol=1e-3, atol=1e-2)
