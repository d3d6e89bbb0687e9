"""`./deploy.sh [SERVICE|all]`: check prerequisites, build and verify, then deploy through Compose.

Steps, in order: prerequisites (Node, npm packages, Python 3.13, AWS credentials unless --dry-run,
Docker only for the docker builder), stale caches removed, arm64 layers built and verified, function
packages built and verified together with the layers, then `osls-compose deploy` (every service in
dependency order: layers, admin, search) or one service through Compose (so it gets the layer ARNs
and bucket name from the Compose state). `--dry-run` does all of it but packages instead of
deploying, offline: the offline-packaging plugin is switched on and Compose state is seeded with
placeholders when no real state exists for the stage (and removed afterwards, on SIGTERM too; a
seeded state a killed run left behind is removed at the start of the next run, and a real deploy
never starts from placeholder outputs).
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from layerkit.functions import FunctionPackageError, build_function_package

ARCH = "arm64"
DEPLOY_ORDER = ("layers", "admin", "search")
SERVICE_DIRS = {"layers": "layers", "admin": "services/admin", "search": "services/search"}
FUNCTION_SERVICES = ("admin", "search")
LAYERS = ("faiss", "pydantic")
MIN_NODE_MAJOR = 20
NPM_BINARIES = ("sls", "osls-compose")
PLACEHOLDER_ACCOUNT = "123456789012"
STOP_GRACE_SECONDS = 10.0  # what a stopped command's process group gets between SIGTERM and SIGKILL
# The Framework names the search role vecsearch-search-<stage>-<region>-lambdaRole; IAM allows 64
# characters, and the longest region names have 14.
MAX_STAGE_LENGTH = 64 - len("vecsearch-search---lambdaRole") - 14
STAGE_PATTERN = re.compile(rf"[a-zA-Z0-9-]{{1,{MAX_STAGE_LENGTH}}}")
# What the deployed stacks would output, for packaging the Compose project offline.
PLACEHOLDER_OUTPUTS = {
    "layers": {
        "FaissLayerArn": f"arn:aws:lambda:eu-west-1:{PLACEHOLDER_ACCOUNT}:layer:"
        "vecsearch-faiss-py313-arm64:1",
        "PydanticLayerArn": f"arn:aws:lambda:eu-west-1:{PLACEHOLDER_ACCOUNT}:layer:"
        "vecsearch-pydantic-py313-arm64:1",
    },
    "admin": {"IndexBucketName": "vecsearch-index-placeholder"},
}
SEEDED_MARKER = "seededBy"  # top-level key of a Compose state file this script seeded
PLACEHOLDER_VALUES = frozenset(
    value for outputs in PLACEHOLDER_OUTPUTS.values() for value in outputs.values()
)

Runner = Callable[[Sequence[str], Path, Mapping[str, str]], None]


class DeployError(Exception):
    """A step failed; the message says which and what to do."""


@dataclass(frozen=True)
class DeployRequest:
    """What to deploy, where, and how."""

    root: Path
    service: str
    stage: str
    region: str | None
    dry_run: bool
    builder: str
    emulate: bool


def run_subprocess(argv: Sequence[str], cwd: Path, environment: Mapping[str, str]) -> None:
    """Run a command in its own process group, streaming its output; DeployError if it fails.

    On SIGTERM (turned into SystemExit meanwhile) or SIGINT the whole group is stopped, so
    what the command started (Compose's `serverless package` per service) does not live on.
    """
    print(f"$ {' '.join(argv)}  (in {cwd})", flush=True)
    previous = signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        # stdin closed: a background process group reading the terminal would stop (SIGTTIN)
        process = subprocess.Popen(
            list(argv), cwd=cwd, env=dict(environment), stdin=subprocess.DEVNULL, process_group=0
        )
        try:
            returncode = process.wait()
        except BaseException:
            stop_process_group(process)
            raise
    finally:
        signal.signal(signal.SIGTERM, previous)
    if returncode != 0:
        raise DeployError(f"`{' '.join(argv)}` failed with exit status {returncode}")


def stop_process_group(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM the process group the process leads; SIGKILL what is left after a grace period."""
    for signum in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, signum)
        except ProcessLookupError:
            return  # the whole group is gone
        if _group_ended(process, STOP_GRACE_SECONDS):
            return


