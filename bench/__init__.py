"""Benchmarks: the services measured against raw FAISS and the usual FAISS-on-Lambda pattern."""

import sys
from pathlib import Path

_SOURCE = str(Path(__file__).resolve().parent.parent / "src")
if _SOURCE not in sys.path:  # `python -m bench` from the repo root works without PYTHONPATH too
    sys.path.insert(0, _SOURCE)
