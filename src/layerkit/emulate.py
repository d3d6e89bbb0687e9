"""Run the smoke test on the target: natively for the host arch, under qemu-user for arm64.

The arm64 interpreter comes from a sysroot assembled from Debian trixie arm64 packages with a
private apt configuration (the system's apt setup is never touched) and `dpkg-deb -x`; no chroot,
no binfmt registration. The sysroot is relocatable and cached.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from layerkit import smoke
from layerkit.targets import Target

DEBIAN_MIRROR = "http://deb.debian.org/debian"
DEBIAN_SUITE = "trixie"
DEBIAN_KEYRING = Path("/usr/share/keyrings/debian-archive-keyring.gpg")
SYSROOT_PACKAGES = ("python3.13", "libstdc++6")
QEMU = "qemu-aarch64-static"
QEMU_CPU = "neoverse-n1"  # Graviton2; qemu's default CPU model is several times slower
SMOKE_MODULES = ("numpy", "faiss", "pydantic")
SMOKE_TIMEOUT_SECONDS = 600.0  # the emulated faiss import takes seconds; a hang must not block
TIMING = re.compile(r"import_seconds=([\d.]+) total_seconds=([\d.]+)")


class EmulationUnavailable(RuntimeError):
    """The tools or packages needed to run the target's interpreter are missing."""


@dataclass(frozen=True)
class SmokeResult:
    """Outcome of one smoke run."""

    command: list[str]
    returncode: int
    stdout: str
    stderr: str
    wall_seconds: float
    timed_out: bool = False

    @property
    def passed(self) -> bool:
        """Judged by exit status and our own success line, never by error text."""
        return not self.timed_out and self.returncode == 0 and smoke.SUCCESS_LINE in self.stdout

    @property
    def import_seconds(self) -> float | None:
        """Seconds the smoke test spent importing, as it measured them."""
        match = TIMING.search(self.stdout)
        return float(match.group(1)) if match else None


def _apt_config(base: Path) -> Path:
    apt = base / "apt"
    for folder in ("state/lists/partial", "cache/archives/partial", "etc/parts", "etc/sources"):
        (apt / folder).mkdir(parents=True, exist_ok=True)
    (apt / "state" / "status").touch()
    (apt / "etc" / "sources.list").write_text(
        f"deb [arch=arm64 signed-by={DEBIAN_KEYRING}] {DEBIAN_MIRROR} {DEBIAN_SUITE} main\n"
    )
    settings = {
        "Dir::State": apt / "state",
        "Dir::State::status": apt / "state" / "status",
        "Dir::Cache": apt / "cache",
        "Dir::Etc::SourceList": apt / "etc" / "sources.list",
        "Dir::Etc::SourceParts": apt / "etc" / "sources",
        "Dir::Etc::Parts": apt / "etc" / "parts",
        "Dir::Etc::Preferences": apt / "etc" / "preferences",
        "Dir::Etc::PreferencesParts": apt / "etc" / "parts",
        "Dir::Log": apt / "log",
        "APT::Architecture": "arm64",
        "APT::Architectures": "arm64",
        "APT::Install-Recommends": "false",
        "Acquire::Languages": "none",
        "Debug::NoLocking": "true",
    }
    config = apt / "apt.conf"
    config.write_text("".join(f'{key} "{value}";\n' for key, value in settings.items()))
    return config


def ensure_sysroot(cache_dir: Path) -> Path:
    """An arm64 python3.13 sysroot under `cache_dir`, assembled once and reused."""
    base = cache_dir / f"sysroot-arm64-{DEBIAN_SUITE}"
    root = base / "root"
    marker = base / "complete.json"
    if marker.is_file() and (root / "usr" / "bin" / "python3.13").is_file():
        return root
    for tool in ("apt-get", "dpkg-deb"):
        if shutil.which(tool) is None:
            raise EmulationUnavailable(f"{tool} is needed to assemble the arm64 sysroot")
    config = _apt_config(base)
    environment = {**os.environ, "APT_CONFIG": str(config), "DEBIAN_FRONTEND": "noninteractive"}
    for command in (
        ["apt-get", "-q", "update"],
        ["apt-get", "-q", "-y", "install", "--download-only", *SYSROOT_PACKAGES],
    ):
        result = subprocess.run(
            command, env=environment, capture_output=True, text=True, check=False
        )
        if result.returncode != 0:
            raise EmulationUnavailable(f"{' '.join(command)} failed:\n{result.stderr.strip()}")
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    packages = sorted((base / "apt" / "cache" / "archives").glob("*.deb"))
    for package in packages:
        subprocess.run(["dpkg-deb", "-x", str(package), str(root)], check=True)
    # merged /usr: the loader is looked up as /lib/ld-linux-aarch64.so.1
    for alias in ("lib", "bin", "sbin"):
        if not (root / alias).exists():
            (root / alias).symlink_to(f"usr/{alias}")
    marker.write_text(json.dumps([package.name for package in packages], indent=2) + "\n")
    return root


def smoke_command(
    target: Target, roots: list[Path], modules: list[str], cache_dir: Path
) -> list[str]:
    """The command that runs the smoke test with the target's python3.13."""
    arguments = [
        "-I",  # isolated: no PYTHON* variables, no user site
        "-S",  # no site-packages: only the packages under test and the standard library
        "-B",  # never write bytecode into the packages under test
        str(Path(smoke.__file__).resolve()),
        ",".join(modules),
        *(str(root.resolve()) for root in roots),
    ]
    if target.is_host:
        if sys.version_info[:2] != (3, 13):
            raise EmulationUnavailable("the native smoke test needs python3.13")
        return [getattr(sys, "_base_executable", sys.executable), *arguments]
    if target.gnu_machine != "aarch64":
        raise EmulationUnavailable(f"no emulator for {target.arch} on this host")
    if shutil.which(QEMU) is None:
        raise EmulationUnavailable(f"{QEMU} is missing (Debian package qemu-user-static)")
    sysroot = ensure_sysroot(cache_dir)
    return [QEMU, "-L", str(sysroot), str(sysroot / "usr" / "bin" / "python3.13"), *arguments]


def run_smoke(
    target: Target, roots: list[Path], modules: list[str], cache_dir: Path
) -> SmokeResult:
    """Run the smoke test over `roots` (Lambda's sys.path order) and report how it went."""
    command = smoke_command(target, roots, modules, cache_dir)
    environment = {"PATH": os.environ.get("PATH", ""), "QEMU_CPU": QEMU_CPU, "LANG": "C.UTF-8"}
    started = time.perf_counter()
    try:
        result = subprocess.run(
            command,
            env=environment,
            capture_output=True,
            text=True,
            check=False,
            timeout=SMOKE_TIMEOUT_SECONDS,
        )
    except subprocess.TimeoutExpired as expired:
        return SmokeResult(
            command,
            -1,
            _text(expired.stdout),
            _text(expired.stderr),
            time.perf_counter() - started,
            timed_out=True,
        )
    return SmokeResult(
        command, result.returncode, result.stdout, result.stderr, time.perf_counter() - started
    )


def _text(output: bytes | str | None) -> str:
    return output.decode(errors="replace") if isinstance(output, bytes) else output or ""
