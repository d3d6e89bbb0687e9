"""The search API in-process: real HTTP API v2 events against a temporary local store."""

import base64
import json
import logging
from pathlib import Path

import pytest
from apigw import ADMIN_TOKEN, Call, caller, finish_jobs, load_service_module

from vecsearch import wiring
from vecsearch.adapters import http

DOCUMENTS = [
    {"id": "north", "vector": [0.0, 1.0, 0.0], "metadata": {"kind": "direction"}},
    {"id": "east", "vector": [1.0, 0.0, 0.0], "metadata": {"kind": "direction"}},
    {"id": "north-east", "vector": [0.7, 0.7, 0.0], "metadata": {"kind": "between"}},
    {"id": "up", "vector": [0.0, 0.0, 1.0], "metadata": {"kind": "vertical"}},
]


@pytest.fixture
def compass(admin: Call, search: Call) -> Call:
    """A cosine collection of four documents, indexed and live; returns the search caller."""
    assert admin("POST", "/collections", {"name": "compass", "dimension": 3}).status == 201
    assert admin("POST", "/collections/compass/documents", {"documents": DOCUMENTS}).status == 202
    assert admin("POST", "/collections/compass/reindex", {}).status == 202
    finish_jobs()
    return search


def test_single_query_returns_neighbours_by_cosine_similarity(compass: Call) -> None:
    reply = compass("POST", "/collections/compass/search", {"vector": [0.1, 1.0, 0.0], "k": 2})
    assert reply.status == 200
    hits = reply.body["results"][0]["hits"]
    assert [hit["id"] for hit in hits] == ["north", "north-east"]
    assert hits[0]["score"] == pytest.approx(1.0 / (1.01**0.5), abs=1e-5)


def test_batch_returns_one_result_per_query_in_order(compass: Call) -> None:
    queries = [[0.0, 0.0, 2.0], [3.0, 0.1, 0.0]]
    reply = compass("POST", "/collections/compass/search", {"vectors": queries, "k": 1})
    assert reply.status == 200
    assert [result["hits"][0]["id"] for result in reply.body["results"]] == ["up", "east"]


def test_k_beyond_the_collection_returns_only_real_documents(compass: Call) -> None:
    reply = compass("POST", "/collections/compass/search", {"vector": [1.0, 1.0, 1.0], "k": 50})
    hits = reply.body["results"][0]["hits"]
    assert sorted(hit["id"] for hit in hits) == sorted(doc["id"] for doc in DOCUMENTS)
    assert all(-1.0 <= hit["score"] <= 1.0 for hit in hits)


def test_metadata_filter_and_metadata_in_hits(compass: Call) -> None:
    body = {"vector": [0.0, 1.0, 0.0], "filter": {"kind": "between"}, "include_metadata": True}
    hits = compass("POST", "/collections/compass/search", body).body["results"][0]["hits"]
    assert hits == [
        {
            "id": "north-east",
            "score": pytest.approx(0.7071, abs=1e-3),
            "metadata": {"kind": "between"},
        }
    ]


def test_base64_encoded_body_is_decoded(compass: Call) -> None:
    body = {"vector": [1.0, 0.0, 0.0], "k": 1}
    plain = compass("POST", "/collections/compass/search", body)
    encoded = compass("POST", "/collections/compass/search", body, base64_body=True)
    assert encoded.status == 200
    assert encoded.body == plain.body


def test_wrong_vector_length_is_422_naming_the_dimension(compass: Call) -> None:
    reply = compass("POST", "/collections/compass/search", {"vector": [1.0, 0.0]})
    assert reply.status == 422
    assert reply.body["error"]["code"] == "dimension_mismatch"
    assert "3" in reply.body["error"]["message"]


def test_batch_of_the_wrong_length_is_422_naming_the_dimension(compass: Call) -> None:
    body = {"vectors": [[1.0, 0.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0]]}
    reply = compass("POST", "/collections/compass/search", body)
    assert reply.status == 422
    assert reply.body["error"]["code"] == "dimension_mismatch"
    assert "3" in reply.body["error"]["message"]


