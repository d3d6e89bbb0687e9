"""A throwaway copy of the project for packaging and deploy runs, and an offline environment.

Packaging writes .serverless/ folders and Compose state; doing it in a copy keeps the real tree
(and any real Compose state) untouched.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def offline_environment(home: Path, **extra: str) -> dict[str, str]:
    """A Framework environment with no AWS credentials anywhere it could look."""
    return {
        "PATH": f"{ROOT / 'node_modules' / '.bin'}:{Path(sys.executable).parent}:/usr/bin:/bin",
        "HOME": str(home),
        "AWS_CONFIG_FILE": str(home / "no-aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(home / "no-aws-credentials"),
        "SLS_TELEMETRY_DISABLED": "1",
        "SLS_NOTIFICATIONS_MODE": "off",
        "PYTHONPATH": str(ROOT / "src"),
        **extra,
    }


def run(argv: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run a command, capturing output."""
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, check=False)


def copy_project(destination: Path) -> Path:
    """A copy of what packaging reads: configs, plugins, handlers, code; layer builds linked."""
    ignore = shutil.ignore_patterns(".serverless", ".serverless-offline", "__pycache__")
    for folder in ("layers", "services", "src", "requirements", "scripts"):
        shutil.copytree(ROOT / folder, destination / folder, ignore=ignore)
    for name in ("serverless-compose.yml", "deploy.sh", "package.json"):
        shutil.copy2(ROOT / name, destination / name)
    (destination / "node_modules").symlink_to(ROOT / "node_modules")
    (destination / "build").mkdir()
    (destination / "build" / "layers").symlink_to(ROOT / "build" / "layers")
    return destination
