"""Pending batches: the immutable upsert/delete/import records written between versions."""

import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from itertools import repeat
from operator import itemgetter, methodcaller
from types import NoneType
from typing import Annotated, Any, Literal

from pydantic import Field, JsonValue, TypeAdapter, ValidationError

from vecsearch.core.models import (
    CONTROL_CHARACTERS,
    MAX_DOCUMENT_ID_LENGTH,
    DeleteRequest,
    Document,
    DocumentId,
    DocumentMetadata,
    Stored,
    Strict,
)


class UpsertBatch(Stored):
    kind: Literal["upsert"] = "upsert"
    documents: list[Document]
    generation: str | None = None  # the collection record's generation it was written for

    @property
    def size(self) -> int:
        """How many documents the batch upserts."""
        return len(self.documents)


class DeleteBatch(Stored):
    kind: Literal["delete"] = "delete"
    ids: list[str]
    generation: str | None = None

    @classmethod
    def of(cls, request: DeleteRequest, generation: str | None) -> "DeleteBatch":
        """The batch recording a delete request."""
        return cls(ids=request.ids, generation=generation)

    @property
    def size(self) -> int:
        """How many ids the batch deletes."""
        return len(self.ids)


class ImportBatch(Stored):
    kind: Literal["import"] = "import"
    vectors_key: str
    records_key: str
    count: int
    generation: str | None = None
    # sha256 of each file when the import was accepted: a changed file fails the batch
    vectors_sha256: str | None = None
    records_sha256: str | None = None

    @property
    def size(self) -> int:
        """How many documents the batch imports."""
        return self.count


PendingBatch = Annotated[UpsertBatch | DeleteBatch | ImportBatch, Field(discriminator="kind")]
PENDING_BATCH: TypeAdapter[UpsertBatch | DeleteBatch | ImportBatch] = TypeAdapter(PendingBatch)


class ImportRecord(Strict):
    """One line of a bulk-import records file: the id and metadata of the matching vector row."""

    id: DocumentId
    metadata: DocumentMetadata = None


@dataclass(frozen=True, slots=True)
class ImportRecords:
    """A records file as columns: the id and the metadata of each vector row, in row order."""

    ids: list[str]
    metadata: list[dict[str, JsonValue] | None]

    def __len__(self) -> int:
        return len(self.ids)


# A \uD800-\uDFFF escape: Python's json accepts lone surrogates, pydantic's parser refuses them.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
# pydantic's parser refuses nesting deeper than ~200; below this many brackets a line is safe.
_SAFE_BRACKETS = 128


def _refuse(text: str) -> Any:
    raise ValueError(f"{text} is not a finite JSON number")


def _finite_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"{text} overflows a float")
    return number


# NaN/Infinity and overflowing numbers end the fast path; the validated path then names them.
_DECODER = json.JSONDecoder(parse_constant=_refuse, parse_float=_finite_float)
_decode: Callable[[str], Any] = _DECODER.decode
# The C scanner behind decode, without its whitespace handling: (value, end) from an index.
_scan: Callable[[str, int], tuple[Any, int]] = vars(_DECODER)["scan_once"]


def parse_import_records(text: str) -> ImportRecords:
    """One JSON object per '\\n'-separated line, blank lines skipped; ValueError names the line.

    Only '\\n' separates lines: str.splitlines() would also split at U+2028 or NEL, which are
    ordinary characters inside JSON strings. Files that pass every ImportRecord check parse with
    C-level json and column checks; anything else is validated line by line, which names the
    first bad line (both paths accept the same records and return the same values).
    """
    lines = [line for line in text.split("\n") if line.strip()]
    plain = None if _SURROGATE_ESCAPE.search(text) else _plain_records(lines)
    return _validated_records(text) if plain is None else plain


def _plain_records(lines: list[str]) -> ImportRecords | None:
    """The records if every line is a plain valid record, else None (without saying which)."""
    try:
        objects = _decoded(lines)
    except (ValueError, RecursionError):
        return None
    if not objects or set(map(type, objects)) != {dict} or not _shallow(lines):
        return None
    with_metadata = sum(map(dict.__contains__, objects, repeat("metadata")))
    with_id = sum(map(dict.__contains__, objects, repeat("id")))
    if with_id != len(objects) or sum(map(len, objects)) != len(objects) + with_metadata:
        return None  # an id missing, or a field other than id and metadata
    ids = list(map(itemgetter("id"), objects))
    metadata: list[dict[str, JsonValue] | None] = list(
        map(methodcaller("get", "metadata"), objects)
    )
    if not _plain_ids(ids) or not set(map(type, metadata)) <= {dict, NoneType}:
        return None
    return ImportRecords(ids, metadata)


def _decoded(lines: list[str]) -> list[Any]:
    """Each line's JSON value; ValueError if a line is not exactly one JSON value."""
    # Lines without surrounding whitespace (the usual case) go straight to the C scanner; its
    # StopIteration (no value at the index) would end map() early, so the lengths are compared.
    try:
        scanned = list(map(_scan, lines, repeat(0)))
    except StopIteration:
        scanned = []
    if len(scanned) == len(lines) and list(map(itemgetter(1), scanned)) == list(map(len, lines)):
        return list(map(itemgetter(0), scanned))
    return list(map(_decode, lines))


def _plain_ids(ids: list[Any]) -> bool:
    """Whether every id is a str passing DocumentId's checks (length, not blank, printable)."""
    if set(map(type, ids)) != {str} or not all(map(str.strip, ids)):
        return False
    lengths = list(map(len, ids))
    return (
        min(lengths) >= 1
        and max(lengths) <= MAX_DOCUMENT_ID_LENGTH
        and CONTROL_CHARACTERS.search("".join(ids)) is None
    )


def _shallow(lines: list[str]) -> bool:
    """Whether no line nests deeper than _SAFE_BRACKETS (brackets in strings count too)."""
    # Every line is an object, so holds one '{'; the rest are spread over the lines.
    brackets = sum(map(str.count, lines, repeat("{"))) + sum(map(str.count, lines, repeat("[")))
    if 1 + brackets - len(lines) <= _SAFE_BRACKETS:
        return True
    return all(line.count("{") + line.count("[") <= _SAFE_BRACKETS for line in lines)


def _validated_records(text: str) -> ImportRecords:
    ids: list[str] = []
    metadata: list[dict[str, JsonValue] | None] = []
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            record = ImportRecord.model_validate_json(line)
        except ValidationError as error:
            first = error.errors()[0]
            where = ".".join(str(part) for part in first["loc"])
            raise ValueError(
                f"line {number}: {where + ': ' if where else ''}{first['msg']}"
            ) from None
        ids.append(record.id)
        metadata.append(record.metadata)
    return ImportRecords(ids, metadata)
