"""The metadata inverted map agrees with a direct scan for any JSON metadata."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from vecsearch.core.filters import MetadataIndex, canonical_value

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 3),
    st.sampled_from([0.5, 1.0, 2.0]),
    st.sampled_from(["a", "b", "1"]),
)
values = st.one_of(scalars, st.lists(scalars, max_size=2))
metadata = st.one_of(
    st.none(), st.dictionaries(st.sampled_from(["color", "size", "tags"]), values, max_size=3)
)


def _json_equal(left: object, right: object) -> bool:
    """JSON equality: numbers by value, booleans distinct from numbers."""
    if isinstance(left, bool) or isinstance(right, bool):
        return type(left) is type(right) and left == right
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(map(_json_equal, left, right))
    if isinstance(left, int | float) and isinstance(right, int | float):
        return left == right
    return type(left) is type(right) and left == right


@given(
    st.lists(metadata, max_size=30),
    st.dictionaries(st.sampled_from(["color", "size", "tags"]), values, min_size=1, max_size=2),
)
def test_rows_matching_equals_a_direct_scan(
    rows: list[dict[str, object] | None], conditions: dict[str, object]
) -> None:
    expected = [
        row
        for row, fields in enumerate(rows)
        if fields is not None
        and all(key in fields and _json_equal(fields[key], v) for key, v in conditions.items())
    ]
    matched = MetadataIndex(rows).rows_matching(conditions)
    assert matched.dtype == np.int64
    assert matched.tolist() == expected


@given(values, values)
def test_canonical_values_are_equal_exactly_for_equal_json(left: object, right: object) -> None:
    assert (canonical_value(left) == canonical_value(right)) == _json_equal(left, right)


def test_object_values_ignore_key_order() -> None:
    index = MetadataIndex([{"place": {"city": "Paris", "country": "FR"}}, {"place": "Paris"}])
    assert index.rows_matching({"place": {"country": "FR", "city": "Paris"}}).tolist() == [0]


def test_an_empty_filter_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one condition"):
        MetadataIndex([{"a": 1}]).rows_matching({})