def test_ragged_batch_is_422(compass: Call) -> None:
    body = {"vectors": [[1.0, 0.0, 0.0], [1.0, 0.0, 0.0, 0.0]]}
    reply = compass("POST", "/collections/compass/search", body)
    assert reply.status == 422
    assert reply.body["error"]["code"] == "dimension_mismatch"
    assert "query 1 has 4 components" in reply.body["error"]["message"]
    assert "dimension 3" in reply.body["error"]["message"]


@pytest.mark.parametrize(
    ("raw_vector", "problem"),
    [
        ("[1.0, NaN, 0.0]", "component 1"),
        ("[Infinity, 0.0, 0.0]", "component 0"),
        ("[1.0, 0.0, -Infinity]", "component 2"),
        ('[1.0, "0.5", 0.0]', "component 1"),
        ("[1.0, true, 0.0]", "component 1"),
        ("[1.0, null, 0.0]", "component 1"),
    ],
)
def test_non_finite_or_non_numeric_components_are_422(
    compass: Call, raw_vector: str, problem: str
) -> None:
    reply = compass("POST", "/collections/compass/search", raw_body=f'{{"vector": {raw_vector}}}')
    assert reply.status == 422
    assert reply.body["error"]["code"] == "validation_error"
    assert any(problem in detail["message"] for detail in reply.body["error"]["details"])


def test_non_finite_component_inside_a_batch_is_422(compass: Call) -> None:
    raw = '{"vectors": [[1.0, 0.0, 0.0], [0.0, NaN, 0.0]]}'
    reply = compass("POST", "/collections/compass/search", raw_body=raw)
    assert reply.status == 422
    assert reply.body["error"]["details"][0]["location"].startswith("body.vectors")


@pytest.mark.parametrize(
    ("body", "location"),
    [
        ({"vectors": []}, "body.vectors"),
        ({"vectors": [[1.0, 0.0, 0.0]] * 101}, "body.vectors"),
        ({"vector": [1.0, 0.0, 0.0], "k": 0}, "body.k"),
        ({"vector": [1.0, 0.0, 0.0], "vectors": [[1.0, 0.0, 0.0]]}, "body"),
        ({}, "body"),
        ({"vector": [1.0, 0.0, 0.0], "surprise": 1}, "body.surprise"),
        ([1.0, 0.0, 0.0], "body"),
        ({"vector": [1.0, 0.0, 0.0], "k": True}, "body.k"),
        ({"vector": [1.0, 0.0, 0.0], "k": "5"}, "body.k"),
        ({"vector": [1.0, 0.0, 0.0], "threshold": "0.5"}, "body.threshold"),
    ],
)
def test_malformed_requests_are_422_with_the_location(
    compass: Call, body: object, location: str
) -> None:
    reply = compass("POST", "/collections/compass/search", body)
    assert reply.status == 422
    assert reply.body["error"]["code"] == "validation_error"
    assert reply.body["error"]["details"][0]["location"] == location


@pytest.mark.parametrize("raw", ['{"vector": [1.0, 0.0', "vector=1", "{'vector': [1]}"])
def test_invalid_json_is_400(compass: Call, raw: str) -> None:
    reply = compass("POST", "/collections/compass/search", raw_body=raw)
    assert reply.status == 400
    assert reply.body["error"]["code"] == "invalid_json"


HUGE_NUMBER = "9" * 5000  # beyond Python's 4300-digit int parsing limit


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ('{"vector": [1, 0, 0], "k": ' + HUGE_NUMBER + "}", "digits"),
        ('{"vector": [' + HUGE_NUMBER + ", 0, 0]}", "digits"),
        ("[" * 100_000, "nest"),
        ('{"vector": [1, 0, 0], "filter": {"a": ' + "[" * 100_000 + "}}", "nest"),
    ],
)
def test_bodies_the_json_parser_cannot_hold_are_400_not_500(
    compass: Call, admin: Call, raw: str, problem: str
) -> None:
    for call, path in [(compass, "/collections/compass/search"), (admin, "/collections")]:
        reply = call("POST", path, raw_body=raw)
        assert reply.status == 400, reply.body
        assert reply.body["error"]["code"] == "invalid_json"
        assert problem in reply.body["error"]["message"]


