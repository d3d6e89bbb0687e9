"""Building: pins, hashes, wheels for the right target, slimming, deterministic zips, cache keys."""

import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from layerkit import build
from layerkit.build import (
    Builder,
    BuildError,
    build_layer,
    cache_key,
    check_installed_versions,
    clean,
    layer_paths,
)
from layerkit.manifest import LayerManifest, manifest_name
from layerkit.pack import FIXED_DATE_TIME, file_sha256
from layerkit.pins import PinError, read_pins
from layerkit.slim import REMOVAL_RULES
from layerkit.targets import target

REPO = Path(__file__).resolve().parents[2]


def _project_with_pydantic_layer(root: Path) -> Path:
    (root / "layers" / "pydantic").mkdir(parents=True)
    shutil.copy(
        REPO / "layers" / "pydantic" / "requirements.txt",
        root / "layers" / "pydantic" / "requirements.txt",
    )
    return root


@pytest.mark.parametrize("layer", ["faiss", "pydantic"])
def test_manifest_records_pins_wheels_and_sizes(arm64_layers, layer):
    paths = arm64_layers[layer]
    manifest = LayerManifest.read(paths.manifest)
    requirements_text = paths.requirements.read_text()
    # the installed versions are the pins, and every wheel is one whose hash is pinned
    assert manifest.pins == read_pins(paths.requirements)
    assert {wheel.name for wheel in manifest.wheels} == set(manifest.pins)
    for wheel in manifest.wheels:
        assert f"sha256:{wheel.sha256}" in requirements_text
        assert wheel.wheel.endswith("-any.whl") or "aarch64" in wheel.wheel
    assert manifest.zip_sha256 == file_sha256(paths.zip)
    sizes = manifest.sizes
    assert sizes.zipped_after_slimming == paths.zip.stat().st_size
    assert 0 < sizes.zipped_before_slimming < sizes.unzipped_before_slimming
    # the copy inside the zip describes the same build
    with zipfile.ZipFile(paths.zip) as archive:
        inner = LayerManifest.model_validate_json(archive.read(f"python/{manifest_name(layer)}"))
    assert inner.content_sha256 == manifest.content_sha256
    assert inner.wheels == manifest.wheels


def test_faiss_layer_has_the_release_that_needs_new_manylinux_tags(arm64_layers):
    # faiss-cpu/numpy aarch64 wheels are tagged manylinux_2_27/2_28 only: a build that passed only
    # manylinux2014 would have silently installed older releases
    wheels = LayerManifest.read(arm64_layers["faiss"].manifest).wheels
    faiss_wheel = next(wheel for wheel in wheels if wheel.name == "faiss-cpu")
    assert faiss_wheel.version == "1.15.1"
    assert "manylinux_2_28_aarch64" in faiss_wheel.wheel


def test_slimming_removed_what_the_rules_name_and_left_bytecode(arm64_layers):
    paths = arm64_layers["faiss"]
    slimming = LayerManifest.read(paths.manifest).slimming
    for rule in ("console-scripts", "test-suites", "c-headers", "type-stubs", "static-libraries"):
        assert slimming.removed[rule] > 0, rule
    assert slimming.strip_tool == "aarch64-linux-gnu-strip"
    assert slimming.stripped_files > 0
    with zipfile.ZipFile(paths.zip) as archive:
        names = archive.namelist()
    leftovers = [
        name
        for name in names
        if "/tests/" in name
        or name.endswith((".h", ".pyi", ".a"))
        or name.startswith("python/bin/")
    ]
    assert leftovers == []
    sources = [name for name in names if name.endswith(".py")]
    assert sources
    for source in sources:
        folder, _, module = source.rpartition("/")
        assert f"{folder}/__pycache__/{module[:-3]}.cpython-313.pyc" in names


def test_zip_entries_are_sorted_with_fixed_times_and_modes(arm64_layers):
    with zipfile.ZipFile(arm64_layers["pydantic"].zip) as archive:
        entries = archive.infolist()
    names = [entry.filename for entry in entries]
    assert names == sorted(names)
    assert all(name.startswith("python/") for name in names)
    assert {entry.date_time for entry in entries} == {FIXED_DATE_TIME}
    assert {entry.external_attr >> 16 for entry in entries} <= {0o100644, 0o100755}


def test_two_builds_from_the_same_inputs_give_identical_zips(tmp_path, arm64_layers):
    first = _project_with_pydantic_layer(tmp_path / "first")
    second = _project_with_pydantic_layer(tmp_path / "second")
    arm64 = target("arm64")
    build_layer(first, "pydantic", arm64)
    build_layer(second, "pydantic", arm64)
    digests = {
        file_sha256(layer_paths(root, "pydantic", arm64).zip) for root in (first, second, REPO)
    }
    assert len(digests) == 1


