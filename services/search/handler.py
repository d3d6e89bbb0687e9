"""Search API: query a collection's live version, describe it, report health."""

from http import HTTPStatus
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from vecsearch.adapters.http import (
    CollectionName,
    admit,
    deliverable,
    documented,
    install_error_handlers,
    parse_json_body,
)
from vecsearch.core.models import Health, LiveCollection, SearchRequest, SearchResponse
from vecsearch.wiring import searcher

logger = Logger(service="vecsearch-search")
app = APIGatewayHttpResolver(enable_validation=True, json_body_deserializer=parse_json_body)
install_error_handlers(app, logger)


@app.post(
    "/collections/<name>/search",
    description=(
        "Give exactly one of 'vector' (one query) or 'vectors' (a batch of up to 100), each with "
        "the collection's dimension; at most 10,000 hits (queries x k) per search. Approximate "
        "indexes (hnsw, ivf) and metadata filters may return fewer than k hits. A response over "
        "Lambda's 6 MB limit is refused (422 response_too_large)."
    ),
    responses=documented(HTTPStatus.OK, SearchResponse, HTTPStatus.CONFLICT),
)
def search(name: CollectionName, body: SearchRequest) -> SearchResponse:
    """Top-k neighbours for one query vector or a batch of up to 100."""
    return searcher().search(name, body)


@app.get(
    "/collections/<name>", responses=documented(HTTPStatus.OK, LiveCollection, HTTPStatus.CONFLICT)
)
def describe(name: CollectionName) -> LiveCollection:
    """The version this container serves for the collection."""
    return searcher().describe(name)


@app.get("/health", responses=documented(HTTPStatus.OK, Health))
def health() -> Health:
    """Which collections this container has loaded, and whether any newer version failed."""
    return searcher().health()


@app.get("/openapi.json", include_in_schema=False)
def openapi() -> Response[str]:
    """This API's OpenAPI document."""
    return Response(
        status_code=HTTPStatus.OK,
        content_type=content_types.APPLICATION_JSON,
        body=app.get_openapi_json_schema(title="vecsearch search API", version="1"),
    )


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Lambda entry point (HTTP API v2 events)."""
    refused = admit(event, logger)
    return refused or deliverable(event, app.resolve(event, context))
