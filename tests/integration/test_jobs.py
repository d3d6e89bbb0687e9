"""Job runners: the thread runner really runs a reindex; the Lambda runner against moto."""

import io
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from apigw import LambdaContext, load_service_module
from moto import mock_aws

from vecsearch.adapters.jobs import LambdaJobRunner, ReindexJob, ThreadJobRunner
from vecsearch.adapters.storage import store_from_url
from vecsearch.core.catalog import Catalog
from vecsearch.core.errors import JobSubmitFailed
from vecsearch.core.models import (
    CollectionSpec,
    Document,
    JobState,
    ReindexRequest,
    UpsertRequest,
)

WORKER = "vecsearch-admin-test-worker"


@pytest.fixture
def catalog(tmp_path: Path) -> Catalog:
    """A catalog over a fresh local store holding one collection with two pending documents."""
    catalog = Catalog(store_from_url(f"file://{tmp_path / 'store'}"))
    catalog.create_collection(CollectionSpec(name="pairs", dimension=2))
    documents = [Document(id="a", vector=[1, 0]), Document(id="b", vector=[0, 1])]
    catalog.upsert("pairs", UpsertRequest(documents=documents))
    return catalog


def test_thread_runner_runs_the_recorded_job(catalog: Catalog) -> None:
    job = catalog.start_reindex("pairs", ReindexRequest())
    runner = ThreadJobRunner(catalog.run_reindex)
    runner.submit("pairs", job.job_id)
    runner.wait()
    finished = catalog.job("pairs", job.job_id)
    assert finished.state == JobState.SUCCEEDED
    assert finished.count == 2
    assert catalog.describe("pairs").live_version == finished.version_id


def test_worker_handler_runs_the_job_from_its_event(
    catalog: Catalog, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from vecsearch import wiring  # noqa: PLC0415

    monkeypatch.setenv("VECSEARCH_STORE_URL", f"file://{tmp_path / 'store'}")
    wiring.reset()
    job = catalog.start_reindex("pairs", ReindexRequest())
    worker = load_service_module("admin", "worker")
    event = json.loads(ReindexJob(collection="pairs", job_id=job.job_id).model_dump_json())
    result = worker.handler(event, LambdaContext())
    wiring.reset()
    assert result["state"] == "succeeded"
    assert catalog.job("pairs", job.job_id).version_id == result["version_id"]


def dummy_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """Credentials and region for moto; never real ones."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "eu-west-1",
    }.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """moto for every AWS call; invoking an existing function does not start Docker."""
    dummy_credentials(monkeypatch)
    with mock_aws(config={"lambda": {"use_docker": False}}):
        yield


@pytest.fixture
def aws_checking_functions(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """moto's full Lambda backend, which rejects invocations of functions that do not exist."""
    dummy_credentials(monkeypatch)
    with mock_aws():
        yield


def create_worker_function() -> None:
    """A worker function in moto, as the admin service deploys it."""
    role = boto3.client("iam").create_role(
        RoleName="worker",
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "lambda.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                    }
                ],
            }
        ),
    )
    package = io.BytesIO()
    with zipfile.ZipFile(package, "w") as archive:
        archive.writestr("worker.py", "def handler(event, context):\n    return event\n")
    boto3.client("lambda").create_function(
        FunctionName=WORKER,
        Runtime="python3.13",
        Role=role["Role"]["Arn"],
        Handler="worker.handler",
        Code={"ZipFile": package.getvalue()},
        Architectures=["arm64"],
    )


@pytest.mark.usefixtures("aws")
def test_lambda_runner_invokes_the_worker_asynchronously() -> None:
    create_worker_function()
    calls: list[dict[str, Any]] = []
    runner = LambdaJobRunner(WORKER)
    client = runner._lambda()

    def record(event_name: str, params: dict[str, Any], **_: object) -> None:
        calls.append(params)

    client.meta.events.register("provide-client-params.lambda.Invoke", record)
    runner.submit("pairs", "job-1")
    assert len(calls) == 1
    assert calls[0]["FunctionName"] == WORKER
    assert calls[0]["InvocationType"] == "Event"
    assert ReindexJob.model_validate_json(calls[0]["Payload"]) == ReindexJob(
        collection="pairs", job_id="job-1"
    )


@pytest.mark.usefixtures("aws_checking_functions")
def test_lambda_runner_reports_a_missing_worker() -> None:
    with pytest.raises(JobSubmitFailed, match="could not start the reindex worker"):
        LambdaJobRunner("no-such-function").submit("pairs", "job-1")


def test_admin_reindex_answers_503_when_the_worker_cannot_start(
    store_dir: Path, monkeypatch: pytest.MonkeyPatch, aws_checking_functions: None
) -> None:
    from apigw import ADMIN_TOKEN, caller  # noqa: PLC0415

    from vecsearch import wiring  # noqa: PLC0415

    monkeypatch.setenv("VECSEARCH_JOB_RUNNER", "lambda")
    monkeypatch.setenv("VECSEARCH_WORKER_FUNCTION", "missing-worker")
    wiring.reset()
    admin = caller(
        load_service_module("admin", "handler"), {"authorization": f"Bearer {ADMIN_TOKEN}"}
    )
    admin("POST", "/collections", {"name": "pairs", "dimension": 2})
    reply = admin("POST", "/collections/pairs/reindex", {})
    assert reply.status == 503
    assert reply.body["error"]["code"] == "job_submit_failed"
    # the recorded job is failed, named in the message, and does not hold the collection
    (record,) = (store_dir / "collections/pairs/jobs").iterdir()
    job = admin("GET", f"/collections/pairs/jobs/{record.stem}").body
    assert (job["state"], job["error_code"]) == ("failed", "job_submit_failed")
    assert record.stem in reply.body["error"]["message"]
    assert admin("POST", "/collections/pairs/reindex", {}).status == 503


def test_lambda_runner_without_a_worker_name_is_a_configuration_error(
    store_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from apigw import ADMIN_TOKEN, caller  # noqa: PLC0415

    from vecsearch import wiring  # noqa: PLC0415

    monkeypatch.setenv("VECSEARCH_JOB_RUNNER", "lambda")
    monkeypatch.delenv("VECSEARCH_WORKER_FUNCTION", raising=False)
    wiring.reset()
    admin = caller(
        load_service_module("admin", "handler"), {"authorization": f"Bearer {ADMIN_TOKEN}"}
    )
    admin("POST", "/collections", {"name": "pairs", "dimension": 2})
    reply = admin("POST", "/collections/pairs/reindex", {})
    assert reply.status == 500
    assert reply.body["error"]["code"] == "configuration_error"
    assert "VECSEARCH_WORKER_FUNCTION" in reply.body["error"]["message"]


def test_worker_returns_quietly_when_the_collection_was_deleted(
    catalog: Catalog, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from vecsearch import wiring  # noqa: PLC0415

    monkeypatch.setenv("VECSEARCH_STORE_URL", f"file://{tmp_path / 'store'}")
    wiring.reset()
    job = catalog.start_reindex("pairs", ReindexRequest())
    catalog.delete_collection("pairs")
    worker = load_service_module("admin", "worker")
    event = json.loads(ReindexJob(collection="pairs", job_id=job.job_id).model_dump_json())
    result = worker.handler(event, LambdaContext())
    wiring.reset()
    assert (result["state"], result["error_code"]) == ("failed", "job_not_found")
