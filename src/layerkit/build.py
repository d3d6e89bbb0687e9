"""Build a layer: install pinned wheels for the target, check versions, slim, pack, describe."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from enum import StrEnum
from importlib import metadata
from pathlib import Path

from packaging.utils import canonicalize_name

from layerkit import pack, slim
from layerkit.distributions import installed_distributions
from layerkit.manifest import LayerManifest, SizeRecord, WheelRecord, manifest_name
from layerkit.pins import read_pins
from layerkit.targets import PYTHON_TAG, PYTHON_VERSION, Target

LAYER_PREFIX = "/opt/python"
DOCKER_IMAGE = "public.ecr.aws/sam/build-python3.13"
# Sources whose change must invalidate cached builds (what the build does to the files).
RECIPE_MODULES = ("build.py", "slim.py", "pack.py", "manifest.py", "elf.py", "pins.py")
# pip --target's console scripts: their shebang names the building interpreter
PIP_SCRIPTS = frozenset({"python/bin"})
COMPOSE_STATE = re.compile(r"state\.[^/]+\.json")  # .serverless/state.<stage>.json at the root


class Builder(StrEnum):
    """How wheels get installed: pip with platform tags, or pip inside the SAM build image."""

    PIP = "pip"
    DOCKER = "docker"


class BuildError(RuntimeError):
    """A layer that cannot be built as pinned."""


@dataclass(frozen=True)
class LayerPaths:
    """Where one layer's requirements and build outputs live."""

    name: str
    requirements: Path
    folder: Path  # contains python/
    zip: Path
    manifest: Path
    cache_key: Path
    pip_report: Path

    @property
    def python_dir(self) -> Path:
        """The folder that becomes /opt/python on Lambda."""
        return self.folder / "python"


def layer_names(root: Path) -> list[str]:
    """Every layer defined under `layers/` (a folder with a requirements.txt)."""
    return sorted(path.parent.name for path in (root / "layers").glob("*/requirements.txt"))


def layer_paths(root: Path, name: str, target: Target) -> LayerPaths:
    """Paths for layer `name` built for `target` under `build/layers/<arch>/`."""
    return _paths_under(
        root / "build" / "layers" / target.arch, name, root / "layers" / name / "requirements.txt"
    )


def _paths_under(out: Path, name: str, requirements: Path) -> LayerPaths:
    return LayerPaths(
        name=name,
        requirements=requirements,
        folder=out / name,
        zip=out / f"{name}.zip",
        manifest=out / f"{name}.manifest.json",
        cache_key=out / f"{name}.key",
        pip_report=out / f"{name}.pip-report.json",
    )


def cache_key(paths: LayerPaths, target: Target, builder: Builder) -> str:
    """Hash of what a build depends on: requirements, target, builder, pip, strip tool, recipe."""
    recipe = Path(__file__).parent
    inputs = {
        "requirements": pack.file_sha256(paths.requirements),
        "arch": target.arch.value,
        "python": PYTHON_VERSION,
        "platform_tags": list(target.platform_tags),
        "builder": builder.value,
        "installer": DOCKER_IMAGE
        if builder is Builder.DOCKER
        else f"pip {metadata.version('pip')}",
        "strip_tool": target.strip_command(),
        "recipe": {name: pack.file_sha256(recipe / name) for name in RECIPE_MODULES},
    }
    return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()


def cached_manifest(paths: LayerPaths, key: str) -> LayerManifest | None:
    """The manifest of a previous build with the same cache key whose outputs are all present."""
    outputs = (paths.cache_key, paths.zip, paths.manifest, paths.python_dir)
    if not all(path.exists() for path in outputs) or paths.cache_key.read_text().strip() != key:
        return None
    manifest = LayerManifest.read(paths.manifest)
    if manifest.zip_sha256 != pack.file_sha256(paths.zip):
        return None
    return manifest


