"""One contract suite run against both stores: the local directory and S3 (moto)."""

from pathlib import Path
from typing import Any

import pytest

from vecsearch.adapters.storage.local import LocalDirectoryStore
from vecsearch.adapters.storage.s3 import S3Store
from vecsearch.core.store import KeyNotFound, PreconditionFailed, Store

BUCKET = "vecsearch-test"


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    """Each store implementation in turn, empty."""
    if request.param == "local":
        return LocalDirectoryStore(tmp_path / "store")
    client: Any = request.getfixturevalue("s3_client")
    return S3Store(BUCKET, "some/prefix", client=client, cache_dir=tmp_path / "cache")


def test_get_returns_what_put_wrote(store: Store) -> None:
    store.put("a/b.json", b"one")
    assert store.get("a/b.json") == b"one"
    store.put("a/b.json", b"two")
    assert store.get("a/b.json") == b"two"


def test_missing_keys_raise_key_not_found(store: Store) -> None:
    with pytest.raises(KeyNotFound):
        store.get("nothing/here")
    with pytest.raises(KeyNotFound):
        store.get_tagged("nothing/here")
    with pytest.raises(KeyNotFound):
        store.local_path("nothing/here")
    assert not store.exists("nothing/here")


def test_put_if_absent_creates_once(store: Store) -> None:
    store.put_if_absent("k", b"first")
    with pytest.raises(PreconditionFailed):
        store.put_if_absent("k", b"second")
    assert store.get("k") == b"first"


def test_put_if_match_replaces_only_the_tagged_object(store: Store) -> None:
    store.put("pointer", b"v1")
    _, tag = store.get_tagged("pointer")
    store.put_if_match("pointer", b"v2", tag)
    data, new_tag = store.get_tagged("pointer")
    assert data == b"v2"
    assert new_tag != tag
    with pytest.raises(PreconditionFailed):
        store.put_if_match("pointer", b"v3", tag)  # stale tag
    assert store.get("pointer") == b"v2"
    with pytest.raises(PreconditionFailed):
        store.put_if_match("absent", b"x", new_tag)
    assert not store.exists("absent")


def test_of_two_writers_holding_the_same_tag_one_wins(store: Store) -> None:
    store.put("current.json", b"v0")
    _, seen_by_both = store.get_tagged("current.json")
    store.put_if_match("current.json", b"writer-a", seen_by_both)
    with pytest.raises(PreconditionFailed):
        store.put_if_match("current.json", b"writer-b", seen_by_both)
    assert store.get("current.json") == b"writer-a"


def test_a_rewrite_with_the_same_bytes_still_changes_nothing_for_a_fresh_tag(store: Store) -> None:
    store.put("k", b"same")
    _, tag = store.get_tagged("k")
    store.put_if_match("k", b"same", tag)
    _, again = store.get_tagged("k")
    store.put_if_match("k", b"next", again)
    assert store.get("k") == b"next"


def test_list_returns_sorted_keys_under_a_prefix(store: Store) -> None:
    for key in ["c/2", "c/10", "c/1/x", "cz", "d/1"]:
        store.put(key, b".")
    assert store.list("c/") == ["c/1/x", "c/10", "c/2"]
    assert store.list("c") == ["c/1/x", "c/10", "c/2", "cz"]
    assert store.list("c/1") == ["c/1/x", "c/10"]
    assert store.list("e/") == []
    assert store.list("") == ["c/1/x", "c/10", "c/2", "cz", "d/1"]


def test_delete_removes_and_tolerates_absence(store: Store) -> None:
    store.put("x/y", b"1")
    store.delete("x/y")
    store.delete("x/y")
    assert not store.exists("x/y")
    assert store.list("x/") == []


def test_local_path_holds_the_objects_bytes(store: Store) -> None:
    store.put("files/blob.bin", bytes(range(256)) * 40)
    path = store.local_path("files/blob.bin")
    assert path.read_bytes() == bytes(range(256)) * 40
    store.put("files/blob.bin", b"changed")
    assert store.local_path("files/blob.bin").read_bytes() == b"changed"


@pytest.mark.parametrize("key", ["", "/abs", "a//b", "a/../b", ".hidden", "a\\b", "a\x00b"])
def test_unsafe_keys_are_refused_by_every_store(store: Store, key: str) -> None:
    for call in (store.get, store.exists, store.delete, store.local_path):
        with pytest.raises(ValueError, match="invalid store key"):
            call(key)
    with pytest.raises(ValueError, match="invalid store key"):
        store.put(key, b"x")
