"""Layer tests: the real layers are built once per session (pip caches the wheels)."""

import shutil
from pathlib import Path

import pytest

from layerkit.build import LayerPaths, build_layer, layer_paths
from layerkit.targets import Target, target

REPO = Path(__file__).resolve().parents[2]
CACHE_DIR = REPO / "build" / "cache"
LAYERS = ("faiss", "pydantic")


def _build(arch: str) -> dict[str, LayerPaths]:
    built = {}
    for name in LAYERS:
        build_layer(REPO, name, target(arch))
        built[name] = layer_paths(REPO, name, target(arch))
    return built


@pytest.fixture(scope="session")
def arm64() -> Target:
    return target("arm64")


@pytest.fixture(scope="session")
def arm64_layers() -> dict[str, LayerPaths]:
    return _build("arm64")


@pytest.fixture(scope="session")
def x86_64_layers() -> dict[str, LayerPaths]:
    return _build("x86_64")


@pytest.fixture
def pydantic_copy(arm64_layers: dict[str, LayerPaths], tmp_path: Path) -> Path:
    """A writable copy of the built arm64 pydantic layer folder (contains python/)."""
    copy = tmp_path / "pydantic"
    shutil.copytree(arm64_layers["pydantic"].folder, copy)
    return copy
