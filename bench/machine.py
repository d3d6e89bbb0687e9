"""A description of the machine and the libraries the timings were taken with."""

import os
import platform
import sys
from importlib import metadata
from typing import Any

import faiss
from threadpoolctl import threadpool_info


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory_bytes() -> int | None:
    try:
        with open("/proc/meminfo", encoding="utf-8") as meminfo:
            for line in meminfo:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def _load_average() -> list[float] | None:
    try:
        return [round(value, 2) for value in os.getloadavg()]
    except OSError:
        return None


def _versions(*distributions: str) -> dict[str, str | None]:
    found: dict[str, str | None] = {}
    for name in distributions:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = None
    return found


def _thread_pools() -> list[dict[str, Any]]:
    # faiss and numpy are imported above so their OpenBLAS and OpenMP pools are loaded and seen.
    keep = (
        "user_api",
        "internal_api",
        "prefix",
        "version",
        "architecture",
        "num_threads",
        "threading_layer",
    )
    return [{key: pool.get(key) for key in keep} for pool in threadpool_info()]


def describe() -> dict[str, Any]:
    """CPU, cores, memory, load, OS, python and library versions, BLAS/OpenMP pools."""
    return {
        "cpu_model": _cpu_model(),
        "architecture": platform.machine(),
        "logical_cpus": os.cpu_count(),
        "memory_bytes": _memory_bytes(),
        "load_average_at_start": _load_average(),
        "os": platform.platform(),
        "python": sys.version.split()[0],
        "faiss_compile_options": faiss.get_compile_options(),
        "packages": _versions(
            "faiss-cpu",
            "numpy",
            "pydantic",
            "pydantic-core",
            "aws-lambda-powertools",
            "boto3",
            "moto",
        ),
        "thread_pools": _thread_pools(),
    }
