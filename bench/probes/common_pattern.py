"""Cold-start probe, the common FAISS-on-Lambda pattern: download the index to /tmp every call."""

import sys
import time

started = time.monotonic()
import json  # noqa: E402
import os  # noqa: E402

import boto3  # noqa: E402
import faiss  # noqa: E402
import numpy  # noqa: E402

imported = time.monotonic()
s3 = boto3.client("s3")
bucket, key, scratch, query_json = sys.argv[1:5]


def handler(event: dict, context: object) -> list[int]:
    """Download, read, search: what the pattern does on every invocation."""
    path = os.path.join(scratch, "index.faiss")
    s3.download_file(bucket, key, path)
    index = faiss.read_index(path)
    query = numpy.array(json.loads(event["body"]), dtype="float32").reshape(1, -1)
    _, labels = index.search(query, 10)
    return labels[0].tolist()


handler({"body": query_json}, None)
answered = time.monotonic()
handler({"body": query_json}, None)
second = time.monotonic()
print(
    json.dumps({"started": started, "imported": imported, "answered": answered, "second": second})
)
