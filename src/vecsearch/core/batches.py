"""Pending batches: the immutable upsert/delete/import records written between versions."""

from typing import Annotated, Literal

from pydantic import Field, TypeAdapter, ValidationError

from vecsearch.core.models import (
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


def parse_import_records(text: str) -> list[ImportRecord]:
    """One JSON object per '\\n'-separated line, blank lines skipped; ValueError names the line.

    Only '\\n' separates lines: str.splitlines() would also split at U+2028 or NEL, which are
    ordinary characters inside JSON strings.
    """
    records = []
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            records.append(ImportRecord.model_validate_json(line))
        except ValidationError as error:
            first = error.errors()[0]
            where = ".".join(str(part) for part in first["loc"])
            raise ValueError(
                f"line {number}: {where + ': ' if where else ''}{first['msg']}"
            ) from None
    return records
