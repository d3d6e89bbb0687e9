"""Reindex worker: invoked asynchronously with one recorded job, builds and promotes a version."""

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from vecsearch.adapters.jobs import ReindexJob
from vecsearch.core.errors import CollectionNotFound, JobNotFound
from vecsearch.wiring import catalog

logger = Logger(service="vecsearch-worker")


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Run the job; build failures are recorded on the job, not raised."""
    job = ReindexJob.model_validate(event)
    logger.append_keys(collection=job.collection, job_id=job.job_id)
    try:
        status = catalog().run_reindex(job.collection, job.job_id)
    except (JobNotFound, CollectionNotFound) as gone:
        # The collection (with its job records) was deleted before the worker ran: nothing to do,
        # and raising would only send the event to the failure queue.
        logger.warning("job is gone", extra={"code": gone.code, "reason": gone.message})
        return {**job.model_dump(), "state": "failed", "error_code": gone.code}
    logger.info("reindex finished", extra={"state": status.state, "version": status.version_id})
    return status.model_dump(mode="json")
