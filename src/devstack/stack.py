"""The local stack: both services under serverless-offline, run by a Lambda-like Python.

Dev tooling only (never shipped in a function package). The services run from the same
serverless.yml files that deploy; serverless-offline ignores `layers:` without Docker, so the
host-architecture layer builds go on PYTHONPATH instead, and the Python it starts is a small
"runtime" virtualenv holding only what Lambda itself would provide (the function package's
pure-Python requirements plus boto3).
"""

import hashlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[2]
LAYERS = ("faiss", "pydantic")
# The Lambda python3.13 runtime ships boto3; pin the version the dev tools use.
RUNTIME_BOTO3 = "boto3==1.44.8"
START_SECONDS = 120.0
STOP_SECONDS = 10.0
LOG_TAIL_LINES = 40


class StackError(RuntimeError):
    """The local stack could not be prepared or started."""


@dataclass(frozen=True)
class ServicePorts:
    """Where serverless-offline serves one service: its HTTP API and its Lambda invoke API."""

    http: int
    lambda_: int


@dataclass
class LocalStack:
    """Both services under serverless-offline against a local-directory store."""

    store_dir: Path
    admin_token: str
    search_ports: ServicePorts = ServicePorts(http=3100, lambda_=3102)
    admin_ports: ServicePorts = ServicePorts(http=3200, lambda_=3202)
    refresh_seconds: float = 1.0
    repo: Path = REPO
    # One folder per stack: two stacks logging to the same files would clobber each other's logs.
    log_dir: Path | None = None  # None: build/devstack/ of the repository
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def build_dir(self) -> Path:
        """Where the runtime virtualenv (shared by every stack of the repository) lives."""
        return self.repo / "build" / "devstack"

    @property
    def search_url(self) -> str:
        """Base URL of the search API."""
        return f"http://127.0.0.1:{self.search_ports.http}"

    @property
    def admin_url(self) -> str:
        """Base URL of the admin API."""
        return f"http://127.0.0.1:{self.admin_ports.http}"

    @property
    def admin_lambda_url(self) -> str:
        """serverless-offline's emulated Lambda invoke endpoint of the admin service."""
        return f"http://127.0.0.1:{self.admin_ports.lambda_}"

    @property
    def logs(self) -> Path:
        """The folder holding this stack's service logs."""
        return self.build_dir if self.log_dir is None else self.log_dir

    def log_path(self, service: str) -> Path:
        """The log file of one service's serverless-offline process."""
        return self.logs / f"{service}.log"

    def start(self) -> None:
        """Start both services and wait until each answers over HTTP."""
        runtime = ensure_runtime(self.build_dir / "runtime", self.repo)
        python_path = os.pathsep.join(str(path) for path in pythonpath(self.repo))
        self.store_dir.mkdir(parents=True, exist_ok=True)
        store_url = f"file://{self.store_dir.resolve()}"
        params = {
            "search": [f"storeUrl={store_url}", f"refreshSeconds={self.refresh_seconds}"],
            "admin": [
                f"storeUrl={store_url}",
                f"lambdaEndpointUrl={self.admin_lambda_url}",
            ],
        }
        ports = {"search": self.search_ports, "admin": self.admin_ports}
        try:
            for service in ("search", "admin"):
                self._spawn(service, ports[service], params[service], runtime, python_path)
            self._wait_until_ready("search", f"{self.search_url}/health", {})
            self._wait_until_ready(
                "admin",
                f"{self.admin_url}/collections",
                {"Authorization": f"Bearer {self.admin_token}"},
            )
        except BaseException:
            self.stop()
            raise

    def _spawn(
        self,
        service: str,
        ports: ServicePorts,
        params: list[str],
        runtime: Path,
        python_path: str,
    ) -> None:
        for port in (ports.http, ports.lambda_):
            if not port_is_free(port):
                raise StackError(f"port {port} for the {service} service is already in use")
        env = stack_environment(runtime, python_path)
        if service == "admin":
            # Through the process environment (serverless-offline passes it to the handlers),
            # never serverless.yml: a deployed token would refuse every SigV4-signed request.
            env["VECSEARCH_ADMIN_TOKEN"] = self.admin_token
        command = [
            str(self.repo / "node_modules" / ".bin" / "sls"),
            "offline",
            "start",
            "--httpPort",
            str(ports.http),
            "--lambdaPort",
            str(ports.lambda_),
            *(f"--param={param}" for param in params),
        ]
        log = self.log_path(service)
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("wb") as output:
            self.processes[service] = subprocess.Popen(
                command,
                cwd=self.repo / "services" / service,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # own process group: stop() ends its Python children too
            )

    def _wait_until_ready(self, service: str, url: str, headers: dict[str, str]) -> None:
        process = self.processes[service]
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise StackError(
                    f"the {service} service exited with {process.returncode}\n"
                    + log_tail(self.log_path(service))
                )
            try:
                response = requests.get(url, headers=headers, timeout=30)
            except requests.ConnectionError:
                time.sleep(0.5)
                continue
            if response.status_code == 200:
                return
            raise StackError(
                f"the {service} service answered {response.status_code}: {response.text[:500]}\n"
                + log_tail(self.log_path(service))
            )
        raise StackError(
            f"the {service} service did not answer within {START_SECONDS:.0f} s\n"
            + log_tail(self.log_path(service))
        )

    def stop(self) -> None:
        """Stop every started service (SIGTERM to its process group, SIGKILL if it lingers)."""
        for service, process in list(self.processes.items()):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=STOP_SECONDS)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()
            # children may outlive a leader that exited first
            with suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            del self.processes[service]