def pip_install_command(target: Target, python_dir: str) -> list[str]:
    """The pip command that installs exactly the pinned binary wheels for `target`."""
    command = [
        "install",
        "--require-hashes",
        "--only-binary=:all:",
        "--no-compile",
        "--no-input",
        "--python-version",
        PYTHON_VERSION,
        "--implementation",
        "cp",
        "--abi",
        PYTHON_TAG,
        "--abi",
        "abi3",
        "--abi",
        "none",
    ]
    for tag in target.platform_tags:
        command += ["--platform", tag]
    return [*command, "--target", python_dir, "-r"]


def install_with_pip(paths: LayerPaths, target: Target) -> None:
    """Install the pinned wheels with this interpreter's pip, cross-target by platform tags."""
    command = [
        sys.executable,
        "-m",
        "pip",
        *pip_install_command(target, str(paths.python_dir)),
        str(paths.requirements),
        "--report",
        str(paths.pip_report),
        "--quiet",
    ]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise BuildError(f"pip could not install {paths.requirements}:\n{result.stderr.strip()}")


def install_with_docker(paths: LayerPaths, target: Target) -> None:
    """Install the pinned wheels with pip inside the SAM python3.13 build image for the target."""
    docker = shutil.which("docker")
    probe = (
        subprocess.run([docker or "docker", "info"], capture_output=True, text=True, check=False)
        if docker
        else None
    )
    if probe is None or probe.returncode != 0:
        raise BuildError(
            "builder 'docker' needs a running Docker engine and none answers here "
            "(`docker info` failed); use --builder pip, which needs no Docker"
        )
    command = [
        docker or "docker",
        "run",
        "--rm",
        "--platform",
        target.docker_platform,
        "-v",
        f"{paths.requirements.resolve()}:/layer/requirements.txt:ro",
        "-v",
        f"{paths.folder.parent.resolve()}:/out",
        DOCKER_IMAGE,
        "python3.13",
        "-m",
        "pip",
        *pip_install_command(target, f"/out/{paths.name}/python"),
        "/layer/requirements.txt",
        "--report",
        f"/out/{paths.pip_report.name}",
    ]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise BuildError(f"docker build of {paths.name} failed:\n{result.stderr.strip()}")


def wheel_records(pip_report: Path) -> list[WheelRecord]:
    """Wheel file names and sha256 of everything pip installed, from its --report."""
    report = json.loads(pip_report.read_text())
    records = []
    for item in report["install"]:
        download = item["download_info"]
        records.append(
            WheelRecord(
                name=canonicalize_name(item["metadata"]["name"]),
                version=item["metadata"]["version"],
                wheel=download["url"].rsplit("/", 1)[-1],
                sha256=download["archive_info"]["hashes"]["sha256"],
            )
        )
    return sorted(records, key=lambda record: record.name)


def check_installed_versions(python_dir: Path, pins: dict[str, str]) -> None:
    """Fail when pip installed anything other than exactly the pins (a resolver fallback)."""
    installed = {name: dist.version for name, dist in installed_distributions(python_dir).items()}
    wrong = {
        name: (pins.get(name), installed.get(name))
        for name in set(pins) | set(installed)
        if pins.get(name) != installed.get(name)
    }
    if wrong:
        details = ", ".join(
            f"{name}: pinned {pin or '-'}, installed {got or '-'}"
            for name, (pin, got) in sorted(wrong.items())
        )
        raise BuildError(f"installed versions differ from the pins: {details}")


def zipped_bytes(folder: Path, *, skip: frozenset[str] = frozenset()) -> int:
    """Size of a deterministic zip of `folder` (less the folders `skip` names), made aside."""
    with tempfile.TemporaryDirectory() as scratch:
        measured = Path(scratch, "measure.zip")
        pack.pack_zip(folder, measured, skip=skip)
        return measured.stat().st_size