def _group_ended(process: subprocess.Popen[bytes], seconds: float) -> bool:
    """Wait until the leader has exited and nothing is left in its process group."""
    deadline = time.monotonic() + seconds
    while True:
        process.poll()  # reaps the leader, whose zombie would keep the group alive
        try:
            os.killpg(process.pid, 0)
        except ProcessLookupError:
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)


def framework_environment(request: DeployRequest, base: Mapping[str, str]) -> dict[str, str]:
    """The environment for the Framework: local npm bins first, telemetry off, offline if dry."""
    environment = dict(base)
    environment["PATH"] = os.pathsep.join(
        [str(request.root / "node_modules" / ".bin"), base.get("PATH", "")]
    )
    environment["SLS_TELEMETRY_DISABLED"] = "1"
    environment["SLS_NOTIFICATIONS_MODE"] = "off"
    environment["PYTHONPATH"] = str(request.root / "src")
    if request.region:
        environment["AWS_REGION"] = request.region
    if request.dry_run:
        environment["OFFLINE_PACKAGING"] = "1"
    else:
        environment.pop("OFFLINE_PACKAGING", None)  # a deploy must compare with deployed layers
    return environment


def _node_major(node: str) -> int | None:
    completed = subprocess.run([node, "--version"], capture_output=True, text=True, check=False)
    match = re.match(r"v(\d+)\.", completed.stdout.strip())
    return int(match.group(1)) if completed.returncode == 0 and match else None


def _has_aws_credentials() -> bool:
    import boto3  # noqa: PLC0415 - only a real deploy needs boto3

    return boto3.Session().get_credentials() is not None


def check_prerequisites(
    request: DeployRequest,
    environment: Mapping[str, str],
    *,
    which: Callable[[str], str | None] = shutil.which,
    has_aws_credentials: Callable[[], bool] = _has_aws_credentials,
) -> list[str]:
    """Every missing prerequisite, each as a message saying how to fix it (empty when all set)."""
    problems: list[str] = []
    node = which("node")
    major = _node_major(node) if node else None
    if major is None:
        problems.append(f"Node.js {MIN_NODE_MAJOR}+ is not on PATH: install it (nodejs.org)")
    elif major < MIN_NODE_MAJOR:
        problems.append(f"Node.js {major} is too old: the Framework needs {MIN_NODE_MAJOR}+")
    bins = request.root / "node_modules" / ".bin"
    missing_bins = [name for name in NPM_BINARIES if not (bins / name).exists()]
    if missing_bins:
        problems.append(
            f"npm packages missing ({', '.join(missing_bins)}): run `npm ci` in {request.root}"
        )
    if sys.version_info[:2] != (3, 13):
        problems.append(
            f"Python {sys.version_info.major}.{sys.version_info.minor} runs this script: layers "
            "and bytecode must be built by Python 3.13 (`make setup` makes .venv)"
        )
    if not request.dry_run and not has_aws_credentials():
        problems.append(
            "no AWS credentials found: set AWS_PROFILE or run `aws configure` / `aws sso login` "
            "(or use --dry-run to package without AWS)"
        )
    if request.builder == "docker":
        docker = which("docker")
        if docker is None:
            problems.append("the docker builder needs Docker on PATH (or use --builder pip)")
        elif (
            subprocess.run(
                [docker, "info"], capture_output=True, env=dict(environment), check=False
            ).returncode
            != 0
        ):
            problems.append("Docker is installed but its daemon is not reachable: start Docker")
    return problems


def clean_stale_caches(root: Path) -> list[Path]:
    """Remove what a previous run left behind: per-service .serverless/ and function zips."""
    stale = [root / folder / ".serverless" for folder in SERVICE_DIRS.values()]
    stale.append(root / "build" / "functions")
    removed = [path for path in stale if path.exists()]
    for path in removed:
        shutil.rmtree(path)
    return removed


def layer_zip(root: Path, layer: str) -> Path:
    """Where `python -m layerkit build --arch arm64` leaves a layer's zip."""
    return root / "build" / "layers" / ARCH / f"{layer}.zip"


def function_zip(root: Path, service: str) -> Path:
    """Where a service's serverless.yml expects its function package (package.artifact)."""
    return root / "build" / "functions" / f"{service}.zip"


def _python(*arguments: str) -> list[str]:
    return [sys.executable, "-m", "layerkit", *arguments]


