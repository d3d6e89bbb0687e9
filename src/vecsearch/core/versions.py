"""Immutable index versions: write every file then the manifest; verify sha256 before any use."""

import hashlib
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import faiss
import numpy as np
from pydantic import JsonValue, ValidationError

from vecsearch.core.errors import StorageError, VecsearchError, VersionCorrupt, VersionNotFound
from vecsearch.core.index import Matrix, VectorIndex, check_vectors
from vecsearch.core.keys import OPAQUE_ID, version_file_key
from vecsearch.core.models import CollectionSpec, VersionManifest
from vecsearch.core.store import KeyNotFound, Store

INDEX_FILE = "index.faiss"
VECTORS_FILE = "vectors.npy"
IDS_FILE = "ids.json"
METADATA_FILE = "metadata.jsonl"
MANIFEST_FILE = "manifest.json"
DATA_FILES = (INDEX_FILE, VECTORS_FILE, IDS_FILE, METADATA_FILE)

Metadata = dict[str, JsonValue] | None


@dataclass(frozen=True, slots=True)
class IndexVersion:
    """A verified, loaded version: its index, row -> id map, metadata and (for rebuilds) vectors."""

    manifest: VersionManifest
    index: VectorIndex
    ids: list[str]
    metadata: list[Metadata]
    vectors: Matrix | None


def write_version(
    store: Store,
    spec: CollectionSpec,
    version_id: str,
    *,
    created_at: datetime,
    index: VectorIndex,
    vectors: Matrix,
    ids: Sequence[str],
    metadata: Sequence[Metadata],
    build_seconds: float,
    notes: Sequence[str] = (),
    generation: str | None = None,
) -> VersionManifest:
    """Write a version's files, then its manifest (with every file's sha256) last."""
    contents = {
        INDEX_FILE: index.to_bytes(),
        VECTORS_FILE: _npy_bytes(vectors),
        IDS_FILE: json.dumps(list(ids), separators=(",", ":")).encode(),
        METADATA_FILE: _jsonl_bytes(metadata),
    }
    digests = {}
    for file_name, data in contents.items():
        store.put(version_file_key(spec.name, version_id, file_name), data)
        digests[file_name] = hashlib.sha256(data).hexdigest()
    manifest = VersionManifest(
        version_id=version_id,
        collection=spec.name,
        created_at=created_at,
        dimension=spec.dimension,
        metric=spec.metric,
        index=index.spec,
        count=len(ids),
        faiss_version=faiss.__version__,
        files=digests,
        build_seconds=build_seconds,
        notes=list(notes),
        generation=generation,
    )
    store.put_if_absent(
        version_file_key(spec.name, version_id, MANIFEST_FILE), manifest.model_dump_json().encode()
    )
    return manifest


def _jsonl_bytes(metadata: Sequence[Metadata]) -> bytes:
    """One compact JSON line per document (as json.dumps writes it), documents without as null."""
    if metadata.count(None) == len(metadata):
        return b"null\n" * len(metadata)
    encode = json.JSONEncoder(separators=(",", ":")).encode
    lines = ["null" if fields is None else encode(fields) for fields in metadata]
    lines.append("")
    return "\n".join(lines).encode()


def _npy_bytes(vectors: Matrix) -> bytes:
    """The .npy file of vectors; header plus one memcpy is far faster than np.save to BytesIO."""
    contiguous = np.ascontiguousarray(vectors)
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, np.lib.format.header_data_from_array_1_0(contiguous)
    )
    return header.getvalue() + contiguous.tobytes()


def read_manifest(store: Store, collection: str, version_id: str) -> VersionManifest:
    """The manifest; VersionNotFound if never completed, VersionCorrupt if unreadable."""
    if not OPAQUE_ID.fullmatch(version_id):
        raise VersionNotFound(f"no version {version_id!r} in collection {collection!r}")
    try:
        raw = store.get(version_file_key(collection, version_id, MANIFEST_FILE))
    except KeyNotFound:
        raise VersionNotFound(f"no version {version_id!r} in collection {collection!r}") from None
    try:
        manifest = VersionManifest.model_validate_json(raw)
    except ValidationError as error:
        raise VersionCorrupt(f"version {version_id!r}: manifest is invalid: {error}") from None
    if manifest.version_id != version_id or manifest.collection != collection:
        raise VersionCorrupt(f"version {version_id!r}: manifest names another version")
    return manifest


