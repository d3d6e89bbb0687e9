"""Version files: manifest written last with every sha256, verified before use."""

import hashlib
from datetime import UTC, datetime

import numpy as np
import pytest

from vecsearch.adapters.storage.local import LocalDirectoryStore
from vecsearch.core import keys
from vecsearch.core.errors import VersionCorrupt, VersionNotFound
from vecsearch.core.index import build_index
from vecsearch.core.models import CollectionSpec, IvfIndex, Metric
from vecsearch.core.versions import (
    DATA_FILES,
    MANIFEST_FILE,
    load_version,
    read_manifest,
    verify_version,
    write_version,
)

SPEC = CollectionSpec(name="items", dimension=4, metric=Metric.IP, index=IvfIndex(nlist=64))
VERSION = "20300101T000000000000Z-abcdef01"


@pytest.fixture
def written(local_store: LocalDirectoryStore):
    """A version of 100 documents written to the store, with its inputs."""
    vectors = np.random.default_rng(5).normal(size=(100, 4)).astype(np.float32)
    ids = [f"id-{i}" for i in range(100)]
    metadata = [{"i": i} if i % 2 else None for i in range(100)]
    index, notes = build_index(vectors, SPEC.metric, SPEC.index)
    manifest = write_version(
        local_store,
        SPEC,
        VERSION,
        created_at=datetime(2030, 1, 1, tzinfo=UTC),
        index=index,
        vectors=vectors,
        ids=ids,
        metadata=metadata,
        build_seconds=0.5,
        notes=notes,
    )
    return manifest, vectors, ids, metadata


def test_manifest_records_every_file_and_what_was_built(written, local_store) -> None:
    manifest, _, _, _ = written
    assert set(manifest.files) == set(DATA_FILES)
    for file_name, digest in manifest.files.items():
        data = local_store.get(keys.version_file_key("items", VERSION, file_name))
        assert hashlib.sha256(data).hexdigest() == digest
    assert (manifest.count, manifest.dimension, manifest.metric) == (100, 4, Metric.IP)
    assert manifest.index == IvfIndex(nlist=2, nprobe=2)  # clamped for 100 rows, and noted
    assert manifest.notes
    assert read_manifest(local_store, "items", VERSION) == manifest


def test_a_loaded_version_holds_what_was_written(written, local_store) -> None:
    _, vectors, ids, metadata = written
    version = load_version(local_store, "items", VERSION, with_vectors=True)
    assert version.ids == ids
    assert version.metadata == metadata
    assert version.vectors is not None
    np.testing.assert_array_equal(version.vectors, vectors)
    assert version.index.count == 100
    assert load_version(local_store, "items", VERSION, with_vectors=False).vectors is None


@pytest.mark.parametrize("file_name", DATA_FILES)
def test_any_tampered_file_is_reported_corrupt(written, local_store, file_name: str) -> None:
    path = local_store.root / keys.version_file_key("items", VERSION, file_name)
    data = bytearray(path.read_bytes())
    data[-2] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(VersionCorrupt, match=file_name):
        verify_version(local_store, "items", VERSION)
    with pytest.raises(VersionCorrupt, match=file_name):
        load_version(local_store, "items", VERSION, with_vectors=True)


def test_a_missing_file_is_reported_corrupt(written, local_store) -> None:
    local_store.delete(keys.version_file_key("items", VERSION, "ids.json"))
    with pytest.raises(VersionCorrupt, match="missing"):
        load_version(local_store, "items", VERSION, with_vectors=False)


def test_a_version_without_manifest_does_not_exist(written, local_store) -> None:
    local_store.delete(keys.version_file_key("items", VERSION, MANIFEST_FILE))
    with pytest.raises(VersionNotFound):
        read_manifest(local_store, "items", VERSION)


def test_an_unreadable_manifest_is_corrupt(written, local_store) -> None:
    local_store.put(keys.version_file_key("items", VERSION, MANIFEST_FILE), b"{not json")
    with pytest.raises(VersionCorrupt, match="manifest"):
        read_manifest(local_store, "items", VERSION)
