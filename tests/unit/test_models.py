"""Request models: vectors, metadata and ids are checked before anything reaches FAISS."""

import re
from typing import Any

import pytest
from pydantic import ValidationError

from vecsearch.core.batches import PENDING_BATCH, ImportRecord, UpsertBatch
from vecsearch.core.models import (
    MAX_COMPONENT,
    MAX_JSON_DEPTH,
    CollectionSpec,
    DeleteRequest,
    Document,
    ReindexRequest,
    SearchRequest,
    UpsertRequest,
)


@pytest.mark.parametrize("component", [1e39, -1e39, 1e20, MAX_COMPONENT * 1.01])
def test_components_beyond_the_float32_safe_bound_are_rejected(component: float) -> None:
    # 1e39 is a finite Python float but infinite in float32; 1e20 squares past float32's range
    with pytest.raises(ValidationError, match="component 1"):
        Document(id="a", vector=[1.0, component])
    with pytest.raises(ValidationError, match="component 1"):
        SearchRequest(vector=[1.0, component])
    with pytest.raises(ValidationError, match="component 1"):
        SearchRequest(vectors=[[1.0, 1.0], [1.0, component]])


def test_components_at_the_bound_are_accepted() -> None:
    assert Document(id="a", vector=[MAX_COMPONENT, -MAX_COMPONENT]).vector[0] == MAX_COMPONENT


@pytest.mark.parametrize(
    "metadata",
    [{"x": float("nan")}, {"x": [1.0, float("inf")]}, {"x": {"y": -float("inf")}}],
)
def test_metadata_must_be_finite(metadata: dict[str, Any]) -> None:
    # json.loads accepts NaN and Infinity; stored, they would come back as null
    with pytest.raises(ValidationError, match="finite"):
        Document(id="a", vector=[1.0], metadata=metadata)
    with pytest.raises(ValidationError, match="finite"):
        ImportRecord(id="a", metadata=metadata)


def _nested(depth: int) -> dict[str, Any]:
    """Metadata whose objects nest depth levels (the outermost counts as 1)."""
    metadata: dict[str, Any] = {"leaf": 1}
    for _ in range(depth - 1):
        metadata = {"a": metadata}
    return metadata


@pytest.mark.parametrize(
    ("metadata", "problem"),
    [
        ({"t": "\udc00"}, "metadata.t holds a lone surrogate"),
        ({"\ud83d": "t"}, "key '\\ud83d' holds a lone surrogate"),
        ({"t": ["ok", {"u": "\ud800x"}]}, "metadata.t[1].u holds a lone surrogate"),
        (_nested(MAX_JSON_DEPTH + 1), f"nests deeper than {MAX_JSON_DEPTH}"),
    ],
)
def test_metadata_json_cannot_store_and_read_back_is_refused(
    metadata: dict[str, Any], problem: str
) -> None:
    # a lone surrogate cannot be encoded as UTF-8; deep nesting would fail when read back
    with pytest.raises(ValidationError, match=re.escape(problem)):
        Document(id="a", vector=[1.0], metadata=metadata)
    with pytest.raises(ValidationError, match=re.escape(problem)):
        ImportRecord(id="a", metadata=metadata)


def test_metadata_at_the_depth_limit_round_trips_through_a_stored_batch() -> None:
    document = Document(id="a", vector=[1.0], metadata=_nested(MAX_JSON_DEPTH))
    batch = UpsertBatch(documents=[document], generation="g")
    assert PENDING_BATCH.validate_json(batch.model_dump_json()) == batch


@pytest.mark.parametrize("conditions", [{"x": float("nan")}, {"x": "\udfff"}, _nested(200)])
def test_a_filter_that_no_metadata_could_match_is_refused(conditions: dict[str, Any]) -> None:
    with pytest.raises(ValidationError, match="filter"):
        SearchRequest(vector=[1.0], filter=conditions)


@pytest.mark.parametrize("doc_id", [" ", "\t", "a\nb", "a\x00b", "a\x85b"])
def test_document_ids_hold_no_control_characters_and_are_not_blank(doc_id: str) -> None:
    with pytest.raises(ValidationError, match="id"):
        Document(id=doc_id, vector=[1.0])
    with pytest.raises(ValidationError, match="id"):
        DeleteRequest(ids=[doc_id])
    with pytest.raises(ValidationError, match="id"):
        ImportRecord(id=doc_id)


def test_ordinary_unicode_ids_are_accepted() -> None:
    assert Document(id="café au lait 🍵", vector=[1.0]).id == "café au lait 🍵"


QUERY = {"vector": [1.0, 0.0]}


@pytest.mark.parametrize(
    ("fields", "location"),
    [
        ({"k": True}, "k"),
        ({"k": "5"}, "k"),
        ({"k": 5.0}, "k"),
        ({"threshold": "0.5"}, "threshold"),
        ({"threshold": True}, "threshold"),
        ({"include_metadata": "true"}, "include_metadata"),
        ({"include_metadata": 1}, "include_metadata"),
    ],
)
def test_search_numbers_and_flags_are_not_coerced(fields: dict[str, Any], location: str) -> None:
    with pytest.raises(ValidationError) as raised:
        SearchRequest.model_validate({**QUERY, **fields})
    assert raised.value.errors()[0]["loc"] == (location,)


def test_a_json_integer_is_a_valid_threshold() -> None:
    assert SearchRequest.model_validate({**QUERY, "threshold": 1}).threshold == 1.0


@pytest.mark.parametrize("dimension", [True, "3", 3.0])
def test_a_dimension_must_be_an_integer(dimension: object) -> None:
    with pytest.raises(ValidationError) as raised:
        CollectionSpec.model_validate({"name": "items", "dimension": dimension})
    assert raised.value.errors()[0]["loc"] == ("dimension",)


@pytest.mark.parametrize(
    "index",
    [
        {"kind": "hnsw", "m": True},
        {"kind": "hnsw", "ef_search": "64"},
        {"kind": "ivf", "nlist": 16.0},
        {"kind": "ivf", "nprobe": False},
        {"kind": "ivf", "train_sample": "5000"},
    ],
)
def test_index_parameters_must_be_integers(index: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        ReindexRequest.model_validate({"index": index})


@pytest.mark.parametrize(
    ("vector", "problem"),
    [
        ([1.0, float("inf"), float("-inf")], "component 1 is inf"),
        ([0.5, float("nan")], "component 1 is nan"),
        ([1.0, 2.0, True], "component 2 is not a number"),
        ([1, 2.0, "3"], "component 2 is not a number"),
    ],
)
def test_every_bad_component_is_named_whatever_its_neighbours(
    vector: list[Any], problem: str
) -> None:
    with pytest.raises(ValidationError, match=problem):
        Document(id="a", vector=vector)
    with pytest.raises(ValidationError, match=problem):
        SearchRequest(vectors=[[0.0] * len(vector), vector])


def test_requests_repr_compactly_whatever_their_size() -> None:
    # Powertools formats every route's arguments into a debug message, logged or not
    search = SearchRequest(vectors=[[0.25] * 384] * 100, k=7)
    upsert = UpsertRequest(documents=[Document(id=f"d{i}", vector=[0.5] * 384) for i in range(50)])
    assert repr(search) == (
        "SearchRequest(queries=100, dimension=384, k=7, threshold=None, filter=None, "
        "include_metadata=False)"
    )
    assert repr(upsert) == "UpsertRequest(documents=50)"
