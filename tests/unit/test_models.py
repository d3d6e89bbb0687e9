"""Request models: vectors, metadata and ids are checked before anything reaches FAISS."""

import pytest
from pydantic import ValidationError

from vecsearch.core.models import MAX_COMPONENT, Document, SearchRequest


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