def _verified_path(store: Store, manifest: VersionManifest, file_name: str) -> Path:
    """The local file, after checking its sha256 against the manifest."""
    path = _local_file(store, manifest, file_name)
    with path.open("rb") as stream:
        _check_digest(manifest, file_name, hashlib.file_digest(stream, "sha256").hexdigest())
    return path


def _verified_bytes(store: Store, manifest: VersionManifest, file_name: str) -> bytes:
    """The file's bytes, read once and checked against the manifest's sha256 before any use."""
    data = _local_file(store, manifest, file_name).read_bytes()
    _check_digest(manifest, file_name, hashlib.sha256(data).hexdigest())
    return data


def _local_file(store: Store, manifest: VersionManifest, file_name: str) -> Path:
    if file_name not in manifest.files:
        raise VersionCorrupt(f"version {manifest.version_id!r}: manifest lists no {file_name}")
    key = version_file_key(manifest.collection, manifest.version_id, file_name)
    try:
        return store.local_path(key)
    except KeyNotFound:
        raise VersionCorrupt(f"version {manifest.version_id!r}: {file_name} is missing") from None


def _check_digest(manifest: VersionManifest, file_name: str, actual: str) -> None:
    expected = manifest.files[file_name]
    if actual != expected:
        raise VersionCorrupt(
            f"version {manifest.version_id!r}: {file_name} has sha256 {actual}, "
            f"the manifest says {expected}"
        )


def _metadata(data: bytes) -> list[Metadata]:
    """The metadata lines as written by _jsonl_bytes."""
    if data == b"null\n" * (len(data) // 5):  # no document has metadata: nothing to parse
        return [None] * (len(data) // 5)
    # One json.loads over the lines joined as an array is several times faster than per line.
    parsed: list[Metadata] = json.loads("[" + ",".join(data.decode().splitlines()) + "]")
    return parsed


def verify_version(store: Store, collection: str, version_id: str) -> VersionManifest:
    """Check every file of a version against its manifest; VersionCorrupt on any difference."""
    manifest = read_manifest(store, collection, version_id)
    for file_name in DATA_FILES:
        _verified_path(store, manifest, file_name)
    return manifest


def load_version(
    store: Store, collection: str, version_id: str, *, with_vectors: bool
) -> IndexVersion:
    """Load a version after verifying each file it reads (vectors only when with_vectors).

    Every failure is a VecsearchError: local I/O (a full /tmp) is StorageError, and files that
    match their digests but still cannot be loaded (e.g. by another faiss build) are VersionCorrupt.
    """
    try:
        return _load_version(store, collection, version_id, with_vectors=with_vectors)
    except VecsearchError:
        raise
    except OSError as error:
        raise StorageError(f"version {version_id!r}: reading its files failed: {error}") from error
    except Exception as error:
        raise VersionCorrupt(f"version {version_id!r} cannot be loaded: {error!r}") from error


def _load_version(
    store: Store, collection: str, version_id: str, *, with_vectors: bool
) -> IndexVersion:
    manifest = read_manifest(store, collection, version_id)
    index = VectorIndex.read(
        _verified_path(store, manifest, INDEX_FILE), manifest.metric, manifest.index
    )
    ids = json.loads(_verified_bytes(store, manifest, IDS_FILE))
    metadata = _metadata(_verified_bytes(store, manifest, METADATA_FILE))
    vectors = None
    if with_vectors:
        loaded = np.load(_verified_path(store, manifest, VECTORS_FILE), mmap_mode="r")
        vectors = check_vectors(loaded, manifest.dimension)
    counts = {len(ids), len(metadata), index.count}
    if vectors is not None:
        counts.add(vectors.shape[0])
    if counts != {manifest.count} or index.dimension != manifest.dimension:
        raise VersionCorrupt(f"version {version_id!r}: files disagree with the manifest's counts")
    return IndexVersion(manifest, index, ids, metadata, vectors)
