"""The project's code paths the benchmarks drive: bulk import + reindex, and the search handler."""

import importlib.util
import io
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bench.datasets import Dataset
from vecsearch import wiring
from vecsearch.core.catalog import Catalog
from vecsearch.core.models import (
    CollectionSpec,
    FlatIndex,
    HnswIndex,
    ImportRequest,
    IvfIndex,
    JobState,
    Metric,
    ReindexRequest,
)
from vecsearch.core.store import Store

REPO = Path(__file__).resolve().parent.parent
SEARCH_HANDLER = REPO / "services" / "search" / "handler.py"
TOP_K = 10

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


def npy_bytes(matrix: np.ndarray) -> bytes:
    """The matrix as .npy file bytes."""
    buffer = io.BytesIO()
    np.save(buffer, matrix, allow_pickle=False)
    return buffer.getvalue()


def records_bytes(ids: list[str]) -> bytes:
    """Import records (JSON lines, one {"id": ...} per vector row)."""
    return "".join(json.dumps({"id": doc_id}) + "\n" for doc_id in ids).encode()


@dataclass(frozen=True)
class ImportFiles:
    """Where a data set's import files were put in the store."""

    vectors_key: str
    records_key: str


def upload_import(store: Store, dataset: Dataset) -> ImportFiles:
    """Put the data set's .npy matrix and JSON-lines records under imports/ (the user's upload)."""
    files = ImportFiles(
        vectors_key=f"imports/{dataset.name}/vectors.npy",
        records_key=f"imports/{dataset.name}/records.jsonl",
    )
    store.put(files.vectors_key, npy_bytes(dataset.vectors))
    store.put(files.records_key, records_bytes(dataset.ids))
    return files


@dataclass(frozen=True)
class BuiltVersion:
    """A collection version built through the admin code path."""

    collection: str
    version_id: str
    seconds: float
    stages: dict[str, float]


def build_through_admin(
    store: Store,
    collection: str,
    dataset: Dataset,
    files: ImportFiles,
    index: FlatIndex | HnswIndex | IvfIndex | None = None,
) -> BuiltVersion:
    """Create a cosine collection (flat unless index says), import the files and run the reindex.

    Timed end to end: import_files + start_reindex + run_reindex.
    """
    catalog = Catalog(store)
    catalog.create_collection(
        CollectionSpec(
            name=collection,
            dimension=dataset.dimension,
            metric=Metric.COSINE,
            index=FlatIndex() if index is None else index,
        )
    )
    started = time.perf_counter()
    catalog.import_files(
        collection,
        ImportRequest(vectors_key=files.vectors_key, records_key=files.records_key),
    )
    job = catalog.start_reindex(collection, ReindexRequest())
    done = catalog.run_reindex(collection, job.job_id)
    seconds = time.perf_counter() - started
    if done.state is not JobState.SUCCEEDED or done.version_id is None:
        raise RuntimeError(f"reindex of {collection} failed: {done.error}")
    return BuiltVersion(collection, done.version_id, seconds, dict(done.stages))


def load_search_handler(store_url: str) -> Handler:
    """Import services/search/handler.py in this process, serving the given store."""
    os.environ["VECSEARCH_STORE_URL"] = store_url
    wiring.reset()
    spec = importlib.util.spec_from_file_location("bench_search_handler", SEARCH_HANDLER)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {SEARCH_HANDLER}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    handler: Handler = module.handler
    return handler


class LambdaContext:
    """The attributes Powertools reads from a Lambda context."""

    function_name = "vecsearch-search"
    function_version = "$LATEST"
    memory_limit_in_mb = 1769
    invoked_function_arn = "arn:aws:lambda:eu-west-1:123456789012:function:vecsearch-search"
    aws_request_id = "bench-request"
    log_group_name = "/aws/lambda/vecsearch-search"
    log_stream_name = "bench"

    def get_remaining_time_in_millis(self) -> int:
        """Lambda's remaining-time callback; the benchmark never runs out."""
        return 30_000


def search_body(queries: np.ndarray, k: int = TOP_K) -> str:
    """A search request body: 'vector' for one query, 'vectors' for a batch."""
    rows = queries.tolist()
    payload = {"vector": rows[0]} if len(rows) == 1 else {"vectors": rows}
    return json.dumps({**payload, "k": k})


def search_event(collection: str, body: str) -> dict[str, Any]:
    """An API Gateway HTTP API (payload 2.0) event for POST /collections/<name>/search."""
    path = f"/collections/{collection}/search"
    return {
        "version": "2.0",
        "routeKey": "POST /collections/{name}/search",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {"content-type": "application/json", "host": "bench.local"},
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "bench",
            "domainName": "bench.local",
            "domainPrefix": "bench",
            "http": {
                "method": "POST",
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": "bench",
            },
            "requestId": "bench",
            "routeKey": "POST /collections/{name}/search",
            "stage": "$default",
            "time": "01/Jan/2026:00:00:00 +0000",
            "timeEpoch": 1767225600000,
        },
        "pathParameters": {"name": collection},
        "body": body,
        "isBase64Encoded": False,
    }


def hit_ids(response: dict[str, Any]) -> list[list[str]]:
    """The ids of every query's hits in a handler response; raise on an error response."""
    if response.get("statusCode") != 200:
        raise RuntimeError(f"search handler answered {response.get('statusCode')}: {response}")
    body = json.loads(response["body"])
    return [[hit["id"] for hit in result["hits"]] for result in body["results"]]