def build_layers(request: DeployRequest, runner: Runner, environment: Mapping[str, str]) -> None:
    """Build (or reuse the cached build of) the arm64 layers and verify them."""
    arguments = ["--root", str(request.root), "build", "--arch", ARCH, "--builder", request.builder]
    if not request.emulate:
        arguments.append("--no-emulate")
    runner(_python(*arguments), request.root, environment)


def build_functions(request: DeployRequest, services: Sequence[str]) -> None:
    """Build the function package of every service that has functions.

    Built here so they are verified before anything is deployed; packaging rebuilds them
    (services/function-package.js) into the same bytes.
    """
    for service in services:
        try:
            package = build_function_package(
                request.root / SERVICE_DIRS[service],
                request.root / "src",
                request.root / "requirements" / "function.txt",
                function_zip(request.root, service),
            )
        except FunctionPackageError as error:
            raise DeployError(f"function package for {service}: {error}") from error
        print(f"function package {service}: {package.path} sha256 {package.sha256}")


def verify_functions(
    request: DeployRequest,
    services: Sequence[str],
    runner: Runner,
    environment: Mapping[str, str],
) -> None:
    """Verify each function package together with the layers it is deployed with."""
    for service in services:
        arguments = ["--root", str(request.root), "verify", "--arch", ARCH]
        for layer in LAYERS:
            arguments += ["--layer", str(layer_zip(request.root, layer))]
        arguments += ["--function", str(function_zip(request.root, service))]
        if not request.emulate:
            arguments.append("--no-emulate")
        runner(_python(*arguments), request.root, environment)


def compose_state_path(root: Path, stage: str) -> Path:
    """Where Compose keeps the outputs of deployed stacks for a stage."""
    return root / ".serverless" / f"state.{stage}.json"


