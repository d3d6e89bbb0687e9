"""HTTP API v2 <-> core: one place for body admission, admin auth and error mapping."""

import base64
import binascii
import hmac
import json
import re
from collections.abc import Mapping
from functools import cache
from http import HTTPStatus
from typing import Annotated, Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import ResponseBuilder
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2
from pydantic import BaseModel

from vecsearch.core.errors import (
    ConfigurationError,
    Forbidden,
    InvalidJson,
    MethodNotAllowed,
    PayloadTooLarge,
    ResponseTooLarge,
    RouteNotFound,
    Unauthenticated,
    UnsupportedMediaType,
    VecsearchError,
)
from vecsearch.core.keys import COLLECTION_NAME, OPAQUE_ID
from vecsearch.settings import Settings, settings

BEARER_SCHEME = "bearer"
# Lambda returns at most 6 MB (6,291,456 bytes) from a synchronous invoke, counted on the JSON of
# the whole response; past it API Gateway answers a bare 500. Keep a margin under it.
MAX_RESPONSE_BYTES = 6_000_000
HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
METHODS_WITH_BODY = {"POST", "PUT", "PATCH"}

# Path parameters, checked by the resolver's validation (422 naming the parameter)
CollectionName = Annotated[
    str, Path(pattern=COLLECTION_NAME.pattern, description="the collection's name")
]
OpaqueId = Annotated[str, Path(pattern=OPAQUE_ID.pattern, description="a job, version or batch id")]


class ErrorDetail(BaseModel):
    """One field that failed validation."""

    location: str
    message: str


class ErrorInfo(BaseModel):
    """A stable machine-readable code, a human message and, for validation, the fields."""

    code: str
    message: str
    details: list[ErrorDetail] | None = None


class ErrorResponse(BaseModel):
    """The body of every error response."""

    error: ErrorInfo


# Statuses any route can answer: bad JSON, unknown collection or route, body too large, not
# JSON, invalid request, unexpected failure, store unavailable.
EVERY_ROUTE_ERRORS = (400, 404, 413, 415, 422, 500, 503)
ADMIN_ERRORS = (401, 403)


def documented(
    status: int, model: type[BaseModel] | None, *errors: int
) -> dict[int, OpenAPIResponse]:
    """OpenAPI responses of a route: its success, and each error status with our error body."""
    success: OpenAPIResponse = {"description": HTTPStatus(status).phrase}
    if model is not None:
        success["content"] = {content_types.APPLICATION_JSON: {"model": model}}
    responses = {status: success}
    for code in sorted({*EVERY_ROUTE_ERRORS, *errors}):
        responses[code] = {
            "description": HTTPStatus(code).phrase,
            "content": {content_types.APPLICATION_JSON: {"model": ErrorResponse}},
        }
    return responses


def error_body(
    code: str, message: str, details: list[dict[str, str]] | None = None
) -> dict[str, Any]:
    """The JSON every error response carries: a stable code and a human message."""
    error: dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        error["details"] = details
    return {"error": error}


def error_response(error: VecsearchError) -> Response[dict[str, Any]]:
    """A Powertools response for a domain error."""
    return Response(
        status_code=error.status,
        content_type=content_types.APPLICATION_JSON,
        body=error_body(error.code, error.message),
    )


def refusal(event: Mapping[str, Any], error: VecsearchError) -> dict[str, Any]:
    """An HTTP API v2 response for a request refused before routing, built as routed ones are."""
    response = error_response(error)
    if isinstance(error, Unauthenticated):
        response.headers["WWW-Authenticate"] = "Bearer"
    builder = ResponseBuilder[APIGatewayProxyEventV2](response)
    return builder.build(APIGatewayProxyEventV2(dict(event)))


