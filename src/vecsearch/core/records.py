"""A collection's two small mutable objects: its spec record and its live-version pointer.

Each record carries a generation drawn at creation. A pointer, batch, job or version written for
an earlier collection of the same name (one deleted while a job or upsert was in flight) carries
another generation and is ignored, so a re-created collection never inherits it.
"""

import secrets

from pydantic import BaseModel, ValidationError

from vecsearch.core import keys
from vecsearch.core.errors import CollectionNotFound, StoredDataCorrupt
from vecsearch.core.models import CollectionRecord, CurrentPointer
from vecsearch.core.store import KeyNotFound, Store


def new_generation() -> str:
    """A fresh generation id for a newly created collection."""
    return secrets.token_hex(8)


def parse_stored[M: BaseModel](model: type[M], raw: bytes, what: str) -> M:
    """Parse a stored JSON record; StoredDataCorrupt naming what and its first problem if not."""
    try:
        return model.model_validate_json(raw)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        problem = f"{where + ': ' if where else ''}{first['msg']}"
        raise StoredDataCorrupt(f"{what} is unreadable: {problem}") from None


def read_record(store: Store, name: str) -> tuple[CollectionRecord, str]:
    """The collection's record and its tag; CollectionNotFound if there is none."""
    if not keys.COLLECTION_NAME.fullmatch(name):
        raise CollectionNotFound(f"no collection {name!r}")
    try:
        raw, tag = store.get_tagged(keys.spec_key(name))
    except KeyNotFound:
        raise CollectionNotFound(f"no collection {name!r}") from None
    return parse_stored(CollectionRecord, raw, f"collection {name!r}: its stored record"), tag


def read_pointer(store: Store, name: str) -> tuple[CurrentPointer, str] | None:
    """The stored live-version pointer and its tag, or None before the first promotion."""
    try:
        raw, tag = store.get_tagged(keys.current_key(name))
    except KeyNotFound:
        return None
    return parse_stored(CurrentPointer, raw, f"collection {name!r}: the live-version pointer"), tag


def live_pointer(
    pointer: tuple[CurrentPointer, str] | None, record: CollectionRecord
) -> CurrentPointer | None:
    """The pointer if it belongs to this generation of the collection, else None (a leftover)."""
    if pointer is None or pointer[0].generation != record.generation:
        return None
    return pointer[0]
