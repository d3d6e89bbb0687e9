"""Fixtures for the handler tests: a temporary local store and callers for both APIs."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from apigw import ADMIN_TOKEN, Call, caller, load_service_module

from vecsearch import wiring


@pytest.fixture
def store_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh local-directory store, configured as the handlers' store."""
    root = tmp_path / "store"
    monkeypatch.setenv("VECSEARCH_STORE_URL", f"file://{root}")
    monkeypatch.setenv("VECSEARCH_ADMIN_TOKEN", ADMIN_TOKEN)
    monkeypatch.setenv("VECSEARCH_JOB_RUNNER", "thread")
    monkeypatch.setenv("VECSEARCH_REFRESH_SECONDS", "0")
    wiring.reset()
    yield root
    wiring.reset()


@pytest.fixture
def admin(store_dir: Path) -> Call:
    """Call the admin API with the bearer token."""
    return caller(
        load_service_module("admin", "handler"), {"authorization": f"Bearer {ADMIN_TOKEN}"}
    )


@pytest.fixture
def anonymous_admin(store_dir: Path) -> Call:
    """Call the admin API without credentials unless the test adds some."""
    return caller(load_service_module("admin", "handler"), {})


@pytest.fixture
def search(store_dir: Path) -> Call:
    """Call the search API."""
    return caller(load_service_module("search", "handler"), {})
