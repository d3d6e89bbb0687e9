"""Cold-start probe, the minimum: import faiss and numpy, read the index, answer one query."""

import sys
import time

started = time.monotonic()
import json  # noqa: E402

import faiss  # noqa: E402
import numpy  # noqa: E402

imported = time.monotonic()
index = faiss.read_index(sys.argv[1])
loaded = time.monotonic()
query = numpy.array(json.loads(sys.argv[2]), dtype="float32").reshape(1, -1)
index.search(query, 10)
answered = time.monotonic()
print(
    json.dumps({"started": started, "imported": imported, "loaded": loaded, "answered": answered})
)
