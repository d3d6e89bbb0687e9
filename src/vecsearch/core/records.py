"""A collection's two small mutable objects: its spec record and its live-version pointer.

Each record carries a generation drawn at creation. A pointer, batch, job or version written for
an earlier collection of the same name (one deleted while a job or upsert was in flight) carries
another generation and is ignored, so a re-created collection never inherits it.
"""

import secrets

from pydantic import ValidationError

from vecsearch.core import keys
from vecsearch.core.errors import CollectionNotFound, StoredDataCorrupt
from vecsearch.core.models import CollectionRecord, CurrentPointer
from vecsearch.core.store import KeyNotFound, Store


def new_generation() -> str:
    """A fresh generation id for a newly created collection."""
    return secrets.token_hex(8)


def first_problem(error: ValidationError) -> str:
    """The first thing wrong with a stored record, for an error message."""
    first = error.errors()[0]
    where = ".".join(str(part) for part in first["loc"])
    return f"{where + ': ' if where else ''}{first['msg']}"


def read_record(store: Store, name: str) -> tuple[CollectionRecord, str]:
    """The collection's record and its tag; CollectionNotFound if there is none."""
    if not keys.COLLECTION_NAME.fullmatch(name):
        raise CollectionNotFound(f"no collection {name!r}")
    try:
        raw, tag = store.get_tagged(keys.spec_key(name))
    except KeyNotFound:
        raise CollectionNotFound(f"no collection {name!r}") from None
    try:
        return CollectionRecord.model_validate_json(raw), tag
    except ValidationError as error:
        raise StoredDataCorrupt(
            f"collection {name!r}: its stored record is unreadable: {first_problem(error)}"
        ) from None


def read_pointer(store: Store, name: str) -> tuple[CurrentPointer, str] | None:
    """The stored live-version pointer and its tag, or None before the first promotion."""
    try:
        raw, tag = store.get_tagged(keys.current_key(name))
    except KeyNotFound:
        return None
    try:
        return CurrentPointer.model_validate_json(raw), tag
    except ValidationError as error:
        raise StoredDataCorrupt(
            f"collection {name!r}: the live-version pointer is unreadable: {first_problem(error)}"
        ) from None


def live_pointer(
    pointer: tuple[CurrentPointer, str] | None, record: CollectionRecord
) -> CurrentPointer | None:
    """The pointer if it belongs to this generation of the collection, else None (a leftover)."""
    if pointer is None or pointer[0].generation != record.generation:
        return None
    return pointer[0]