def parse_json_body(text: str | bytes | bytearray) -> Any:
    """The request body as JSON; InvalidJson (400) for anything json.loads cannot hold."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise InvalidJson(
            f"request body is not valid JSON: {error.msg} at line {error.lineno} "
            f"column {error.colno}"
        ) from None
    except ValueError as error:  # Python refuses to parse integers of more than 4300 digits
        raise InvalidJson(f"request body holds a number with too many digits: {error}") from None
    except RecursionError:
        raise InvalidJson("request body nests arrays or objects too deeply") from None


def _location(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in loc)


def _field_errors(error: RequestValidationError) -> list[dict[str, str]]:
    return [
        {"location": _location(tuple(item["loc"])), "message": str(item.get("msg", item["type"]))}
        for item in error.errors()
    ]


def install_error_handlers(app: APIGatewayHttpResolver, logger: Logger) -> None:
    """Map every failure a route can raise to a JSON error response; nothing escapes as a crash."""

    def _domain_error(error: VecsearchError) -> Response[dict[str, Any]]:
        if error.status >= HTTPStatus.INTERNAL_SERVER_ERROR:
            logger.error("request failed", extra={"code": error.code, "reason": error.message})
        return error_response(error)

    def _invalid_request(error: RequestValidationError) -> Response[dict[str, Any]]:
        return Response(
            status_code=HTTPStatus.UNPROCESSABLE_ENTITY,
            content_type=content_types.APPLICATION_JSON,
            body=error_body(
                "validation_error", "request does not match the schema", _field_errors(error)
            ),
        )

    def _unsupported_media(error: RequestUnsupportedContentType) -> Response[dict[str, Any]]:
        return Response(
            status_code=HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
            content_type=content_types.APPLICATION_JSON,
            body=error_body("unsupported_media_type", "send the body as application/json"),
        )

    @cache
    def _routes() -> list[tuple[re.Pattern[str], list[str]]]:
        """Each documented path as a pattern, with its methods (read once, on first miss)."""
        routes = []
        for template, item in (app.get_openapi_schema().paths or {}).items():
            pattern = re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template))
            methods = sorted(
                method.upper()
                for method in item.model_dump(exclude_none=True)
                if method in HTTP_METHODS
            )
            routes.append((re.compile(pattern), methods))
        return routes

    def _no_route(error: NotFoundError) -> Response[dict[str, Any]]:
        event = app.current_event
        allowed = sorted(
            {
                method
                for pattern, methods in _routes()
                if pattern.fullmatch(event.path)
                for method in methods
            }
        )
        if allowed:
            refused = MethodNotAllowed(f"{event.path} does not accept {event.http_method}")
            response = error_response(refused)
            response.headers["Allow"] = ", ".join(allowed)
            return response
        return error_response(RouteNotFound(f"no route for {event.http_method} {event.path}"))

    def _unexpected(error: Exception) -> Response[dict[str, Any]]:
        logger.exception("unexpected error")
        return Response(
            status_code=HTTPStatus.INTERNAL_SERVER_ERROR,
            content_type=content_types.APPLICATION_JSON,
            body=error_body("internal_error", "the request failed unexpectedly; see the logs"),
        )

    app.exception_handler(VecsearchError)(_domain_error)
    app.exception_handler(RequestValidationError)(_invalid_request)
    app.exception_handler(RequestUnsupportedContentType)(_unsupported_media)
    app.not_found(_no_route)
    app.exception_handler(Exception)(_unexpected)


def _check_media_type(event: dict[str, Any]) -> None:
    """415 for a body, or a method that takes one, declared as anything but JSON.

    Powertools would parse form and multipart bodies (even empty ones) into fields, so every
    other declared type is refused. Media types are case-insensitive but Powertools compares them
    as written: a JSON declaration is handed on as lower-case application/json.
    """
    method = ((event.get("requestContext") or {}).get("http") or {}).get("method", "")
    if not event.get("body") and method.upper() not in METHODS_WITH_BODY:
        return
    headers = event.get("headers") or {}
    for name, value in headers.items():
        if name.lower() != "content-type" or not value.strip():
            continue
        media_type, separator, parameters = value.strip().partition(";")
        if media_type.strip().lower() != content_types.APPLICATION_JSON:
            raise UnsupportedMediaType(
                f"request body is declared as {value.strip()!r}: send it as application/json"
            )
        headers[name] = content_types.APPLICATION_JSON + separator + parameters


def _check_body(event: Mapping[str, Any], max_body_bytes: int) -> None:
    body = event.get("body")
    if not body:
        return
    raw = body.encode()
    if event.get("isBase64Encoded"):
        # base64 inflates by 4/3: compare the decoded size, not the transport size
        if len(raw) * 3 // 4 > max_body_bytes + 2:
            raise PayloadTooLarge(f"request body exceeds {max_body_bytes} bytes")
        try:
            raw = base64.b64decode(raw, validate=True)
        except binascii.Error as error:
            raise InvalidJson("request body is marked base64 but does not decode") from error
    if len(raw) > max_body_bytes:
        raise PayloadTooLarge(f"request body exceeds {max_body_bytes} bytes")
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InvalidJson("request body is not UTF-8 text") from error


def _authorize(event: Mapping[str, Any], config: Settings) -> None:
    if config.admin_token is not None:
        # With a token configured (local runs) the token is the credential: serverless-offline lets
        # any caller forge requestContext.authorizer through its override header.
        headers = {name.lower(): value for name, value in (event.get("headers") or {}).items()}
        scheme, _, token = (headers.get("authorization") or "").strip().partition(" ")
        # Authentication schemes are case-insensitive (RFC 9110 11.1)
        if scheme.lower() != BEARER_SCHEME or not token.strip():
            raise Unauthenticated("send 'Authorization: Bearer <token>'")
        if not hmac.compare_digest(  # surrogatepass: a lone surrogate is a wrong token, not a crash
            token.strip().encode("utf-8", "surrogatepass"),
            config.admin_token.get_secret_value().encode("utf-8", "surrogatepass"),
        ):
            raise Forbidden("the bearer token is not valid")
        return
    if config.is_offline:
        raise ConfigurationError(
            "running under serverless-offline (IS_OFFLINE=true) the admin API needs "
            "VECSEARCH_ADMIN_TOKEN: the emulated IAM authorizer context can be forged by any caller"
        )
    authorizer = (event.get("requestContext") or {}).get("authorizer") or {}
    if not authorizer.get("iam"):
        raise Unauthenticated("admin routes require IAM (SigV4) authorization")


def admit(
    event: dict[str, Any], logger: Logger, *, require_auth: bool = False
) -> dict[str, Any] | None:
    """Check a request before routing; return a refusal response, or None to let it through.

    Runs ahead of Powertools routing so an unauthenticated caller learns nothing (not even whether
    its body would validate) and so oversized or undecodable bodies never reach the JSON parser.
    A JSON Content-Type is rewritten in the event to the lower-case form Powertools matches.
    """
    try:
        config = settings()
        if require_auth:
            _authorize(event, config)
        _check_media_type(event)
        _check_body(event, config.max_body_bytes)
    except VecsearchError as error:
        if error.status >= HTTPStatus.INTERNAL_SERVER_ERROR:
            logger.error("request refused", extra={"code": error.code, "reason": error.message})
        return refusal(event, error)
    return None


def deliverable(event: Mapping[str, Any], response: dict[str, Any]) -> dict[str, Any]:
    """The response, or a 422 response_too_large when Lambda could not return it."""
    size = len(json.dumps(response, separators=(",", ":")).encode())
    if size <= MAX_RESPONSE_BYTES:
        return response
    return refusal(
        event,
        ResponseTooLarge(
            f"the response would be {size} bytes, over the {MAX_RESPONSE_BYTES} a Lambda function "
            "can return: ask for less (a search: lower k, fewer queries or include_metadata off)"
        ),
    )
