"""The admin API in-process: real HTTP API v2 events, a temporary local store, S3 in moto."""

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import numpy as np
import pytest
from apigw import (
    ADMIN_TOKEN,
    Call,
    LambdaContext,
    caller,
    finish_jobs,
    http_event,
    load_service_module,
)
from moto import mock_aws

from vecsearch import wiring
from vecsearch.adapters.storage import store_from_url
from vecsearch.core.models import ReindexRequest

SPEC = {"name": "shapes", "dimension": 2, "metric": "cosine"}


def docs(*pairs: tuple[str, list[float]]) -> dict[str, object]:
    """An upsert body from (id, vector) pairs."""
    return {"documents": [{"id": doc_id, "vector": vector} for doc_id, vector in pairs]}


def reindex(admin: Call, name: str = "shapes", body: object = None) -> dict[str, object]:
    """Start a reindex job, let the thread runner finish it, return the job's final record."""
    started = admin("POST", f"/collections/{name}/reindex", body)
    assert started.status == 202
    assert started.body["state"] == "queued"
    finish_jobs()
    job = admin("GET", f"/collections/{name}/jobs/{started.body['job_id']}")
    assert job.status == 200
    return dict(job.body)


def nearest(search: Call, vector: list[float], k: int = 10, name: str = "shapes") -> list[str]:
    """Ids of the nearest documents, best first."""
    reply = search("POST", f"/collections/{name}/search", {"vector": vector, "k": k})
    assert reply.status == 200
    return [hit["id"] for hit in reply.body["results"][0]["hits"]]


def test_create_describe_list_delete(admin: Call) -> None:
    created = admin("POST", "/collections", SPEC)
    assert created.status == 201
    assert created.body["spec"]["name"] == "shapes"
    assert created.body["live_version"] is None
    assert admin("GET", "/collections/shapes").body["spec"]["dimension"] == 2
    listed = admin("GET", "/collections").body["collections"]
    assert [info["spec"]["name"] for info in listed] == ["shapes"]
    deleted = admin("DELETE", "/collections/shapes")
    assert deleted.status == 204
    assert admin("GET", "/collections/shapes").status == 404


def test_pending_batches_are_listed_and_discarded(admin: Call) -> None:
    admin("POST", "/collections", SPEC)
    first = admin("POST", "/collections/shapes/documents", docs(("a", [1.0, 0.0]))).body
    second = admin("POST", "/collections/shapes/documents/delete", {"ids": ["a", "b"]}).body
    listed = admin("GET", "/collections/shapes/pending")
    assert listed.status == 200
    assert [(b["batch_id"], b["kind"], b["count"]) for b in listed.body["batches"]] == [
        (first["batch_id"], "upsert", 1),
        (second["batch_id"], "delete", 2),
    ]
    assert all(b["created_at"] for b in listed.body["batches"])
    discarded = admin("DELETE", f"/collections/shapes/pending/{first['batch_id']}")
    assert (discarded.status, discarded.body) == (204, None)
    remaining = admin("GET", "/collections/shapes/pending").body["batches"]
    assert [b["batch_id"] for b in remaining] == [second["batch_id"]]
    again = admin("DELETE", f"/collections/shapes/pending/{first['batch_id']}")
    assert (again.status, again.body["error"]["code"]) == (404, "batch_not_found")


def test_pending_routes_of_an_unknown_collection_are_404(admin: Call) -> None:
    for method, path in (
        ("GET", "/collections/nothing/pending"),
        ("DELETE", "/collections/nothing/pending/20000101T000000000000Z-0000beef"),
    ):
        reply = admin(method, path)
        assert (reply.status, reply.body["error"]["code"]) == (404, "collection_not_found")


def test_a_malformed_batch_id_is_422(admin: Call) -> None:
    admin("POST", "/collections", SPEC)
    assert admin("DELETE", "/collections/shapes/pending/.hidden").status == 422