def test_cache_is_reused_only_for_unchanged_inputs(tmp_path):
    root = _project_with_pydantic_layer(tmp_path)
    arm64 = target("arm64")
    paths = layer_paths(root, "pydantic", arm64)
    _, cached = build_layer(root, "pydantic", arm64)
    assert not cached
    _, cached = build_layer(root, "pydantic", arm64)
    assert cached
    key = cache_key(paths, arm64, Builder.PIP)
    assert cache_key(paths, target("x86_64"), Builder.PIP) != key
    assert cache_key(paths, arm64, Builder.DOCKER) != key
    paths.requirements.write_text(paths.requirements.read_text() + "# changed\n")
    assert cache_key(paths, arm64, Builder.PIP) != key
    # a zip that no longer matches its manifest is never reused
    paths.requirements.write_text(paths.requirements.read_text().removesuffix("# changed\n"))
    paths.zip.write_bytes(b"tampered")
    _, cached = build_layer(root, "pydantic", arm64)
    assert not cached


def test_resolver_fallback_to_another_version_fails_the_build(tmp_path):
    dist_info = tmp_path / "numpy-1.26.4.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text("Metadata-Version: 2.1\nName: numpy\nVersion: 1.26.4\n\n")
    with pytest.raises(BuildError, match=r"numpy: pinned 2\.5\.5, installed 1\.26\.4"):
        check_installed_versions(tmp_path, {"numpy": "2.5.5"})


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("numpy>=2 --hash=sha256:" + "0" * 64, "not pinned"),
        ("numpy==2.5.5", "no --hash"),
    ],
)
def test_requirements_must_be_exact_hashed_pins(tmp_path, line, problem):
    requirements = tmp_path / "requirements.txt"
    requirements.write_text(line + "\n")
    with pytest.raises(PinError, match=problem):
        read_pins(requirements)


def test_docker_builder_without_an_engine_fails_clearly(tmp_path):
    engine = subprocess.run(["docker", "info"], capture_output=True, check=False)
    if engine.returncode == 0:
        pytest.skip("a Docker engine answers here")
    root = _project_with_pydantic_layer(tmp_path)
    with pytest.raises(BuildError, match="needs a running Docker engine"):
        build_layer(root, "pydantic", target("arm64"), Builder.DOCKER)


def test_clean_removes_outputs_serverless_folders_and_plugin_cache(tmp_path):
    root, home = tmp_path / "project", tmp_path / "home"
    doomed = [
        root / "build" / "layers" / "arm64",
        root / "services" / "search" / ".serverless",
        root / "layers" / ".serverless",
        home / ".cache" / "serverless-python-requirements" / "abc",
    ]
    kept = root / "build" / "cache" / "sysroot-arm64-trixie"
    for folder in [*doomed, kept]:
        folder.mkdir(parents=True)
    clean(root, home)
    assert [folder for folder in doomed if folder.exists()] == []
    assert kept.exists()


def test_every_removal_rule_says_why():
    assert all(rule.reason for rule in REMOVAL_RULES)
    assert len({rule.name for rule in REMOVAL_RULES}) == len(REMOVAL_RULES)


def test_a_failed_build_keeps_the_last_good_build_intact(tmp_path, monkeypatch):
    root = _project_with_pydantic_layer(tmp_path)
    arm64 = target("arm64")
    paths = layer_paths(root, "pydantic", arm64)
    good, _ = build_layer(root, "pydantic", arm64)
    good_zip = paths.zip.read_bytes()

    def broken_installer(paths, target):
        raise BuildError("the installer failed")

    monkeypatch.setattr(build, "install_with_pip", broken_installer)
    with pytest.raises(BuildError, match="the installer failed"):
        build_layer(root, "pydantic", arm64, force=True)
    # the previous outputs are all still there and consistent with each other
    assert paths.zip.read_bytes() == good_zip
    assert LayerManifest.read(paths.manifest) == good
    assert (paths.python_dir / "pydantic" / "__init__.py").is_file()
    assert sorted(path.name for path in paths.folder.parent.iterdir()) == sorted(
        path.name
        for path in (paths.folder, paths.zip, paths.manifest, paths.cache_key, paths.pip_report)
    )
    monkeypatch.undo()
    _, cached = build_layer(root, "pydantic", arm64)
    assert cached
