"""Building: pins, hashes, wheels for the right target, slimming, deterministic zips, cache keys."""

import base64
import csv
import hashlib
import os
import shutil
import subprocess
import sys
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
    assert sizes.zipped_shipped == paths.zip.stat().st_size
    assert 0 < sizes.zipped_installed < sizes.unzipped_installed
    # installed and slimmed both exclude bytecode, so slimming never looks like growth
    assert sizes.unzipped_slimmed_without_bytecode < sizes.unzipped_installed
    assert sizes.unzipped_slimmed_without_bytecode < sizes.unzipped_shipped
    with zipfile.ZipFile(paths.zip) as archive:
        assert sum(entry.file_size for entry in archive.infolist()) == sizes.unzipped_shipped
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
    # every RECORD lists exactly the files its distribution left, with their slimmed hashes
    for record in paths.python_dir.glob("*.dist-info/RECORD"):
        for row in csv.reader(record.read_text().splitlines()):
            listed = paths.python_dir / row[0]
            assert listed.is_file(), row[0]
            if row[1]:
                digest = base64.urlsafe_b64encode(hashlib.sha256(listed.read_bytes()).digest())
                assert row[1] == "sha256=" + digest.rstrip(b"=").decode(), row[0]
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
    # changed requirements rebuild
    _, cached = build_layer(root, "pydantic", arm64)
    assert not cached
    # a zip that no longer matches its manifest is never reused
    paths.zip.write_bytes(b"tampered")
    _, cached = build_layer(root, "pydantic", arm64)
    assert not cached


def test_cache_key_covers_pip_strip_tool_and_slimming_code(tmp_path, monkeypatch):
    root = _project_with_pydantic_layer(tmp_path)
    arm64 = target("arm64")
    paths = layer_paths(root, "pydantic", arm64)
    key = cache_key(paths, arm64, Builder.PIP)
    assert {"elf.py", "pins.py", "slim.py"} <= set(build.RECIPE_MODULES)
    with monkeypatch.context() as patch:
        patch.setattr(build.metadata, "version", lambda name: "0.1")
        assert cache_key(paths, arm64, Builder.PIP) != key
    with monkeypatch.context() as patch:
        patch.setattr(type(arm64), "strip_command", lambda self: None)
        assert cache_key(paths, arm64, Builder.PIP) != key
    assert cache_key(paths, arm64, Builder.PIP) == key


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
    docker = shutil.which("docker")
    if (
        docker
        and subprocess.run([docker, "info"], capture_output=True, check=False).returncode == 0
    ):
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


def test_faiss_layer_is_identical_whatever_interpreter_path_builds_it(tmp_path, arm64_layers):
    # pip writes the building interpreter's path into bin/ scripts and their hashes into RECORD:
    # build again with a python3.13 at another path (a pip-less venv borrowing .venv's packages)
    other = tmp_path / "another-interpreter"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(other)], check=True)
    root = tmp_path / "project"
    (root / "layers" / "faiss").mkdir(parents=True)
    shutil.copy(arm64_layers["faiss"].requirements, root / "layers" / "faiss" / "requirements.txt")
    site_packages = next(Path(sys.prefix, "lib").glob("python3.13/site-packages"))
    subprocess.run(
        [other / "bin" / "python", "-m", "layerkit", "--root", str(root), "build", "--no-verify",
         "faiss"],
        check=True, env={**os.environ, "PYTHONPATH": f"{REPO / 'src'}:{site_packages}"},
    )  # fmt: skip
    rebuilt = layer_paths(root, "faiss", target("arm64"))
    assert file_sha256(rebuilt.zip) == file_sha256(arm64_layers["faiss"].zip)
    assert (
        LayerManifest.read(rebuilt.manifest).content_sha256
        == LayerManifest.read(arm64_layers["faiss"].manifest).content_sha256
    )


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("pydantic>=2.14.4     --hash=sha256:" + "0" * 64, "'pydantic>=2.14.4' is not pinned"),
        ("pydantic==2.14.4", "'pydantic==2.14.4' has no --hash"),
        ("pydantic=>2 --hash=sha256:" + "0" * 64, "'pydantic=>2' is not a requirement"),
    ],
)
def test_cli_build_reports_bad_requirements_without_a_traceback(tmp_path, line, message):
    (tmp_path / "layers" / "pydantic").mkdir(parents=True)
    (tmp_path / "layers" / "pydantic" / "requirements.txt").write_text(line + "\n")
    result = subprocess.run(
        [sys.executable, "-m", "layerkit", "--root", str(tmp_path), "build", "pydantic"],
        capture_output=True, text=True, check=False,
        env={**os.environ, "PYTHONPATH": str(REPO / "src")},
    )  # fmt: skip
    assert result.returncode == 1
    assert message in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("arguments", [["--clean"], ["--arch", "arm64", "--clean"]])