def test_deep_but_parseable_filter_is_a_validation_error_not_a_crash(compass: Call) -> None:
    nested = "[" * 900 + "]" * 900  # parses; json.loads gives up near 1000 levels
    raw = '{"vector": [1, 0, 0], "filter": {"a": ' + nested + "}}"
    reply = compass("POST", "/collections/compass/search", raw_body=raw)
    assert reply.status == 422
    assert reply.body["error"]["code"] == "validation_error"


@pytest.mark.parametrize("raw", ["not base64!", base64.b64encode(b"\xff\xfe{}").decode()])
def test_body_marked_base64_that_does_not_decode_to_text_is_400(compass: Call, raw: str) -> None:
    reply = compass("POST", "/collections/compass/search", raw_body=raw, already_encoded=True)
    assert reply.status == 400
    assert reply.body["error"]["code"] == "invalid_json"


def test_more_hits_than_one_search_returns_is_422_naming_the_bound(compass: Call) -> None:
    # 11 queries x k=1000 = 11,000 hits, over the 10,000 a search may return
    body = {"vectors": [[1.0, 0.0, 0.0]] * 11, "k": 1000}
    reply = compass("POST", "/collections/compass/search", body)
    assert reply.status == 422
    assert reply.body["error"]["code"] == "validation_error"
    assert "11000 hits" in reply.body["error"]["details"][0]["message"]
    body["vectors"] = body["vectors"][:10]
    assert compass("POST", "/collections/compass/search", body).status == 200


