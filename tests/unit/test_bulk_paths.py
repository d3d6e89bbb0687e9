"""The array-based import and reindex paths give exactly what the per-document paths gave."""

import json
import random
from pathlib import Path

import numpy as np
import pytest

from vecsearch.adapters.storage.local import LocalDirectoryStore
from vecsearch.core.batches import (
    ImportRecord,
    _plain_records,
    _validated_records,
    parse_import_records,
)
from vecsearch.core.catalog import Catalog, _Documents
from vecsearch.core.models import CollectionSpec, ImportRequest, JobState, Metric, ReindexRequest
from vecsearch.core.versions import DATA_FILES, _jsonl_bytes


def _per_line(text: str) -> tuple[list[str], list[object]] | str:
    """The reference: every line validated by the ImportRecord model, or the first error."""
    ids, metadata = [], []
    for line in text.split("\n"):
        if line.strip():
            try:
                record = ImportRecord.model_validate_json(line)
            except ValueError:
                return "invalid"
            ids.append(record.id)
            metadata.append(record.metadata)
    return ids, metadata


def _parsed(text: str) -> tuple[list[str], list[object]] | str:
    try:
        records = parse_import_records(text)
    except ValueError:
        return "invalid"
    return records.ids, records.metadata


TRICKY_LINES = [
    '{"id": "a"}',
    '{"id": "a", "metadata": null}',
    '{"id": "a", "metadata": {"k": 1, "j": [1, 2.5, "x", null, true], "k": 2}}',
    '{"id": "a", "id": "b"}',
    '{"metadata": {"x": 1}, "id": "last-field-order"}',
    '{"id": "\\ud83d\\ude00 pair"}',
    '{"id": "\\ud800 lone"}',
    '{"id": "a", "metadata": {"\\udc00": 1}}',
    '{"id": "a", "metadata": {"x": 1e400}}',
    '{"id": "a", "metadata": {"x": -1E400}}',
    '{"id": "a", "metadata": {"x": NaN}}',
    '{"id": "a", "metadata": {"x": Infinity}}',
    '{"id": "a", "metadata": {"x": 123456789012345678901234567890}}',
    '{"id": "a", "metadata": {"x": 1' + "0" * 5000 + "}}",
    '{"id": "a", "metadata": {"x": 5e-324, "y": -0.0, "z": 1.7976931348623157e308}}',
    '{"id": "a", "metadata": {"x": ' + "[" * 150 + "]" * 150 + "}}",
    '{"id": "a", "metadata": {"x": ' + "[" * 250 + "]" * 250 + "}}",
    '{"id": "a", "metadata": {"x": "' + "[" * 300 + '"}}',
    '  {"id": "padded"}\t',
    '{"id": "a"}\x0c',
    '{"id": "a"},{"id": "b"}',
    '{"id": "a"}]',
    '{"id": "a", "extra": 1}',
    '{"name": "a"}',
    '{"id": 7}',
    '{"id": ""}',
    '{"id": "  "}',
    '{"id": "tab\\there"}',
    '{"id": "a\u2028b\x85c"}',
    '{"id": "' + "x" * 256 + '"}',
    '{"id": "' + "x" * 257 + '"}',
    '{"id": "a", "metadata": [1]}',
    '{"id": "a", "metadata": 3}',
    '{"id": "a", "metadata": {}}',
    "[]",
    "null",
    '"a"',
    "\ufeff" + '{"id": "bom"}',
]


@pytest.mark.parametrize("line", TRICKY_LINES)
def test_each_tricky_line_parses_as_the_model_validates_it(line: str) -> None:
    text = f'{{"id": "first"}}\n\n{line}\n{{"id": "last", "metadata": {{"n": 1}}}}\n'
    assert _parsed(text) == _per_line(text)


def test_random_files_parse_as_the_model_validates_them() -> None:
    rng = random.Random(11)
    for _ in range(200):
        lines = rng.choices(TRICKY_LINES[:6] + TRICKY_LINES[14:16] + TRICKY_LINES[28:30], k=5)
        if rng.random() < 0.3:
            lines.append(rng.choice(TRICKY_LINES))
        text = "\n".join(lines) + rng.choice(["", "\n", "\n\n  \n"])
        assert _parsed(text) == _per_line(text)


def test_numbers_parse_to_the_same_values_as_pydantic() -> None:
    rng = random.Random(5)
    numbers = []
    for _ in range(3000):
        digits = "".join(rng.choices("0123456789", k=rng.randint(1, 25)))
        fraction = "".join(rng.choices("0123456789", k=rng.randint(1, 25)))
        exponent = rng.choice(["", f"e{rng.randint(-330, 330)}", f"E+{rng.randint(0, 300)}"])
        numbers.append(f"{rng.choice(['', '-'])}{digits.lstrip('0') or '0'}.{fraction}{exponent}")
    text = "".join(f'{{"id": "n{i}", "metadata": {{"v": {n}}}}}\n' for i, n in enumerate(numbers))
    expected = _per_line(text)
    assert _parsed(text) == expected


