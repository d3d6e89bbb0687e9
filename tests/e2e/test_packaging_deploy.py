"""deploy.sh: prerequisites, Compose state seeding, the command sequence, and a real dry run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest
from project_copy import ROOT, copy_project, offline_environment, run

from layerkit.deploy import (
    DeployError,
    DeployRequest,
    check_prerequisites,
    compose_state_path,
    deploy,
    lambda_regions,
    main,
    seed_compose_state,
    seeded_compose_state,
)

pytestmark = pytest.mark.packaging


def request_for(root: Path, **changes: object) -> DeployRequest:
    values: dict[str, object] = {
        "root": root,
        "service": "all",
        "stage": "ci",
        "region": None,
        "dry_run": False,
        "builder": "pip",
        "emulate": False,
    }
    values.update(changes)
    return DeployRequest(**values)  # type: ignore[arg-type]


def test_missing_prerequisites_are_all_reported_with_what_to_do(tmp_path: Path):
    problems = check_prerequisites(
        request_for(tmp_path, builder="docker"),
        {},
        which=lambda _name: None,
        has_aws_credentials=lambda: False,
    )
    text = "\n".join(problems)
    assert "Node.js" in text
    assert "npm ci" in text
    assert "AWS credentials" in text
    assert "Docker" in text
    assert len(problems) == 4


def test_dry_run_needs_no_aws_credentials_and_pip_builder_no_docker():
    problems = check_prerequisites(
        request_for(ROOT, dry_run=True),
        dict(os.environ),
        has_aws_credentials=lambda: pytest.fail("a dry run must not look for credentials"),
    )
    assert problems == []


def test_seeded_state_is_removed_and_real_state_is_left_alone(tmp_path: Path):
    with seeded_compose_state(tmp_path, "ci") as seeded:
        assert seeded
        state = json.loads(compose_state_path(tmp_path, "ci").read_text())
        assert set(state["components"]["layers"]["outputs"]) == {
            "FaissLayerArn",
            "PydanticLayerArn",
        }
    assert not compose_state_path(tmp_path, "ci").exists()

    real = compose_state_path(tmp_path, "prod")
    real.write_text('{"components": {"layers": {"outputs": {"FaissLayerArn": "real"}}}}')
    before = real.read_bytes()
    with seeded_compose_state(tmp_path, "prod") as seeded:
        assert not seeded
    assert real.read_bytes() == before


class RecordingRunner:
    """Stands in for subprocess at the AWS boundary: records commands instead of running them."""

    def __init__(self) -> None:
        self.calls: list[tuple[list[str], dict[str, str]]] = []

    def __call__(self, argv: Sequence[str], cwd: Path, environment: Mapping[str, str]) -> None:
        self.calls.append((list(argv), dict(environment)))


@pytest.mark.parametrize(
    ("service", "expected_compose"),
    [
        ("all", ["osls-compose", "deploy", "--stage", "ci"]),
        ("search", ["osls-compose", "deploy", "--stage", "ci", "--service", "search"]),
    ],
)
def test_deploy_builds_verifies_then_deploys_through_compose_without_the_offline_switch(
    tmp_path: Path, service: str, expected_compose: list[str]
):
    project = copy_project(tmp_path / "project")
    runner = RecordingRunner()
    deploy(
        request_for(project, service=service, region="eu-central-1"),
        runner=runner,
        base_environment={"PATH": os.environ["PATH"], "OFFLINE_PACKAGING": "1"},
        has_aws_credentials=lambda: True,
    )
    commands = [argv for argv, _ in runner.calls]
    assert commands[0][-6:] == ["build", "--arch", "arm64", "--builder", "pip", "--no-emulate"]
    verified = [argv[argv.index("--function") + 1] for argv in commands if "verify" in argv]
    built = ["admin", "search"] if service == "all" else [service]
    assert verified == [str(project / "build" / "functions" / f"{name}.zip") for name in built]
    assert all(Path(path).is_file() for path in verified)
    assert commands[-1] == expected_compose
    _, environment = runner.calls[-1]
    assert "OFFLINE_PACKAGING" not in environment
    assert environment["AWS_REGION"] == "eu-central-1"


def test_a_state_seeded_by_a_killed_dry_run_is_removed_before_a_real_deploy(tmp_path: Path):
    project = copy_project(tmp_path / "project")
    seed_compose_state(project, "ci")  # what a dry run killed with SIGKILL leaves behind
    runner = RecordingRunner()
    deploy(
        request_for(project),
        runner=runner,
        base_environment={"PATH": os.environ["PATH"]},
        has_aws_credentials=lambda: True,
    )
    assert runner.calls[-1][0][:2] == ["osls-compose", "deploy"]
    assert not compose_state_path(project, "ci").exists()


def test_a_real_deploy_refuses_a_state_with_placeholder_outputs(tmp_path: Path):
    project = copy_project(tmp_path / "project")
    state = seed_compose_state(project, "ci")
    unmarked = json.loads(state.read_text())
    unmarked.pop("seededBy")  # say Compose rewrote it, or it was copied by hand
    unmarked["components"]["layers"]["outputs"]["FaissLayerArn"] = "arn:real"
    state.write_text(json.dumps(unmarked))
    runner = RecordingRunner()
    with pytest.raises(DeployError, match=r"placeholder outputs.*refresh-outputs"):
        deploy(
            request_for(project),
            runner=runner,
            base_environment={"PATH": os.environ["PATH"]},
            has_aws_credentials=lambda: True,
        )
    assert runner.calls == []
    assert json.loads(state.read_text()) == unmarked  # not ours to delete


def test_sigterm_during_a_dry_run_still_removes_the_seeded_state(tmp_path: Path):
    project = copy_project(tmp_path / "project")

    def terminated_at_compose(argv: Sequence[str], cwd: Path, env: Mapping[str, str]) -> None:
        if argv[0] == "osls-compose":
            assert compose_state_path(project, "ci").exists()
            os.kill(os.getpid(), signal.SIGTERM)

    with pytest.raises(SystemExit):
        deploy(
            request_for(project, dry_run=True),
            runner=terminated_at_compose,
            base_environment={"PATH": os.environ["PATH"]},
        )
    assert not compose_state_path(project, "ci").exists()
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL


@pytest.mark.parametrize(
    ("option", "value", "problem"),
    [
        ("--stage", "prod_eu", "stage"),
        ("--stage", "a" * 30, "stage"),
        ("--region", "Europe", "region"),
        ("--region", "zz-nowhere-9", "not an AWS region with Lambda"),  # matched the old regex
        ("--region", "eu-wset-1", "did you mean eu-west-1"),
    ],
)
def test_bad_stage_or_region_is_refused_before_anything_runs(
    capsys: pytest.CaptureFixture[str], option: str, value: str, problem: str
):
    with pytest.raises(SystemExit) as exited:
        main(["all", "--dry-run", option, value, "--root", "/nonexistent"])
    assert exited.value.code == 2
    assert problem in capsys.readouterr().err


@pytest.mark.parametrize("region", ["eu-west-1", "cn-north-1", "eusc-de-east-1", "us-gov-west-1"])
def test_regions_botocore_knows_lambda_in_are_accepted(region: str):
    assert region in lambda_regions()


def test_the_region_check_is_refused_before_anything_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    project = copy_project(tmp_path / "project")
    stale = project / "services" / "search" / ".serverless"
    stale.mkdir()
    with pytest.raises(SystemExit) as exited:
        main(["search", "--dry-run", "--region", "zz-nowhere-9", "--root", str(project)])
    assert exited.value.code == 2
    assert "zz-nowhere-9" in capsys.readouterr().err
    assert stale.is_dir()  # step 2 never ran


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state not in {"Z", "X"}


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_stopped_deploy_stops_the_commands_children_too(tmp_path: Path, signum: int):
    # what Compose does: the command it runs starts one `serverless package` per service
    pids = tmp_path / "pids"
    command = f"sleep 300 & echo $! > {pids}.partial; mv {pids}.partial {pids}; wait"
    driver = (
        "import sys\n"
        "from pathlib import Path\n"
        "from layerkit.deploy import run_subprocess\n"
        f"run_subprocess(['sh', '-c', {command!r}], Path('.'), {{'PATH': '/usr/bin:/bin'}})\n"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", driver], cwd=tmp_path, env={"PYTHONPATH": str(ROOT / "src")}
    )
    deadline = time.monotonic() + 30
    while not pids.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    grandchild = int(pids.read_text())
    assert _running(grandchild)
    process.send_signal(signum)
    assert process.wait(timeout=30) != 0
    deadline = time.monotonic() + 5
    while _running(grandchild) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _running(grandchild)


def test_deploy_stops_before_building_when_prerequisites_are_missing(tmp_path: Path):
    project = copy_project(tmp_path / "project")
    runner = RecordingRunner()
    with pytest.raises(DeployError, match="AWS credentials"):
        deploy(
            request_for(project),
            runner=runner,
            base_environment={"PATH": os.environ["PATH"]},
            has_aws_credentials=lambda: False,
        )
    assert runner.calls == []


def test_deploy_sh_dry_run_runs_to_its_last_step(tmp_path: Path):
    project = copy_project(tmp_path / "project")
    home = tmp_path / "home"
    home.mkdir()
    completed = run(
        ["./deploy.sh", "all", "--dry-run", "--no-emulate", "--stage", "ci"],
        project,
        offline_environment(home, PATH=f"{Path(sys.executable).parent}:/usr/bin:/bin"),
    )
    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, output
    assert "[6/6] packaging offline (dry run) through Compose: layers, admin, search" in output
    assert "done: packaging offline (dry run) layers, admin, search (stage ci)" in output
    for folder in ("layers", "services/admin", "services/search"):
        template = project / folder / ".serverless" / "cloudformation-template-update-stack.json"
        assert template.is_file(), folder
    assert not compose_state_path(project, "ci").exists()
