"""Exact metadata equality filters: an inverted map (key, value) -> sorted row numbers."""

import json
from collections import defaultdict
from collections.abc import Mapping, Sequence

import numpy as np
from pydantic import JsonValue

from vecsearch.core.index import Rows


def canonical_value(value: JsonValue) -> str:
    """Equal for equal JSON values: 1 and 1.0 match, key order is ignored, true is not 1."""
    return json.dumps(_normalized(value), sort_keys=True, separators=(",", ":"))


def _normalized(value: JsonValue) -> JsonValue:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [_normalized(item) for item in value]
    if isinstance(value, dict):
        return {key: _normalized(item) for key, item in value.items()}
    return value


class MetadataIndex:
    """Which rows hold each metadata key/value pair, for exact filtered search."""

    def __init__(self, metadata: Sequence[Mapping[str, JsonValue] | None]) -> None:
        postings: defaultdict[tuple[str, str], list[int]] = defaultdict(list)
        for row, fields in enumerate(metadata):
            if fields:
                for key, value in fields.items():
                    postings[(key, canonical_value(value))].append(row)
        self._rows = {pair: np.asarray(rows, dtype=np.int64) for pair, rows in postings.items()}

    def rows_matching(self, conditions: Mapping[str, JsonValue]) -> Rows:
        """Sorted rows whose metadata equals every condition; conditions must not be empty."""
        matched: Rows | None = None
        for key, value in conditions.items():
            rows = self._rows.get((key, canonical_value(value)))
            if rows is None:
                return np.empty(0, dtype=np.int64)
            matched = rows if matched is None else np.intersect1d(matched, rows, assume_unique=True)
        if matched is None:
            raise ValueError("a filter needs at least one condition")
        return matched
