"""Request models: vectors, metadata and ids are checked before anything reaches FAISS."""

from typing import Any

import pytest
from pydantic import ValidationError

from vecsearch.core.batches import ImportRecord
from vecsearch.core.models import MAX_COMPONENT, DeleteRequest, Document, SearchRequest


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