@contextmanager
def running(stack: LocalStack) -> Iterator[LocalStack]:
    """Start the stack, yield it, and always stop it (also on Ctrl-C or SIGTERM)."""
    previous = signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        stack.start()
        yield stack
    finally:
        stack.stop()
        signal.signal(signal.SIGTERM, previous)


def _exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def stack_environment(runtime: Path, python_path: str) -> dict[str, str]:
    """The environment of serverless-offline and the Python handlers it starts."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("AWS_", "VECSEARCH_", "PYTHON", "VIRTUAL_ENV"))
    }
    env.update(
        {
            # serverless-offline puts $VIRTUAL_ENV/bin first on PATH and runs `python3` from it
            "VIRTUAL_ENV": str(runtime),
            "PATH": f"{runtime / 'bin'}{os.pathsep}{env.get('PATH', '')}",
            "PYTHONPATH": python_path,
            "PYTHONDONTWRITEBYTECODE": "1",
            "SLS_TELEMETRY_DISABLED": "1",
            "SLS_NOTIFICATIONS_MODE": "off",
            # boto3 signs even local calls: dummy credentials, never the caller's real ones
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",
            "AWS_DEFAULT_REGION": "eu-west-1",
        }
    )
    return env


def pythonpath(repo: Path) -> list[Path]:
    """The project's source plus the host-architecture layer builds, as Lambda's /opt/python."""
    paths = [repo / "src"]
    for layer in LAYERS:
        path = repo / "build" / "layers" / "x86_64" / layer / "python"
        if not path.is_dir():
            raise StackError(
                f"missing layer build {path}: run ./build_layers.sh --arch x86_64 faiss pydantic"
            )
        paths.append(path)
    return paths


def python313() -> str:
    """A python3.13 interpreter: from PATH, else pyenv's versions directory."""
    if sys.version_info[:2] == (3, 13):
        return sys.executable
    found = shutil.which("python3.13")
    if found:
        return found
    pyenv_root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    candidates = sorted(pyenv_root.glob("versions/3.13*/bin/python3.13"))
    if not candidates:
        raise StackError("python3.13 not found on PATH or under pyenv")
    return str(candidates[-1])


def ensure_runtime(venv: Path, repo: Path) -> Path:
    """A virtualenv with only what Lambda provides: function requirements (no deps) and boto3."""
    requirements = repo / "requirements" / "function.txt"
    stamp = venv / ".requirements.sha256"
    wanted = hashlib.sha256(requirements.read_bytes() + RUNTIME_BOTO3.encode()).hexdigest()
    if stamp.is_file() and stamp.read_text() == wanted:
        return venv
    shutil.rmtree(venv, ignore_errors=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet"]
    steps = [
        [python313(), "-m", "venv", str(venv)],
        # no deps: pydantic and friends come from the pydantic layer, as on Lambda
        [*pip, "--no-deps", "-r", str(requirements)],
        [*pip, RUNTIME_BOTO3],
    ]
    for step in steps:
        result = subprocess.run(step, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise StackError(f"{' '.join(step)} failed:\n{result.stdout}{result.stderr}")
    stamp.write_text(wanted)
    return venv


def port_is_free(port: int) -> bool:
    """Whether nothing listens on the local port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


def free_port() -> int:
    """A local port nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def log_tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    """The last lines of a log file, for error messages."""
    if not path.is_file():
        return f"(no log at {path})"
    tail = path.read_text(errors="replace").splitlines()[-lines:]
    return f"--- last {len(tail)} lines of {path} ---\n" + "\n".join(tail)