@pytest.mark.parametrize(
    "spec",
    [{**SPEC, "dimension": True}, {**SPEC, "dimension": "2"}],
)
def test_a_dimension_that_is_not_a_json_integer_is_422(admin: Call, spec: object) -> None:
    reply = admin("POST", "/collections", spec)
    assert reply.status == 422
    assert reply.body["error"]["details"][0]["location"] == "body.dimension"


def test_an_admin_body_declared_as_form_data_is_415_not_parsed(admin: Call) -> None:
    reply = admin(
        "POST",
        "/collections",
        raw_body="name=shapes&dimension=2",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert (reply.status, reply.body["error"]["code"]) == (415, "unsupported_media_type")
    assert admin("GET", "/collections/shapes").status == 404


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded"])
def test_a_bodyless_reindex_declared_as_anything_but_json_is_415(
    admin: Call, content_type: str
) -> None:
    admin("POST", "/collections", SPEC)
    reply = admin("POST", "/collections/shapes/reindex", headers={"content-type": content_type})
    assert (reply.status, reply.body["error"]["code"]) == (415, "unsupported_media_type")


def test_a_corrupt_collection_record_is_a_500_stored_data_corrupt(
    admin: Call, store_dir: Path
) -> None:
    admin("POST", "/collections", SPEC)
    (store_dir / "collections/shapes/spec.json").write_text("{garbage")
    reply = admin("GET", "/collections/shapes")
    assert (reply.status, reply.body["error"]["code"]) == (500, "stored_data_corrupt")
    listed = admin("GET", "/collections")
    assert listed.status == 200
    assert [entry["name"] for entry in listed.body["unreadable"]] == ["shapes"]
    # the way out: delete it and create it again
    assert admin("DELETE", "/collections/shapes").status == 204
    assert admin("POST", "/collections", SPEC).status == 201


def test_creating_an_existing_collection_is_409(admin: Call) -> None:
    admin("POST", "/collections", SPEC)
    reply = admin("POST", "/collections", SPEC)
    assert reply.status == 409
    assert reply.body["error"]["code"] == "collection_exists"


@pytest.mark.parametrize(
    ("spec", "location"),
    [
        ({"name": "Bad Name", "dimension": 2}, "body.name"),
        ({"name": "ok", "dimension": 0}, "body.dimension"),
        ({"name": "ok", "dimension": 2, "metric": "hamming"}, "body.metric"),
        ({"name": "ok", "dimension": 2, "index": {"kind": "hnsw", "m": 1}}, "body.index.hnsw.m"),
    ],
)
def test_invalid_collection_spec_is_422(admin: Call, spec: object, location: str) -> None:
    reply = admin("POST", "/collections", spec)
    assert reply.status == 422
    assert reply.body["error"]["details"][0]["location"] == location


def test_upsert_delete_reindex_gives_the_right_counts_and_results(
    admin: Call, search: Call
) -> None:
    admin("POST", "/collections", SPEC)
    admin(
        "POST", "/collections/shapes/documents", docs(("a", [1, 0]), ("b", [0, 1]), ("c", [1, 1]))
    )
    first = reindex(admin)
    assert (first["state"], first["count"]) == ("succeeded", 3)
    assert admin("POST", "/collections/shapes/documents/delete", {"ids": ["a"]}).status == 202
    replaced = admin("POST", "/collections/shapes/documents", docs(("b", [1, 0.1])))
    assert replaced.body == {
        "collection": "shapes",
        "batch_id": replaced.body["batch_id"],
        "kind": "upsert",
        "count": 1,
    }
    assert admin("GET", "/collections/shapes").body["pending_batches"] == 2
    second = reindex(admin)
    assert (second["state"], second["count"]) == ("succeeded", 2)
    assert admin("GET", "/collections/shapes").body["count"] == 2
    assert nearest(search, [1, 0]) == ["b", "c"]


def test_reindex_can_change_the_index_spec(admin: Call) -> None:
    admin("POST", "/collections", SPEC)
    admin("POST", "/collections/shapes/documents", docs(("a", [1, 0]), ("b", [0, 1])))
    hnsw = {"kind": "hnsw", "m": 8, "ef_construction": 16, "ef_search": 16}
    assert reindex(admin, body={"index": hnsw})["state"] == "succeeded"
    assert admin("GET", "/collections/shapes").body["spec"]["index"] == hnsw


def test_rollback_serves_the_previous_version(admin: Call, search: Call) -> None:
    admin("POST", "/collections", SPEC)
    admin("POST", "/collections/shapes/documents", docs(("a", [1, 0])))
    first = reindex(admin)
    admin("POST", "/collections/shapes/documents", docs(("b", [1, 0.01])))
    reindex(admin)
    assert nearest(search, [1, 0]) == ["a", "b"]
    versions = admin("GET", "/collections/shapes/versions").body
    assert len(versions["versions"]) == 2
    rolled = admin("POST", "/collections/shapes/rollback", {"version_id": first["version_id"]})
    assert rolled.status == 200
    assert rolled.body["live_version"] == first["version_id"]
    assert nearest(search, [1, 0]) == ["a"]
    assert admin("GET", "/collections/shapes/versions").body["current"] == first["version_id"]


def test_rollback_to_an_unknown_version_is_404(admin: Call) -> None:
    admin("POST", "/collections", SPEC)
    reply = admin("POST", "/collections/shapes/rollback", {"version_id": "no-such-version"})
    assert reply.status == 404
    assert reply.body["error"]["code"] == "version_not_found"


def test_unknown_job_is_404_and_malformed_job_id_is_422(admin: Call) -> None:
    admin("POST", "/collections", SPEC)
    assert admin("GET", "/collections/shapes/jobs/nope").body["error"]["code"] == "job_not_found"
    assert admin("GET", "/collections/shapes/jobs/..%2Fspec").status == 422


def test_reindex_without_a_body_uses_the_collection_spec(admin: Call) -> None:
    admin("POST", "/collections", SPEC)
    admin("POST", "/collections/shapes/documents", docs(("a", [1, 0])))
    job = reindex(admin)
    assert (job["state"], job["count"]) == ("succeeded", 1)


def test_a_reindex_while_another_is_queued_is_409_naming_it(admin: Call) -> None:
    admin("POST", "/collections", SPEC)
    queued = wiring.catalog().start_reindex("shapes", ReindexRequest())
    reply = admin("POST", "/collections/shapes/reindex", {"index": {"kind": "hnsw"}})
    assert reply.status == 409
    assert reply.body["error"]["code"] == "reindex_in_progress"
    assert queued.job_id in reply.body["error"]["message"]


def test_upsert_with_the_wrong_dimension_is_422(admin: Call) -> None:
    admin("POST", "/collections", SPEC)
    reply = admin("POST", "/collections/shapes/documents", docs(("a", [1, 0, 0])))
    assert reply.status == 422
    assert reply.body["error"]["code"] == "dimension_mismatch"
    assert "2" in reply.body["error"]["message"]


def test_upsert_with_non_finite_component_is_422(admin: Call) -> None:
    admin("POST", "/collections", SPEC)
    raw = '{"documents": [{"id": "a", "vector": [1.0, NaN]}]}'
    reply = admin("POST", "/collections/shapes/documents", raw_body=raw)
    assert reply.status == 422
    assert reply.body["error"]["details"][0]["location"] == "body.documents.0.vector"


@pytest.mark.parametrize(
    "metadata",
    ['{"t": "\\udc00"}', '{"\\ud83d": "t"}', '{"a": ' * 200 + "1" + "}" * 200],
    ids=["surrogate value", "surrogate key", "200 levels deep"],
)
def test_metadata_that_could_not_be_stored_and_read_back_is_422(
    admin: Call, search: Call, metadata: str
) -> None:
    admin("POST", "/collections", SPEC)
    admin("POST", "/collections/shapes/documents", docs(("a", [1.0, 0.0])))
    raw = '{"documents": [{"id": "b", "vector": [0.0, 1.0], "metadata": ' + metadata + "}]}"
    reply = admin("POST", "/collections/shapes/documents", raw_body=raw)
    assert (reply.status, reply.body["error"]["code"]) == (422, "validation_error")
    assert reply.body["error"]["details"][0]["location"] == "body.documents.0.metadata"
    # nothing was stored: the next reindex applies the good batch only
    assert reindex(admin)["state"] == "succeeded"
    assert nearest(search, [0.0, 1.0]) == ["a"]


def test_oversized_upsert_batch_is_413(admin: Call) -> None:
    admin("POST", "/collections", SPEC)
    body = docs(*((f"d{i}", [1.0, float(i)]) for i in range(1001)))
    reply = admin("POST", "/collections/shapes/documents", body)
    assert reply.status == 413
    assert reply.body["error"]["code"] == "payload_too_large"


def test_upsert_to_unknown_collection_is_404(admin: Call) -> None:
    reply = admin("POST", "/collections/ghost/documents", docs(("a", [1, 0])))
    assert reply.status == 404
    assert reply.body["error"]["code"] == "collection_not_found"


def test_bulk_import_from_files_in_the_store(admin: Call, search: Call, store_dir: Path) -> None:
    store = store_from_url(f"file://{store_dir}")
    vectors = np.array([[1, 0], [0, 1], [0.6, 0.8]], dtype=np.float32)
    buffer = io.BytesIO()
    np.save(buffer, vectors)
    store.put("imports/batch/vectors.npy", buffer.getvalue())
    records = [{"id": "x"}, {"id": "y"}, {"id": "z", "metadata": {"note": "between"}}]
    store.put("imports/batch/records.jsonl", "\n".join(map(json.dumps, records)).encode())
    admin("POST", "/collections", SPEC)
    body = {
        "vectors_key": "imports/batch/vectors.npy",
        "records_key": "imports/batch/records.jsonl",
    }
    receipt = admin("POST", "/collections/shapes/imports", body)
    assert receipt.status == 202
    assert (receipt.body["kind"], receipt.body["count"]) == ("import", 3)
    assert reindex(admin)["count"] == 3
    assert nearest(search, [0.5, 1], k=1) == ["z"]


def test_import_that_disagrees_with_the_collection_is_422(admin: Call, store_dir: Path) -> None:
    store = store_from_url(f"file://{store_dir}")
    buffer = io.BytesIO()
    np.save(buffer, np.zeros((2, 3), dtype=np.float32))
    store.put("imports/wrong/vectors.npy", buffer.getvalue())
    store.put("imports/wrong/records.jsonl", b'{"id": "a"}\n{"id": "b"}\n')
    admin("POST", "/collections", SPEC)
    body = {
        "vectors_key": "imports/wrong/vectors.npy",
        "records_key": "imports/wrong/records.jsonl",
    }
    reply = admin("POST", "/collections/shapes/imports", body)
    assert reply.status == 422
    assert reply.body["error"]["code"] == "import_source_invalid"
    outside = {"vectors_key": "collections/shapes/spec.json", "records_key": "imports/x.jsonl"}
    assert admin("POST", "/collections/shapes/imports", outside).status == 422


# authentication


def test_missing_credentials_are_401(anonymous_admin: Call) -> None:
    for method, path in [("GET", "/collections"), ("POST", "/collections"), ("GET", "/nowhere")]:
        reply = anonymous_admin(method, path, SPEC if method == "POST" else None)
        assert reply.status == 401
        assert reply.body["error"]["code"] == "unauthenticated"
        assert reply.headers["WWW-Authenticate"] == "Bearer"


def test_unauthenticatedcallers_learn_nothing_about_the_body(anonymous_admin: Call) -> None:
    reply = anonymous_admin("POST", "/collections", raw_body="{not json")
    assert reply.status == 401


@pytest.mark.parametrize(
    "authorization", ["Bearer wrong-token", f"bearer {ADMIN_TOKEN}x", "Bearer \ud800"]
)
def test_wrong_credentials_are_403(anonymous_admin: Call, authorization: str) -> None:
    reply = anonymous_admin("GET", "/collections", headers={"authorization": authorization})
    assert reply.status == 403
    assert reply.body["error"]["code"] == "forbidden"


@pytest.mark.parametrize(
    "authorization", [f"Basic {ADMIN_TOKEN}", f"bearer{ADMIN_TOKEN}", "Bearer", "Bearer   "]
)
def test_credentials_of_another_scheme_or_no_token_are_401(
    anonymous_admin: Call, authorization: str
) -> None:
    reply = anonymous_admin("GET", "/collections", headers={"authorization": authorization})
    assert (reply.status, reply.body["error"]["code"]) == (401, "unauthenticated")
    assert reply.headers["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER"])
