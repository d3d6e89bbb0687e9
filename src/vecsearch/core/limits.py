"""Size limits the core enforces; defaults live here, settings may override them."""

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Limits:
    """Upper bounds on one request's work; exceeding one is PayloadTooLarge."""

    max_documents_per_upsert: int = 1000
    max_ids_per_delete: int = 10_000
    max_metadata_bytes: int = 4096
    max_queries_per_search: int = 100