def build_layer(
    root: Path, name: str, target: Target, builder: Builder = Builder.PIP, *, force: bool = False
) -> tuple[LayerManifest, bool]:
    """Build, slim, pack and describe one layer; return its manifest and whether it was cached."""
    paths = layer_paths(root, name, target)
    known = layer_names(root)
    if name not in known:
        raise BuildError(f"no layer {name!r} in {root / 'layers'} ({', '.join(known) or 'none'})")
    pins = read_pins(paths.requirements)
    key = cache_key(paths, target, builder)
    if not force and (manifest := cached_manifest(paths, key)) is not None:
        return manifest, True
    paths.folder.parent.mkdir(parents=True, exist_ok=True)
    # build beside the outputs and swap in only on success: a failed build keeps the last good one
    staging = Path(tempfile.mkdtemp(prefix=f".{name}-building-", dir=paths.folder.parent))
    try:
        staged = _paths_under(staging, name, paths.requirements)
        manifest = _build_into(staged, target, builder, pins)
        _swap_in(staged, paths, staging / "previous", key)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return manifest, False


def _build_into(
    paths: LayerPaths, target: Target, builder: Builder, pins: dict[str, str]
) -> LayerManifest:
    paths.python_dir.mkdir(parents=True)
    installer = install_with_docker if builder is Builder.DOCKER else install_with_pip
    installer(paths, target)
    check_installed_versions(paths.python_dir, pins)
    slim.rewrite_records(paths.python_dir)  # drops the bin/ scripts' interpreter-dependent lines
    unzipped_installed = pack.tree_bytes(paths.folder, skip=PIP_SCRIPTS)
    zipped_installed = zipped_bytes(paths.folder, skip=PIP_SCRIPTS)
    slimming = slim.slim(paths.python_dir, target.strip_command(), LAYER_PREFIX)
    unzipped_slimmed = pack.tree_bytes(paths.folder) - slim.bytecode_bytes(paths.python_dir)
    inner_name = manifest_name(paths.name)
    manifest = LayerManifest(
        layer=paths.name,
        arch=target.arch.value,
        python=PYTHON_VERSION,
        builder=builder.value,
        platform_tags=list(target.platform_tags),
        pins=pins,
        wheels=wheel_records(paths.pip_report),
        content_sha256=pack.tree_sha256(paths.python_dir, exclude=frozenset({inner_name})),
        slimming=slimming,
        sizes=SizeRecord(
            unzipped_installed=unzipped_installed,
            zipped_installed=zipped_installed,
            unzipped_slimmed_without_bytecode=unzipped_slimmed,
            unzipped_shipped=0,
        ),
    )
    manifest.write(paths.python_dir / inner_name)
    manifest.sizes.unzipped_shipped = pack.tree_bytes(paths.folder)
    pack.pack_zip(paths.folder, paths.zip)
    manifest.sizes.zipped_shipped = paths.zip.stat().st_size
    manifest.zip_sha256 = pack.file_sha256(paths.zip)
    manifest.write(paths.manifest)
    return manifest


def _swap_in(staged: LayerPaths, paths: LayerPaths, trash: Path, key: str) -> None:
    paths.cache_key.unlink(missing_ok=True)
    if paths.folder.exists():
        paths.folder.rename(trash)
    staged.folder.rename(paths.folder)
    for source, destination in (
        (staged.zip, paths.zip),
        (staged.manifest, paths.manifest),
        (staged.pip_report, paths.pip_report),
    ):
        source.replace(destination)
    paths.cache_key.write_text(key + "\n")


def clean(root: Path, home: Path) -> list[Path]:
    """Remove build outputs, `.serverless/` folders of services and layers, and the plugin cache.

    The root `.serverless/` is Compose's: its `state.<stage>.json` files hold the outputs of real
    deployments (single-service deploys read them), so only the rest of it is removed.
    """
    compose = root / ".serverless"
    targets = [
        root / "build" / "layers",
        *sorted(path for path in compose.glob("*") if not COMPOSE_STATE.fullmatch(path.name)),
        *sorted((root / "services").glob("*/.serverless")),
        *sorted((root / "layers").glob("**/.serverless")),
        home / ".cache" / "serverless-python-requirements",
    ]
    removed = [path for path in targets if path.exists()]
    for path in removed:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()
    if compose.is_dir() and not any(compose.iterdir()):
        compose.rmdir()
        removed.append(compose)
    return removed