def test_clean_works_anywhere_among_the_arguments(tmp_path, arguments):
    root, home = tmp_path / "project", tmp_path / "home"
    (root / "build" / "layers" / "arm64").mkdir(parents=True)
    result = subprocess.run(
        [sys.executable, "-m", "layerkit", "--root", str(root), "build", *arguments],
        capture_output=True, text=True, check=False,
        env={**os.environ, "PYTHONPATH": str(REPO / "src"), "HOME": str(home)},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert not (root / "build" / "layers").exists()


@pytest.mark.parametrize("name", ["pydantic", "layers/pydantic/"])
def test_clean_with_layer_names_cleans_then_builds_them(tmp_path, name):
    root = _project_with_pydantic_layer(tmp_path / "project")
    stale = root / "build" / "layers" / "arm64" / "stale.zip"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"old")
    result = subprocess.run(
        [sys.executable, "-m", "layerkit", "--root", str(root), "build", "--clean",
         "--no-verify", name],
        capture_output=True, text=True, check=False,
        env={**os.environ, "PYTHONPATH": str(REPO / "src"), "HOME": str(tmp_path / "home")},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert not stale.exists()
    paths = layer_paths(root, "pydantic", target("arm64"))
    assert sorted(path.name for path in (root / "build" / "layers" / "arm64").iterdir()) == sorted(
        path.name
        for path in (paths.folder, paths.zip, paths.manifest, paths.cache_key, paths.pip_report)
    )


def _layerkit(
    root: Path | None, *arguments: str, cwd: Path | None = None, home: Path | None = None
):
    rooted = ["--root", str(root)] if root is not None else []
    return subprocess.run(
        [sys.executable, "-m", "layerkit", *rooted, *arguments],
        capture_output=True, text=True, check=False, cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(REPO / "src"), "HOME": str(home or REPO / "nohome")},
    )  # fmt: skip


@pytest.mark.parametrize(
    "arguments",
    [
        ["--no-verify", "pydantic", "bogus"],  # pydantic used to be built before bogus failed
        ["--clean", "bogus"],  # used to clean everything, then fail
        ["--no-verify", "../pydantic"],
        ["--no-verify", "layers/pydantic/requirements.txt"],
    ],
)
def test_unknown_layer_names_are_refused_before_any_work(tmp_path, arguments):
    root = _project_with_pydantic_layer(tmp_path / "project")
    kept = root / "build" / "layers" / "arm64" / "pydantic.zip"
    kept.parent.mkdir(parents=True)
    kept.write_bytes(b"last good build")
    result = _layerkit(root, "build", *arguments, home=tmp_path / "home")
    assert result.returncode == 2
    unknown = arguments[-1]
    assert f"unknown layer {unknown!r}" in result.stderr
    assert f"the layers in {root / 'layers'} are pydantic" in result.stderr
    assert "Traceback" not in result.stderr
    assert sorted(path.name for path in kept.parent.iterdir()) == ["pydantic.zip"]
    assert kept.read_bytes() == b"last good build"


def test_build_layer_refuses_a_name_that_is_not_a_layer_folder(tmp_path):
    root = _project_with_pydantic_layer(tmp_path)
    with pytest.raises(BuildError, match=r"no layer 'pydantic/'.*\(pydantic\)"):
        build_layer(root, "pydantic/", target("arm64"))
    assert not (root / "build").exists()


def test_the_default_root_is_the_repository_not_the_working_directory(tmp_path):
    # a layers/ folder in the working directory is not the project's
    (tmp_path / "layers" / "elsewhere").mkdir(parents=True)
    (tmp_path / "layers" / "elsewhere" / "requirements.txt").write_text("")
    result = _layerkit(None, "build", "elsewhere", cwd=tmp_path)
    assert result.returncode == 2
    assert f"the layers in {REPO / 'layers'} are faiss, pydantic" in result.stderr
    assert list(tmp_path.iterdir()) == [tmp_path / "layers"]


def test_clean_keeps_compose_state_of_real_deployments(tmp_path):
    root, home = tmp_path / "project", tmp_path / "home"
    compose = root / ".serverless"
    compose.mkdir(parents=True)
    states = {name: f'{{"components": {{"{name}": {{}}}}}}' for name in ("prod", "dev-eu")}
    for stage, text in states.items():
        (compose / f"state.{stage}.json").write_text(text)
    (compose / "compose.log").write_text("verbose log\n")
    service_output = root / "services" / "search" / ".serverless"
    service_output.mkdir(parents=True)
    (service_output / "state.prod.json").write_text("{}")  # a service's own build output
    result = _layerkit(root, "build", "--clean", home=home)
    assert result.returncode == 0, result.stderr
    assert sorted(path.name for path in compose.iterdir()) == [
        "state.dev-eu.json",
        "state.prod.json",
    ]
    assert all((compose / f"state.{s}.json").read_text() == t for s, t in states.items())
    assert not service_output.exists()
    assert f"removed {compose / 'compose.log'}" in result.stdout
    # with only build output left, the root .serverless/ goes entirely
    (compose / "state.prod.json").unlink()
    (compose / "state.dev-eu.json").rename(compose / "compose.log")
    assert clean(root, home) == [compose / "compose.log", compose]
    assert not compose.exists()
