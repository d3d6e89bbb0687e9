"""Size limits the core enforces beyond the request models' own bounds (e.g. 100 queries per
search batch lives on SearchRequest); Catalog and Searcher take a Limits, defaults live here."""

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Limits:
    """Upper bounds on one request's work (exceeding one is PayloadTooLarge) and on a job's run."""

    max_documents_per_upsert: int = 1000
    max_ids_per_delete: int = 10_000
    max_metadata_bytes: int = 4096
    # A RUNNING job older than this has lost its worker (Lambda's limit is 900 s, plus a margin).
    stale_job_seconds: int = 960
    # A QUEUED job older than this will never start: Lambda drops an async event older than the
    # worker's maximumEventAge (3600 s in services/admin/serverless.yml), plus a margin.
    lost_job_seconds: int = 3900
