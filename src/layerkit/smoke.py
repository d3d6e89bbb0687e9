"""Smoke test run by the target's own python3.13 (native or under qemu), stdlib only.

Usage: python3.13 -I -S smoke.py MODULES PATH... where MODULES is a comma-separated subset of
faiss,numpy,pydantic and the PATHs are sys.path entries in Lambda's order (function code first,
then the python/ folder of the layers merged as into /opt). Prints SUCCESS_LINE and the timings
on success.
"""

from __future__ import annotations

import importlib
import os
import sys
import time

SUCCESS_LINE = "layerkit smoke test passed"


def _import_from(name: str, roots: list[str]) -> object:
    module = importlib.import_module(name)
    origin = getattr(module, "__file__", None) or ""
    if not any(origin.startswith(os.path.join(root, "")) for root in roots):
        raise ImportError(f"{name} came from {origin}, not from the packages under test")
    return module


def _exercise_faiss() -> None:
    import faiss  # noqa: PLC0415 - imported from the layer under test
    import numpy as np  # noqa: PLC0415

    vectors = np.random.default_rng(7).standard_normal((64, 16)).astype("float32")
    index = faiss.IndexFlatL2(16)
    index.add(vectors)
    _, ids = index.search(vectors[:4], 1)
    if ids[:, 0].tolist() != [0, 1, 2, 3]:
        raise AssertionError(f"faiss nearest neighbours are wrong: {ids[:, 0].tolist()}")


def _exercise_numpy() -> None:
    import numpy as np  # noqa: PLC0415

    matrix = np.arange(12, dtype=np.float64).reshape(3, 4)
    if float((matrix @ matrix.T).trace()) != float((matrix * matrix).sum()):
        raise AssertionError("numpy matrix product is wrong")


def _exercise_pydantic() -> None:
    from pydantic import BaseModel, Field, ValidationError  # noqa: PLC0415

    class Query(BaseModel):
        vector: list[float] = Field(min_length=2)
        k: int = Field(ge=1, le=100)

    if Query.model_validate({"vector": [1, "2.5"], "k": "3"}).k != 3:
        raise AssertionError("pydantic did not coerce a valid query")
    try:
        Query.model_validate({"vector": [1.0], "k": 0})
    except ValidationError as error:
        if error.error_count() != 2:
            raise AssertionError(
                f"pydantic reported {error.error_count()} errors, not 2"
            ) from error
    else:
        raise AssertionError("pydantic accepted an invalid query")


EXERCISES = {"numpy": _exercise_numpy, "faiss": _exercise_faiss, "pydantic": _exercise_pydantic}


def main(argv: list[str]) -> int:
    """Import and exercise the requested modules from the given roots; 0 on success."""
    modules = [name for name in argv[1].split(",") if name]
    roots = argv[2:]
    sys.path[0:0] = roots
    started = time.perf_counter()
    for name in modules:
        _import_from(name, roots)
    imported = time.perf_counter()
    for name in modules:
        EXERCISES[name]()
    finished = time.perf_counter()
    print(
        f"{SUCCESS_LINE}: modules={','.join(modules) or '-'} "
        f"import_seconds={imported - started:.3f} total_seconds={finished - started:.3f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
