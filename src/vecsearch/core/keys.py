"""Where a collection's state lives in the store, and which keys are safe to use at all."""

import re
import secrets
from datetime import UTC, datetime

COLLECTIONS = "collections/"
IMPORTS = "imports/"
MAX_KEY_LENGTH = 1024
# A collection's name is a key segment too: the one rule for it, at creation and at every lookup.
COLLECTION_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
# Job and version ids become key segments: a strict alphabet keeps them from naming anything else.
OPAQUE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$")


def key_problem(key: str) -> str | None:
    """Why key is unsafe as a store key (escapes the root, hidden or empty segments), or None."""
    if not key or len(key) > MAX_KEY_LENGTH:
        return f"key must be 1-{MAX_KEY_LENGTH} characters"
    if key.startswith("/") or "\\" in key or "\x00" in key:
        return "key must be relative, use '/' separators and hold no NUL"
    for segment in key.split("/"):
        if not segment:
            return "key has an empty segment"
        if segment.startswith("."):
            return f"key segment {segment!r} starts with '.'"
    return None


def checked_key(key: str) -> str:
    """The key itself if it is safe as a store key; ValueError naming the problem otherwise."""
    problem = key_problem(key)
    if problem is not None:
        raise ValueError(f"invalid store key {key!r}: {problem}")
    return key


def collection_prefix(name: str) -> str:
    """Prefix holding everything of one collection."""
    return f"{COLLECTIONS}{name}/"


def spec_key(name: str) -> str:
    """The collection's spec record."""
    return f"{collection_prefix(name)}spec.json"


def current_key(name: str) -> str:
    """The pointer naming the live version."""
    return f"{collection_prefix(name)}current.json"


def pending_prefix(name: str) -> str:
    """Prefix of the batches written since the live version."""
    return f"{collection_prefix(name)}pending/"


def pending_key(name: str, batch_id: str) -> str:
    """One immutable upsert/delete/import batch."""
    return f"{pending_prefix(name)}{batch_id}.json"


def versions_prefix(name: str) -> str:
    """Prefix of every version of the collection."""
    return f"{collection_prefix(name)}versions/"


def version_file_key(name: str, version_id: str, file_name: str) -> str:
    """One file of one immutable version."""
    return f"{versions_prefix(name)}{version_id}/{file_name}"


def reindex_slot_key(name: str) -> str:
    """Names the collection's one reindex job that may be queued or running (claimed atomically)."""
    return f"{collection_prefix(name)}reindex-slot.json"


def jobs_prefix(name: str) -> str:
    """Prefix of the collection's reindex job records."""
    return f"{collection_prefix(name)}jobs/"


def job_key(name: str, job_id: str) -> str:
    """A reindex job's status record."""
    return f"{jobs_prefix(name)}{job_id}.json"


SORTABLE_TIME_FORMAT = "%Y%m%dT%H%M%S%fZ"


def sortable_id(now: datetime) -> str:
    """An id that sorts by creation time (UTC, microseconds) with a random suffix against ties."""
    return f"{now.astimezone(UTC).strftime(SORTABLE_TIME_FORMAT)}-{secrets.token_hex(4)}"


def sortable_id_time(identifier: str) -> datetime | None:
    """The creation time a sortable id carries, or None if it is not one."""
    try:
        stamp = datetime.strptime(identifier.partition("-")[0], SORTABLE_TIME_FORMAT)
    except ValueError:
        return None
    return stamp.replace(tzinfo=UTC)
