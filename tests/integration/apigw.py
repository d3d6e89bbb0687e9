"""Calling the Lambda handlers in-process with real API Gateway HTTP API (v2) events."""

import base64
import importlib.util
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from vecsearch import wiring
from vecsearch.adapters.jobs import ThreadJobRunner

REPO = Path(__file__).resolve().parents[2]
ADMIN_TOKEN = "test-admin-token"


@dataclass
class LambdaContext:
    """The attributes Powertools reads from the Lambda context."""

    function_name: str = "vecsearch-test"
    memory_limit_in_mb: int = 1769
    invoked_function_arn: str = "arn:aws:lambda:eu-west-1:123456789012:function:vecsearch-test"
    aws_request_id: str = "00000000-0000-0000-0000-000000000000"


def load_service_module(service: str, module: str) -> ModuleType:
    """Import services/<service>/<module>.py under a unique name (both services have handler.py)."""
    path = REPO / "services" / service / f"{module}.py"
    spec = importlib.util.spec_from_file_location(f"{service}_{module}", path)
    assert spec is not None
    assert spec.loader is not None
    loaded = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(loaded)
    return loaded


def http_event(
    method: str,
    path: str,
    body: Any = None,
    *,
    raw_body: str | None = None,
    headers: dict[str, str] | None = None,
    base64_body: bool = False,
    already_encoded: bool = False,
    iam: bool = False,
) -> dict[str, Any]:
    """An API Gateway HTTP API (payload format 2.0) event as Lambda receives it.

    base64_body encodes the body as API Gateway does for binary media; already_encoded marks
    raw_body as base64 without encoding it (to send bodies that do not decode).
    """
    text = raw_body if raw_body is not None else (None if body is None else json.dumps(body))
    if text is not None and base64_body:
        text = base64.b64encode(text.encode()).decode()
    request_context: dict[str, Any] = {
        "accountId": "123456789012",
        "apiId": "api",
        "domainName": "api.example.com",
        "http": {
            "method": method,
            "path": path,
            "protocol": "HTTP/1.1",
            "sourceIp": "192.0.2.1",
            "userAgent": "pytest",
        },
        "requestId": "request",
        "routeKey": "$default",
        "stage": "$default",
        "time": "01/Jan/2026:00:00:00 +0000",
        "timeEpoch": 1767225600000,
    }
    if iam:
        request_context["authorizer"] = {
            "iam": {
                "accessKey": "AKIAEXAMPLE",
                "accountId": "123456789012",
                "callerId": "AIDAEXAMPLE",
                "principalOrgId": None,
                "userArn": "arn:aws:iam::123456789012:user/operator",
                "userId": "AIDAEXAMPLE",
            }
        }
    all_headers = {"content-type": "application/json", **(headers or {})}
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": "",
        "headers": all_headers,
        "requestContext": request_context,
        "body": text,
        "isBase64Encoded": base64_body or already_encoded,
    }


@dataclass
class Reply:
    """A handler's HTTP response, decoded."""

    status: int
    body: Any
    headers: dict[str, str]


Call = Callable[..., Reply]


def caller(module: ModuleType, auth_headers: dict[str, str]) -> Call:
    def call(method: str, path: str, body: Any = None, **options: Any) -> Reply:
        headers = {**auth_headers, **options.pop("headers", {})}
        event = http_event(method, path, body, headers=headers, **options)
        response = module.handler(event, LambdaContext())
        text = response.get("body")
        if response.get("isBase64Encoded") and text:
            text = base64.b64decode(text).decode()
        return Reply(
            response["statusCode"], json.loads(text) if text else None, response["headers"]
        )

    return call


def finish_jobs() -> None:
    """Wait for every reindex job the thread runner started."""
    runner = wiring.job_runner()
    assert isinstance(runner, ThreadJobRunner)
    runner.wait()