def test_plain_files_take_the_fast_path() -> None:
    lines = [json.dumps({"id": f"doc-{i}", "metadata": {"i": i, "f": i / 3}}) for i in range(50)]
    lines += [json.dumps({"id": f"bare-{i}"}) for i in range(50)]
    fast = _plain_records(lines)
    assert fast is not None
    assert fast == _validated_records("\n".join(lines))


def _reference_assemble(
    operations: list[tuple[str, np.ndarray, list[str], list[object]]], dimension: int
) -> tuple[np.ndarray, list[str], list[object]]:
    """The per-document dict walk the reindex used before: id -> (segment, row)."""
    segments: list[np.ndarray] = []
    where: dict[str, tuple[int, int]] = {}
    metadata: dict[str, object] = {}
    for kind, vectors, ids, fields in operations:
        if kind == "add":
            segments.append(vectors)
            for row, (doc_id, value) in enumerate(zip(ids, fields, strict=True)):
                where[doc_id] = (len(segments) - 1, row)
                if value is None:
                    metadata.pop(doc_id, None)
                else:
                    metadata[doc_id] = value
        else:
            for doc_id in ids:
                where.pop(doc_id, None)
                metadata.pop(doc_id, None)
    out = np.empty((len(where), dimension), dtype=np.float32)
    for position, (segment, row) in enumerate(where.values()):
        out[position] = segments[segment][row]
    return out, list(where), [metadata.get(doc_id) for doc_id in where]


@pytest.mark.parametrize("seed", range(30))
def test_documents_assemble_like_applying_batches_one_by_one(seed: int) -> None:
    rng = np.random.default_rng(seed)
    dimension = 3
    operations: list[tuple[str, np.ndarray, list[str], list[object]]] = []
    for _ in range(int(rng.integers(1, 6))):
        count = int(rng.integers(0, 12))
        ids = [f"d{int(i)}" for i in rng.integers(0, 15, size=count)]  # repeats within and across
        if rng.random() < 0.3:
            operations.append(("delete", np.empty((0, dimension), np.float32), ids, []))
            continue
        with_metadata = rng.random() < 0.5
        fields = [
            {"n": int(i)} if with_metadata and rng.random() < 0.7 else None for i in range(count)
        ]
        vectors = rng.standard_normal((count, dimension)).astype(np.float32)
        operations.append(("add", vectors, ids, fields))
    documents = _Documents(dimension)
    for kind, vectors, ids, fields in operations:
        if kind == "add":
            documents.add(vectors, ids, fields)
        else:
            documents.delete(ids)
    vectors, ids, metadata = documents.assemble()
    expected_vectors, expected_ids, expected_metadata = _reference_assemble(operations, dimension)
    assert ids == expected_ids
    assert metadata == expected_metadata
    np.testing.assert_array_equal(vectors.reshape(-1, dimension), expected_vectors)


@pytest.mark.parametrize(
    "metadata",
    [[], [None, None], [{"a": 1}, None, {"t": "é\u2028", "n": [1.5, None]}], [{}]],
)
def test_metadata_lines_are_the_bytes_json_dumps_writes(metadata: list[object]) -> None:
    expected = "".join(json.dumps(m, separators=(",", ":")) + "\n" for m in metadata).encode()
    assert _jsonl_bytes(metadata) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize("metric", list(Metric))
def test_fortran_and_c_ordered_imports_build_identical_versions(
    tmp_path: Path, metric: Metric
) -> None:
    vectors = np.random.default_rng(3).standard_normal((40, 5)).astype(np.float32)
    files = []
    for order in ("C", "F"):
        store = LocalDirectoryStore(tmp_path / order)
        catalog = Catalog(store)
        catalog.create_collection(CollectionSpec(name="items", dimension=5, metric=metric))
        np.save(store.root / "v.npy", np.asarray(vectors, order=order))
        store.put("imports/v.npy", (store.root / "v.npy").read_bytes())
        store.put("imports/r.jsonl", "".join(f'{{"id": "d{i}"}}\n' for i in range(40)).encode())
        catalog.import_files(
            "items", ImportRequest(vectors_key="imports/v.npy", records_key="imports/r.jsonl")
        )
        job = catalog.run_reindex("items", catalog.start_reindex("items", ReindexRequest()).job_id)
        assert job.state is JobState.SUCCEEDED, job.error
        version = store.root / "collections/items/versions" / str(job.version_id)
        files.append({name: (version / name).read_bytes() for name in DATA_FILES})
    assert files[0] == files[1]
