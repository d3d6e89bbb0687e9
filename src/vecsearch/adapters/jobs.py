"""Job runners: start a recorded reindex job somewhere other than the HTTP request."""

import json
import threading
from collections.abc import Callable, Mapping
from typing import Any, Protocol, cast

from pydantic import BaseModel, ConfigDict

from vecsearch.core.errors import JobSubmitFailed


class ReindexJob(BaseModel):
    """The worker's event: which collection's recorded job to run."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    collection: str
    job_id: str


class JobRunner(Protocol):
    """Starts a job that the catalog has already recorded as queued."""

    def submit(self, collection: str, job_id: str) -> None:
        """Start the job without waiting for it; raise JobSubmitFailed if it cannot start."""
        ...


class LambdaInvoker(Protocol):
    """The one call this module makes on a boto3 Lambda client."""

    def invoke(
        self,
        *,
        FunctionName: str,  # noqa: N803  # boto3's parameter names
        InvocationType: str,  # noqa: N803
        Payload: bytes,  # noqa: N803
    ) -> Mapping[str, Any]:
        """Invoke a function."""
        ...


class LambdaJobRunner:
    """Runs each job as an asynchronous (InvocationType=Event) invocation of the worker function."""

    def __init__(self, function_name: str, *, endpoint_url: str | None = None) -> None:
        self.function_name = function_name
        self.endpoint_url = endpoint_url
        self._client: LambdaInvoker | None = None

    def _lambda(self) -> LambdaInvoker:
        if self._client is None:
            import boto3  # noqa: PLC0415  # the Lambda runtime provides boto3; load it only when used

            client = boto3.client("lambda", endpoint_url=self.endpoint_url)
            self._client = cast(LambdaInvoker, client)
        return self._client

    def submit(self, collection: str, job_id: str) -> None:
        """Invoke the worker asynchronously with the job's identity."""
        from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415

        payload = ReindexJob(collection=collection, job_id=job_id).model_dump_json()
        try:
            response = self._lambda().invoke(
                FunctionName=self.function_name, InvocationType="Event", Payload=payload.encode()
            )
        except (BotoCoreError, ClientError) as error:
            raise JobSubmitFailed(f"could not start the reindex worker: {error}") from error
        if response["StatusCode"] != 202:
            detail = json.dumps(response.get("FunctionError") or response["StatusCode"])
            raise JobSubmitFailed(f"the reindex worker did not accept the job: {detail}")


class ThreadJobRunner:
    """Runs each job on a thread in this process: a fallback where no worker function exists.

    On Lambda a thread is frozen once the response is returned, so this serves local tools only.
    """

    def __init__(self, run: Callable[[str, str], object]) -> None:
        self.run = run
        self.threads: list[threading.Thread] = []

    def submit(self, collection: str, job_id: str) -> None:
        """Start the job on a new thread."""
        thread = threading.Thread(
            target=self.run, args=(collection, job_id), name=f"reindex-{job_id}", daemon=True
        )
        thread.start()
        self.threads = [*(running for running in self.threads if running.is_alive()), thread]

    def wait(self) -> None:
        """Block until every submitted job has finished."""
        for thread in self.threads:
            thread.join()