def _read_state(state: Path) -> dict[str, object]:
    try:
        data = json.loads(state.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise DeployError(f"{state} is not readable JSON ({error}): move it away") from error
    if not isinstance(data, dict):
        raise DeployError(f"{state} is not a Compose state file: move it away")
    return data


def seed_compose_state(root: Path, stage: str) -> Path:
    """Write placeholder Compose outputs for the stage, marked as seeded; return the file."""
    state = compose_state_path(root, stage)
    state.parent.mkdir(parents=True, exist_ok=True)
    components = {name: {"outputs": outputs} for name, outputs in PLACEHOLDER_OUTPUTS.items()}
    document = {SEEDED_MARKER: "deploy.sh --dry-run", "components": components}
    state.write_text(json.dumps(document, indent=2), encoding="utf-8")
    return state


def remove_seeded_state(root: Path, stage: str) -> bool:
    """Remove the stage's Compose state if a dry run seeded it (one killed before cleaning up)."""
    state = compose_state_path(root, stage)
    if not state.exists() or SEEDED_MARKER not in _read_state(state):
        return False
    state.unlink()
    return True


def refuse_placeholder_state(root: Path, stage: str) -> None:
    """Raise DeployError when the stage's Compose state holds any placeholder output."""
    state = compose_state_path(root, stage)
    if not state.exists():
        return
    if PLACEHOLDER_VALUES.intersection(_output_values(_read_state(state))):
        raise DeployError(
            f"{state} holds placeholder outputs from an offline dry run: remove it, or rebuild it "
            f"from the deployed stacks with `osls-compose refresh-outputs --stage {stage}`"
        )


def _output_values(state: Mapping[str, object]) -> Iterator[object]:
    components = state.get("components")
    for component in components.values() if isinstance(components, dict) else ():
        outputs = component.get("outputs") if isinstance(component, dict) else None
        yield from outputs.values() if isinstance(outputs, dict) else ()


@contextmanager
def seeded_compose_state(root: Path, stage: str) -> Iterator[bool]:
    """Placeholder Compose outputs for offline packaging; a real state file is left untouched.

    Yields True when it seeded (and will remove) the file. SIGTERM is turned into SystemExit
    meanwhile, so a terminated run still removes it.
    """
    if compose_state_path(root, stage).exists():
        yield False
        return
    previous = signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        state = seed_compose_state(root, stage)
        try:
            yield True
        finally:
            state.unlink(missing_ok=True)
    finally:
        signal.signal(signal.SIGTERM, previous)


def _exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def compose_command(request: DeployRequest) -> list[str]:
    """The Compose command line: deploy or package, all services or one."""
    command = ["osls-compose", "package" if request.dry_run else "deploy", "--stage", request.stage]
    if request.service != "all":
        command += ["--service", request.service]
    return command


def deploy(
    request: DeployRequest,
    *,
    runner: Runner = run_subprocess,
    base_environment: Mapping[str, str] | None = None,
    has_aws_credentials: Callable[[], bool] = _has_aws_credentials,
) -> None:
    """Run every step in order; raise DeployError at the first that fails."""
    environment = framework_environment(
        request, os.environ if base_environment is None else base_environment
    )
    services = DEPLOY_ORDER if request.service == "all" else (request.service,)
    with_functions = [service for service in services if service in FUNCTION_SERVICES]
    steps = 6
    print(f"[1/{steps}] checking prerequisites")
    problems = check_prerequisites(
        request,
        environment,
        which=lambda name: shutil.which(name, path=environment["PATH"]),
        has_aws_credentials=has_aws_credentials,
    )
    if problems:
        raise DeployError("missing prerequisites:\n  - " + "\n  - ".join(problems))
    print(f"[2/{steps}] removing stale caches")
    for path in clean_stale_caches(request.root):
        print(f"removed {path}")
    if remove_seeded_state(request.root, request.stage):
        print(f"removed {compose_state_path(request.root, request.stage)} (seeded by a dry run)")
    if not request.dry_run:
        refuse_placeholder_state(request.root, request.stage)
    print(f"[3/{steps}] building and verifying the {ARCH} layers")
    build_layers(request, runner, environment)
    print(f"[4/{steps}] building function packages: {', '.join(with_functions) or 'none'}")
    build_functions(request, with_functions)
    print(f"[5/{steps}] verifying function packages with their layers")
    verify_functions(request, with_functions, runner, environment)
    action = "packaging offline (dry run)" if request.dry_run else "deploying"
    print(f"[6/{steps}] {action} through Compose: {', '.join(services)}")
    if request.dry_run:
        with seeded_compose_state(request.root, request.stage):
            runner(compose_command(request), request.root, environment)
    else:
        runner(compose_command(request), request.root, environment)
    print(f"done: {action} {', '.join(services)} (stage {request.stage})")


def _stage(value: str) -> str:
    if not STAGE_PATTERN.fullmatch(value):
        raise argparse.ArgumentTypeError(
            f"stage {value!r} must be 1-{MAX_STAGE_LENGTH} letters, digits or '-' "
            "(it is part of stack, function and role names)"
        )
    return value


def lambda_regions() -> frozenset[str]:
    """Every region botocore knows Lambda in, from the endpoint data it ships (no network)."""
    import boto3  # noqa: PLC0415 - boto3 is only needed once a region is given

    session = boto3.session.Session()
    return frozenset(
        region
        for partition in session.get_available_partitions()
        for region in session.get_available_regions("lambda", partition_name=partition)
    )


def _region(value: str) -> str:
    regions = lambda_regions()
    if value not in regions:
        close = difflib.get_close_matches(value, sorted(regions), n=3)
        hint = f"did you mean {' or '.join(close)}?" if close else "e.g. eu-west-1"
        raise argparse.ArgumentTypeError(
            f"region {value!r} is not an AWS region with Lambda ({hint})"
        )
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="deploy.sh", description=__doc__.splitlines()[0])
    parser.add_argument("service", nargs="?", default="all", choices=["all", *DEPLOY_ORDER])
    parser.add_argument("--stage", default="dev", type=_stage)
    parser.add_argument(
        "--region", type=_region, help="AWS region (default: AWS_REGION, else eu-west-1)"
    )
    parser.add_argument("--dry-run", action="store_true", help="package offline, call no AWS API")
    parser.add_argument("--builder", choices=["pip", "docker"], default="pip")
    parser.add_argument("--no-emulate", action="store_true", help="skip emulated arm64 imports")
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parents[2])
    return parser


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and deploy; return the exit status."""
    arguments = _parser().parse_args(argv)
    request = DeployRequest(
        root=arguments.root.resolve(),
        service=arguments.service,
        stage=arguments.stage,
        region=arguments.region,
        dry_run=arguments.dry_run,
        builder=arguments.builder,
        emulate=not arguments.no_emulate,
    )
    try:
        deploy(request)
    except DeployError as error:
        print(f"deploy.sh: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
