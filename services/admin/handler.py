"""Admin API: collections, document batches, bulk imports, reindex jobs, versions, rollback."""

from http import HTTPStatus
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.models import (
    APIKey,
    APIKeyIn,
    HTTPBearer,
    SecurityScheme,
)
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel

from vecsearch.adapters.http import (
    ADMIN_ERRORS,
    CollectionName,
    OpaqueId,
    admit,
    deliverable,
    documented,
    install_error_handlers,
    parse_json_body,
)
from vecsearch.core.errors import JobSubmitFailed
from vecsearch.core.models import (
    BatchReceipt,
    CollectionInfo,
    CollectionList,
    CollectionSpec,
    DeleteRequest,
    ImportRequest,
    JobStatus,
    PendingList,
    ReindexRequest,
    RollbackRequest,
    UpsertRequest,
    VersionList,
)
from vecsearch.wiring import catalog, job_runner

logger = Logger(service="vecsearch-admin")


def admin_documented(
    status: int, model: type[BaseModel] | None, *errors: int
) -> dict[int, OpenAPIResponse]:
    """OpenAPI responses of an admin route: every route can also refuse credentials."""
    return documented(status, model, *ADMIN_ERRORS, *errors)


# An absent or empty body means "rebuild with the collection's spec"; any other body must be
# an object (a union with None would let [null, null] through as "no body").
NO_REINDEX_OPTIONS = ReindexRequest()
SECURITY_SCHEMES: dict[str, SecurityScheme] = {
    "bearer": HTTPBearer(description="local runs: the configured VECSEARCH_ADMIN_TOKEN"),
    "sigv4": APIKey(
        name="Authorization",
        in_=APIKeyIn.header,
        description="on AWS: IAM (aws_iam authorizer), requests signed with AWS Signature V4",
    ),
}
app = APIGatewayHttpResolver(enable_validation=True, json_body_deserializer=parse_json_body)
install_error_handlers(app, logger)


@app.post(
    "/collections",
    status_code=HTTPStatus.CREATED,
    responses=admin_documented(HTTPStatus.CREATED, CollectionInfo, HTTPStatus.CONFLICT),
)
def create_collection(body: CollectionSpec) -> CollectionInfo:
    """Create an empty collection."""
    return catalog().create_collection(body)


@app.get("/collections", responses=admin_documented(HTTPStatus.OK, CollectionList))
def list_collections() -> CollectionList:
    """Every collection with its live version and counts."""
    return catalog().list_collections()


@app.get("/collections/<name>", responses=admin_documented(HTTPStatus.OK, CollectionInfo))
def describe_collection(name: CollectionName) -> CollectionInfo:
    """One collection's spec, live version and counts."""
    return catalog().describe(name)


@app.delete(
    "/collections/<name>",
    status_code=HTTPStatus.NO_CONTENT,
    responses=admin_documented(HTTPStatus.NO_CONTENT, None),
)
def delete_collection(name: CollectionName) -> Response[None]:
    """Delete a collection with all its versions."""
    catalog().delete_collection(name)
    return Response(status_code=HTTPStatus.NO_CONTENT, content_type=None, body=None)


@app.post(
    "/collections/<name>/documents",
    status_code=HTTPStatus.ACCEPTED,
    responses=admin_documented(HTTPStatus.ACCEPTED, BatchReceipt),
)
def upsert_documents(name: CollectionName, body: UpsertRequest) -> BatchReceipt:
    """Add or replace documents by id; searchable after the next reindex."""
    return catalog().upsert(name, body)


@app.post(
    "/collections/<name>/documents/delete",
    status_code=HTTPStatus.ACCEPTED,
    responses=admin_documented(HTTPStatus.ACCEPTED, BatchReceipt),
)
def delete_documents(name: CollectionName, body: DeleteRequest) -> BatchReceipt:
    """Delete documents by id; effective after the next reindex."""
    return catalog().delete_documents(name, body)


@app.post(
    "/collections/<name>/imports",
    status_code=HTTPStatus.ACCEPTED,
    responses=admin_documented(HTTPStatus.ACCEPTED, BatchReceipt),
)
def import_files(name: CollectionName, body: ImportRequest) -> BatchReceipt:
    """Bulk-import a .npy matrix plus a JSON-lines file already put under imports/ in the store."""
    return catalog().import_files(name, body)


@app.get("/collections/<name>/pending", responses=admin_documented(HTTPStatus.OK, PendingList))
def list_pending(name: CollectionName) -> PendingList:
    """The batches the next reindex will apply, oldest first; unreadable ones carry a warning."""
    return catalog().list_pending(name)


@app.delete(
    "/collections/<name>/pending/<batch_id>",
    status_code=HTTPStatus.NO_CONTENT,
    responses=admin_documented(HTTPStatus.NO_CONTENT, None),
)
def discard_batch(name: CollectionName, batch_id: OpaqueId) -> Response[None]:
    """Drop a pending batch that can never be applied (a reindex failing names it)."""
    catalog().discard_batch(name, batch_id)
    return Response(status_code=HTTPStatus.NO_CONTENT, content_type=None, body=None)


@app.post(
    "/collections/<name>/reindex",
    status_code=HTTPStatus.ACCEPTED,
    responses=admin_documented(
        HTTPStatus.ACCEPTED, JobStatus, HTTPStatus.CONFLICT, HTTPStatus.SERVICE_UNAVAILABLE
    ),
)
def start_reindex(name: CollectionName, body: ReindexRequest = NO_REINDEX_OPTIONS) -> JobStatus:
    """Record a reindex job and hand it to the worker; poll the job for its outcome."""
    runner = job_runner()
    job = catalog().start_reindex(name, body)
    try:
        runner.submit(name, job.job_id)
    except JobSubmitFailed as error:
        # A job no worker will run must not stay queued (nor hold the collection).
        failed = JobSubmitFailed(f"reindex job {job.job_id!r}: {error.message}")
        catalog().fail_job(name, job.job_id, failed)
        raise failed from error
    return job


@app.get("/collections/<name>/jobs/<job_id>", responses=admin_documented(HTTPStatus.OK, JobStatus))
def job_status(name: CollectionName, job_id: OpaqueId) -> JobStatus:
    """A reindex job's state, stage timings and outcome."""
    return catalog().job(name, job_id)


@app.get("/collections/<name>/versions", responses=admin_documented(HTTPStatus.OK, VersionList))
def list_versions(name: CollectionName) -> VersionList:
    """Every built version, newest first, marking the live one."""
    return catalog().list_versions(name)


@app.post(
    "/collections/<name>/rollback",
    responses=admin_documented(HTTPStatus.OK, CollectionInfo, HTTPStatus.CONFLICT),
)
def rollback(name: CollectionName, body: RollbackRequest) -> CollectionInfo:
    """Make an earlier version live again."""
    return catalog().rollback(name, body.version_id)


@app.get("/openapi.json", include_in_schema=False)
def openapi() -> Response[str]:
    """This API's OpenAPI document."""
    return Response(
        status_code=HTTPStatus.OK,
        content_type=content_types.APPLICATION_JSON,
        body=app.get_openapi_json_schema(
            title="vecsearch admin API",
            version="1",
            security_schemes=SECURITY_SCHEMES,
            security=[{"bearer": []}, {"sigv4": []}],
        ),
    )


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Lambda entry point (HTTP API v2 events); every route needs IAM or the bearer token."""
    refused = admit(event, logger, require_auth=True)
    return refused or deliverable(event, app.resolve(event, context))