def test_the_bearer_scheme_is_matched_in_any_case(anonymous_admin: Call, scheme: str) -> None:
    reply = anonymous_admin(
        "GET", "/collections", headers={"authorization": f"{scheme} {ADMIN_TOKEN}"}
    )
    assert reply.status == 200


def test_a_forged_iam_context_does_not_replace_the_configured_token(
    anonymous_admin: Call,
) -> None:
    # serverless-offline lets any caller inject requestContext.authorizer locally
    assert anonymous_admin("GET", "/collections", iam=True).status == 401


def test_iam_authorized_requests_pass_when_no_token_is_configured(
    store_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("VECSEARCH_ADMIN_TOKEN")
    wiring.reset()
    admin = caller(load_service_module("admin", "handler"), {})
    assert admin("GET", "/collections", iam=True).status == 200
    assert admin("GET", "/collections").status == 401
    bearer = {"authorization": f"Bearer {ADMIN_TOKEN}"}
    assert admin("GET", "/collections", headers=bearer).status == 401


@pytest.mark.parametrize("token", [None, ""])
def test_offline_without_a_token_refuses_every_request_even_with_a_forged_iam_context(
    store_dir: Path, monkeypatch: pytest.MonkeyPatch, token: str | None
) -> None:
    # serverless-offline sets IS_OFFLINE and lets any caller forge requestContext.authorizer.iam
    monkeypatch.setenv("IS_OFFLINE", "true")
    if token is None:
        monkeypatch.delenv("VECSEARCH_ADMIN_TOKEN")
    else:
        monkeypatch.setenv("VECSEARCH_ADMIN_TOKEN", token)
    wiring.reset()
    admin = caller(load_service_module("admin", "handler"), {})
    reply = admin("POST", "/collections", SPEC, iam=True)
    assert reply.status == 500
    assert reply.body["error"]["code"] == "configuration_error"
    assert "VECSEARCH_ADMIN_TOKEN" in reply.body["error"]["message"]
    assert not (store_dir / "collections" / "shapes").exists()


def test_offline_with_a_token_requires_it(admin: Call, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IS_OFFLINE", "true")
    wiring.reset()
    assert admin("GET", "/collections").status == 200
    anonymous = caller(load_service_module("admin", "handler"), {})
    assert anonymous("GET", "/collections", iam=True).status == 401


def test_refusals_before_routing_look_like_routed_errors(store_dir: Path) -> None:
    module = load_service_module("admin", "handler")
    bearer = {"authorization": f"Bearer {ADMIN_TOKEN}"}
    refused = module.handler(http_event("GET", "/collections"), LambdaContext())
    routed = module.handler(http_event("GET", "/nowhere", headers=bearer), LambdaContext())
    assert refused["headers"]["Content-Type"] == routed["headers"]["Content-Type"]
    assert set(refused) == set(routed)
    for response in (refused, routed):
        body = json.loads(response["body"])
        assert response["body"] == json.dumps(body, separators=(",", ":"))


def test_admin_wrong_method_is_405_and_unknown_route_404(admin: Call) -> None:
    wrong = admin("PUT", "/collections")
    assert (wrong.status, wrong.body["error"]["code"]) == (405, "method_not_allowed")
    assert wrong.headers["Allow"] == "GET, POST"
    assert admin("GET", "/collections/shapes/nowhere").body["error"]["code"] == "route_not_found"


def test_admin_openapi_document_lists_every_route(admin: Call) -> None:
    paths = admin("GET", "/openapi.json").body["paths"]
    assert set(paths) == {
        "/collections",
        "/collections/{name}",
        "/collections/{name}/documents",
        "/collections/{name}/documents/delete",
        "/collections/{name}/imports",
        "/collections/{name}/reindex",
        "/collections/{name}/jobs/{job_id}",
        "/collections/{name}/versions",
        "/collections/{name}/rollback",
        "/collections/{name}/pending",
        "/collections/{name}/pending/{batch_id}",
    }


ERROR_SCHEMA = "#/components/schemas/ErrorResponse"


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
    ]


def test_admin_openapi_declares_every_status_it_returns_with_our_error_schema(
    admin: Call,
) -> None:
    document = admin("GET", "/openapi.json").body
    for method, path, operation in _operations(document):
        responses = operation["responses"]
        for status in ("400", "401", "403", "404", "413", "415", "422", "500"):
            schema = responses[status]["content"]["application/json"]["schema"]
            assert schema == {"$ref": ERROR_SCHEMA}, (method, path, status)
    assert {"bearer", "sigv4"} <= set(document["components"]["securitySchemes"])
    assert document["security"] == [{"bearer": []}, {"sigv4": []}]
    delete = document["paths"]["/collections/{name}"]["delete"]["responses"]
    assert "204" in delete
    assert "200" not in delete
    discard = document["paths"]["/collections/{name}/pending/{batch_id}"]["delete"]["responses"]
    assert "204" in discard
    assert "200" not in discard
    pending = document["paths"]["/collections/{name}/pending"]["get"]["responses"]["200"]
    assert pending["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/PendingList"
    }
    assert "409" in document["paths"]["/collections/{name}/reindex"]["post"]["responses"]
    assert "503" in document["paths"]["/collections/{name}/reindex"]["post"]["responses"]
    for variant in ("FlatIndex", "HnswIndex", "IvfIndex"):
        assert "kind" in document["components"]["schemas"][variant]["required"]


@pytest.mark.parametrize("body", [[None, None], "AAA", 5])
def test_a_reindex_body_that_is_not_an_object_is_422(admin: Call, body: object) -> None:
    admin("POST", "/collections", SPEC)
    reply = admin("POST", "/collections/shapes/reindex", body)
    assert reply.status == 422
    assert reply.body["error"]["code"] == "validation_error"


@pytest.mark.parametrize("raw", [None, ""])
def test_a_reindex_without_a_body_uses_the_spec(admin: Call, raw: str | None) -> None:
    admin("POST", "/collections", SPEC)
    reply = admin("POST", "/collections/shapes/reindex", raw_body=raw)
    assert reply.status == 202
    assert reply.body["index"] is None


# the same flow against S3 (moto)


@pytest.fixture
def s3_store(monkeypatch: pytest.MonkeyPatch, store_dir: Path) -> Iterator[str]:
    """The handlers configured with an S3 store in moto (dummy credentials, no network)."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "eu-west-1",
    }.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        boto3.client("s3").create_bucket(
            Bucket="vecsearch-test", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
        )
        monkeypatch.setenv("VECSEARCH_STORE_URL", "s3://vecsearch-test/stage")
        wiring.reset()
        yield "vecsearch-test"
        wiring.reset()


def test_flow_against_s3(s3_store: str) -> None:
    admin = caller(
        load_service_module("admin", "handler"), {"authorization": f"Bearer {ADMIN_TOKEN}"}
    )
    search = caller(load_service_module("search", "handler"), {})
    assert admin("POST", "/collections", SPEC).status == 201
    admin("POST", "/collections/shapes/documents", docs(("a", [1, 0]), ("b", [0, 1])))
    job = reindex(admin)
    assert (job["state"], job["count"]) == ("succeeded", 2), job
    assert nearest(search, [0.1, 1]) == ["b", "a"]
    keys = [obj["Key"] for obj in boto3.client("s3").list_objects_v2(Bucket=s3_store)["Contents"]]
    assert f"stage/collections/shapes/versions/{job['version_id']}/manifest.json" in keys
    assert "stage/collections/shapes/current.json" in keys
