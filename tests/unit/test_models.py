"""Request models: vectors, metadata and ids are checked before anything reaches FAISS."""

from typing import Any

import pytest
from pydantic import ValidationError

from vecsearch.core.batches import ImportRecord
from vecsearch.core.models import (
    MAX_COMPONENT,
    CollectionSpec,
    DeleteRequest,
    Document,
    ReindexRequest,
    SearchRequest,
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
