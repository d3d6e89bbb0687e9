"""A moto S3 server in a subprocess: the "download" of the common pattern and the S3 store."""

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import boto3

CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class MotoS3:
    """Start moto's server on a free local port; env() points boto3 at it."""

    def __init__(self) -> None:
        self.port = _free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self._process: subprocess.Popen[bytes] | None = None

    def env(self) -> dict[str, str]:
        """Environment variables that send boto3 to this server with dummy credentials."""
        return {**CREDENTIALS, "AWS_ENDPOINT_URL": self.endpoint}

    def __enter__(self) -> Self:
        server = Path(sys.executable).with_name("moto_server")
        self._process = subprocess.Popen(
            [str(server), "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"{self.endpoint}/moto-api/", timeout=1).close()
                return self
            except OSError:
                time.sleep(0.2)
        self.__exit__(None, None, None)
        raise RuntimeError("moto server did not start within 30 s")

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self._process is not None:
            self._process.terminate()
            self._process.wait(timeout=10)
            self._process = None

    def client(self) -> Any:
        """A boto3 S3 client for this server."""
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name=CREDENTIALS["AWS_DEFAULT_REGION"],
            aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        )

    def upload_tree(self, bucket: str, prefix: str, root: Path, under: Path) -> None:
        """Upload every file below under (relative keys from root) to bucket/prefix/."""
        s3 = self.client()
        for path in sorted(under.rglob("*")):
            if path.is_file():
                key = (
                    f"{prefix}/{path.relative_to(root).as_posix()}"
                    if prefix
                    else (path.relative_to(root).as_posix())
                )
                s3.upload_file(os.fspath(path), bucket, key)