def test_response_lambda_could_not_return_is_422_response_too_large(
    compass: Call, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a response limit below what a search with metadata answers
    monkeypatch.setattr(http, "MAX_RESPONSE_BYTES", 600)
    body = {"vectors": [[1.0, 0.0, 0.0]] * 3, "k": 4, "include_metadata": True}
    full = compass("POST", "/collections/compass/search", body)
    # then it is refused naming the size and what to change, and a smaller answer still works
    assert full.status == 422
    assert full.body["error"]["code"] == "response_too_large"
    assert "lower k" in full.body["error"]["message"]
    small = compass("POST", "/collections/compass/search", {"vector": [1.0, 0.0, 0.0], "k": 1})
    assert small.status == 200
    assert small.body["results"][0]["hits"][0]["id"] == "east"


def test_body_over_the_byte_limit_is_413(compass: Call, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VECSEARCH_MAX_BODY_BYTES", "2048")
    wiring.reset()
    body = {"vectors": [[0.123456789, 0.0, 0.0]] * 100}
    assert len(json.dumps(body)) > 2048
    reply = compass("POST", "/collections/compass/search", body)
    assert reply.status == 413
    assert reply.body["error"]["code"] == "payload_too_large"
    assert compass("POST", "/collections/compass/search", body, base64_body=True).status == 413


def test_unknown_collection_is_404(compass: Call) -> None:
    reply = compass("POST", "/collections/atlas/search", {"vector": [1.0, 0.0, 0.0]})
    assert reply.status == 404
    assert reply.body["error"]["code"] == "collection_not_found"
    assert compass("GET", "/collections/atlas").status == 404


def test_invalid_collection_name_is_422(compass: Call) -> None:
    reply = compass("POST", "/collections/Not..Valid/search", {"vector": [1.0, 0.0, 0.0]})
    assert reply.status == 422
    assert reply.body["error"]["details"][0]["location"] == "path.name"


def test_collection_without_a_live_version_is_409(admin: Call, search: Call) -> None:
    admin("POST", "/collections", {"name": "empty", "dimension": 3})
    reply = search("POST", "/collections/empty/search", {"vector": [1.0, 0.0, 0.0]})
    assert reply.status == 409
    assert reply.body["error"]["code"] == "no_live_version"


def test_unknown_route_is_404_json(search: Call) -> None:
    reply = search("GET", "/collections/compass/neighbours")
    assert reply.status == 404
    assert reply.body["error"]["code"] == "route_not_found"


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [("PUT", "/health", "GET"), ("GET", "/collections/compass/search", "POST")],
)
def test_a_known_path_with_the_wrong_method_is_405_naming_the_allowed_ones(
    search: Call, method: str, path: str, allowed: str
) -> None:
    reply = search(method, path)
    assert reply.status == 405
    assert reply.body["error"]["code"] == "method_not_allowed"
    assert reply.headers["Allow"] == allowed


def test_describe_and_health_report_the_live_version(compass: Call) -> None:
    described = compass("GET", "/collections/compass")
    assert described.status == 200
    assert (described.body["count"], described.body["dimension"]) == (4, 3)
    health = compass("GET", "/health")
    assert health.status == 200
    assert health.body["status"] == "ok"
    assert [live["version_id"] for live in health.body["collections"]] == [
        described.body["version_id"]
    ]


def test_openapi_document_lists_the_search_routes(search: Call) -> None:
    reply = search("GET", "/openapi.json")
    assert reply.status == 200
    assert set(reply.body["paths"]) == {
        "/collections/{name}/search",
        "/collections/{name}",
        "/health",
    }
    assert "SearchRequest" in reply.body["components"]["schemas"]
    search_op = reply.body["paths"]["/collections/{name}/search"]["post"]
    assert "exactly one of" in search_op["description"]
    assert "fewer than k" in search_op["description"]
    for path, item in reply.body["paths"].items():
        for method, operation in item.items():
            for status in ("400", "404", "413", "415", "422", "500"):
                schema = operation["responses"][status]["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/ErrorResponse"}, (method, path)


def test_a_json_string_body_is_422_not_400(compass: Call) -> None:
    reply = compass("POST", "/collections/compass/search", "AAA")
    assert reply.status == 422
    assert reply.body["error"]["code"] == "validation_error"


class KeptRecords(logging.Handler):
    """Keeps the log records it receives."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def test_unexpected_failure_is_500_json_without_internals(
    compass: Call, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken_search(*_: object) -> None:
        raise RuntimeError("disk on fire at /secret/path")

    monkeypatch.setattr(wiring.searcher(), "search", broken_search)
    kept = KeptRecords()
    service_logger = logging.getLogger("vecsearch-search")  # the Powertools Logger's own logger
    service_logger.addHandler(kept)
    try:
        reply = compass("POST", "/collections/compass/search", {"vector": [1.0, 0.0, 0.0]})
    finally:
        service_logger.removeHandler(kept)
    assert reply.status == 500
    assert reply.body == {
        "error": {
            "code": "internal_error",
            "message": "the request failed unexpectedly; see the logs",
        }
    }
    # logged with the traceback for the operator, never returned to the caller
    assert any(
        record.exc_info and "disk on fire" in str(record.exc_info[1]) for record in kept.records
    )


@pytest.mark.parametrize(
    "url", [None, "s3://", "s3://Bad_Bucket!/p", "ftp://h/x", "file://relative", "file:///proc/vs"]
)
@pytest.mark.parametrize("service", ["search", "admin"])
def test_a_missing_or_unusable_store_url_is_a_500_configuration_error(
    store_dir: Path, monkeypatch: pytest.MonkeyPatch, service: str, url: str | None
) -> None:
    if url is None:
        monkeypatch.delenv("VECSEARCH_STORE_URL")
    else:
        monkeypatch.setenv("VECSEARCH_STORE_URL", url)
    wiring.reset()
    call = caller(
        load_service_module(service, "handler"), {"authorization": f"Bearer {ADMIN_TOKEN}"}
    )
    reply = call("GET", "/collections" if service == "admin" else "/health")
    assert reply.status == 500
    assert reply.body["error"]["code"] == "configuration_error"
    assert "VECSEARCH_STORE_URL" in reply.body["error"]["message"]


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/xml",
        "application/jsonp",
        "application/json-seq",
    ],
)
def test_a_body_declared_as_anything_but_json_is_415(compass: Call, content_type: str) -> None:
    reply = compass(
        "POST",
        "/collections/compass/search",
        {"vector": [1.0, 0.0, 0.0]},
        headers={"content-type": content_type},
    )
    assert (reply.status, reply.body["error"]["code"]) == (415, "unsupported_media_type")


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json; charset=utf-8",
        "application/json",
        "Application/JSON",
        "APPLICATION/JSON;x",
    ],
)
def test_json_in_any_case_or_with_parameters_is_json(compass: Call, content_type: str) -> None:
    reply = compass(
        "POST",
        "/collections/compass/search",
        {"vector": [1.0, 0.0, 0.0]},
        headers={"content-type": content_type},
    )
    assert reply.status == 200
