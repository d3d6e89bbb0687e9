"""Pending batches: the immutable upsert/delete/import records written between versions."""

from typing import Annotated, Literal

from pydantic import Field, JsonValue, TypeAdapter

from vecsearch.core.models import MAX_DOCUMENT_ID_LENGTH, DeleteRequest, Document, Strict


class UpsertBatch(Strict):
    kind: Literal["upsert"] = "upsert"
    documents: list[Document]
    generation: str | None = None  # the collection record's generation it was written for


class DeleteBatch(Strict):
    kind: Literal["delete"] = "delete"
    ids: list[str]
    generation: str | None = None

    @classmethod
    def of(cls, request: DeleteRequest, generation: str | None) -> "DeleteBatch":
        """The batch recording a delete request."""
        return cls(ids=request.ids, generation=generation)


class ImportBatch(Strict):
    kind: Literal["import"] = "import"
    vectors_key: str
    records_key: str
    count: int
    generation: str | None = None


PendingBatch = Annotated[UpsertBatch | DeleteBatch | ImportBatch, Field(discriminator="kind")]
PENDING_BATCH: TypeAdapter[UpsertBatch | DeleteBatch | ImportBatch] = TypeAdapter(PendingBatch)


class ImportRecord(Strict):
    """One line of a bulk-import records file: the id and metadata of the matching vector row."""

    id: Annotated[str, Field(min_length=1, max_length=MAX_DOCUMENT_ID_LENGTH)]
    metadata: dict[str, JsonValue] | None = None


IMPORT_RECORDS: TypeAdapter[list[ImportRecord]] = TypeAdapter(list[ImportRecord])


def parse_import_records(text: str) -> list[ImportRecord]:
    """Parse JSON lines (blank lines skipped) in one validation pass; raises pydantic errors."""
    lines = [line for line in text.splitlines() if line.strip()]
    return IMPORT_RECORDS.validate_json("[" + ",".join(lines) + "]")
