"""Verification: the real layers pass everything; each broken fixture fails the right check."""

import importlib.util
import json
import os
import py_compile
import re
import shutil
import struct
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from layerkit import emulate, smoke
from layerkit.targets import target
from layerkit.verify import UNZIPPED_LIMIT, verify

REPO = Path(__file__).resolve().parents[2]
CACHE_DIR = REPO / "build" / "cache"

PYDANTIC_CORE = "python/pydantic_core/_pydantic_core.cpython-313-aarch64-linux-gnu.so"


def _errors(report):
    return {
        (finding.check, finding.package, finding.path)
        for finding in report.findings
        if finding.severity == "error"
    }


def test_real_arm64_layers_pass_everything_including_the_emulated_import(arm64, arm64_layers):
    report = verify(
        arm64,
        [arm64_layers["faiss"].zip, arm64_layers["pydantic"].zip],
        None,
        emulate=True,
        cache_dir=CACHE_DIR,
    )
    assert report.findings == []
    assert report.ok
    assert report.smoke is not None
    assert report.smoke.command[0] == "qemu-aarch64-static"
    assert "modules=numpy,faiss,pydantic" in report.smoke.stdout
    summary = report.to_json()
    assert summary["combined_unzipped_bytes"] < UNZIPPED_LIMIT
    assert summary["packages"][0]["breakdown"]["numpy"] > 0
    print(report.render())


def test_x86_64_layers_pass_the_native_smoke_test(x86_64_layers):
    report = verify(
        target("x86_64"),
        [x86_64_layers["faiss"].folder, x86_64_layers["pydantic"].folder / "python"],
        None,
        emulate=True,
        cache_dir=CACHE_DIR,
    )
    assert report.ok, report.render()
    assert report.smoke is not None
    assert report.smoke.command[0] != "qemu-aarch64-static"


def test_x86_64_pydantic_core_in_an_arm64_layer_fails_elf_check_and_emulated_import(
    arm64, pydantic_copy, x86_64_layers
):
    # what a cross-build without platform tags produces: the host's extension in the arm64 layer
    x86_extension = next(
        (x86_64_layers["pydantic"].python_dir / "pydantic_core").glob("_pydantic_core.*.so")
    )
    (pydantic_copy / PYDANTIC_CORE).unlink()
    shutil.copy(x86_extension, pydantic_copy / "python" / "pydantic_core" / x86_extension.name)
    planted = f"python/pydantic_core/{x86_extension.name}"
    report = verify(arm64, [pydantic_copy], None, emulate=True, cache_dir=CACHE_DIR)
    assert not report.ok
    assert ("elf-machine", "pydantic", planted) in _errors(report)
    assert ("extension-suffix", "pydantic", planted) in _errors(report)
    assert ("emulated-import", "pydantic", ".") in _errors(report)
    assert report.smoke is not None
    assert not report.smoke.passed


def test_cpython_312_extension_in_a_313_layer_fails_the_suffix_check(arm64, pydantic_copy):
    wrong = "python/pydantic_core/_pydantic_core.cpython-312-aarch64-linux-gnu.so"
    (pydantic_copy / PYDANTIC_CORE).rename(pydantic_copy / wrong)
    report = verify(arm64, [pydantic_copy], None, emulate=False, cache_dir=CACHE_DIR)
    assert _errors(report) == {("extension-suffix", "pydantic", wrong)}


def _aarch64_library_needing_glibc_2_35(workdir: Path) -> Path:
    """A real arm64 shared object whose symbol version needs say GLIBC_2.35 from libc.so.6."""
    workdir.mkdir()
    (workdir / "libc.s").write_text(
        ".text\n.globl epoll_pwait2\n.type epoll_pwait2,%function\nepoll_pwait2:\n ret\n"
    )
    (workdir / "glibc.map").write_text("GLIBC_2.35 { global: epoll_pwait2; local: *; };\n")
    (workdir / "user.s").write_text(".text\n.globl wait_events\nwait_events:\n b epoll_pwait2\n")
    commands = [
        ["aarch64-linux-gnu-as", "-o", "libc.o", "libc.s"],
        ["aarch64-linux-gnu-ld", "-shared", "-soname", "libc.so.6", "--version-script",
         "glibc.map", "-o", "libc.so.6", "libc.o"],
        ["aarch64-linux-gnu-as", "-o", "user.o", "user.s"],
        ["aarch64-linux-gnu-ld", "-shared", "-o", "libwaits.so", "user.o", "libc.so.6"],
    ]  # fmt: skip
    for command in commands:
        subprocess.run(command, cwd=workdir, check=True)
    return workdir / "libwaits.so"


def test_shared_object_needing_glibc_2_35_fails_the_symbol_version_check(
    arm64, pydantic_copy, tmp_path
):
    library = _aarch64_library_needing_glibc_2_35(tmp_path / "toolchain")
    shutil.copy(library, pydantic_copy / "python" / "pydantic_core" / "libwaits.so")
    report = verify(arm64, [pydantic_copy], None, emulate=False, cache_dir=CACHE_DIR)
    assert _errors(report) == {("symbol-versions", "pydantic", "python/pydantic_core/libwaits.so")}
    assert "GLIBC_2.35" in report.findings[0].message


def test_same_distribution_in_two_layers_fails_the_overlap_check(arm64, pydantic_copy, tmp_path):
    extra = tmp_path / "typing-extras" / "python"
    extra.mkdir(parents=True)
    (extra / "__pycache__").mkdir()
    for name in (
        "typing_extensions.py",
        "__pycache__/typing_extensions.cpython-313.pyc",
        "typing_extensions-4.16.0.dist-info",
    ):
        source = pydantic_copy / "python" / name
        copy = shutil.copytree if source.is_dir() else shutil.copy
        copy(source, extra / name)
    report = verify(arm64, [pydantic_copy, extra.parent], None, emulate=False, cache_dir=CACHE_DIR)
    assert _errors(report) == {
        ("overlap", "typing-extras", "python/typing_extensions-4.16.0.dist-info"),
        ("overlap", "typing-extras", "python/typing_extensions.py"),
    }


def _copy_of_packaging_without_its_dist_info(faiss_python: Path, layer: Path) -> Path:
    copy = shutil.copytree(faiss_python / "packaging", layer / "python" / "packaging")
    assert not list((layer / "python").glob("packaging-*.dist-info"))
    return copy


def test_a_module_in_two_layers_without_its_dist_info_fails_the_overlap_check(
    arm64, arm64_layers, pydantic_copy
):
    _copy_of_packaging_without_its_dist_info(arm64_layers["faiss"].python_dir, pydantic_copy)
    report = verify(
        arm64, [arm64_layers["faiss"].zip, pydantic_copy], None, emulate=False, cache_dir=CACHE_DIR
    )
    assert _errors(report) == {("overlap", "pydantic", "python/packaging")}
    assert "faiss (python/packaging)" in report.findings[0].message


def test_namespace_package_portions_in_two_layers_overlap_only_on_shared_files(arm64, tmp_path):
    for layer, module in (("first", "alpha.py"), ("second", "beta.py")):
        (tmp_path / layer / "python" / "acme").mkdir(parents=True)
        (tmp_path / layer / "python" / "acme" / module).write_text("")
    layers = [tmp_path / "first", tmp_path / "second"]
    report = verify(arm64, layers, None, emulate=False, cache_dir=CACHE_DIR)
    assert "overlap" not in {check for check, _, _ in _errors(report)}
    (tmp_path / "second" / "python" / "acme" / "alpha.py").write_text("")
    report = verify(arm64, layers, None, emulate=False, cache_dir=CACHE_DIR)
    assert ("overlap", "second", "python/acme") in _errors(report)


def test_the_emulated_import_takes_a_module_in_two_layers_from_the_later_one(
    arm64, arm64_layers, pydantic_copy
):
    # Lambda extracts the layers into one /opt in order: the later layer's packaging/ wins
    packaging = _copy_of_packaging_without_its_dist_info(
        arm64_layers["faiss"].python_dir, pydantic_copy
    )
    init = packaging / "__init__.py"
    init.write_text('raise ImportError("the pydantic layer\'s copy of packaging")\n')
    py_compile.compile(
        str(init),
        cfile=importlib.util.cache_from_source(str(init)),
        invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
    )
    pydantic_last = verify(
        arm64, [arm64_layers["faiss"].zip, pydantic_copy], None, emulate=True, cache_dir=CACHE_DIR
    )
    assert _errors(pydantic_last) == {
        ("overlap", "pydantic", "python/packaging"),
        ("emulated-import", "faiss+pydantic", "."),
    }
    assert "the pydantic layer's copy of packaging" in pydantic_last.findings[-1].message
    faiss_last = verify(
        arm64, [pydantic_copy, arm64_layers["faiss"].zip], None, emulate=True, cache_dir=CACHE_DIR
    )
    assert _errors(faiss_last) == {("overlap", "faiss", "python/packaging")}
    assert faiss_last.smoke is not None
    assert faiss_last.smoke.passed


def test_function_package_carrying_numpy_fails_the_overlap_check(arm64, arm64_layers, tmp_path):
    function = tmp_path / "search"
    function.mkdir()
    (function / "handler.py").write_text("def handler(event, context):\n    return {}\n")
    faiss_python = arm64_layers["faiss"].python_dir
    shutil.copytree(faiss_python / "numpy", function / "numpy")
    shutil.copytree(faiss_python / "numpy.libs", function / "numpy.libs")
    shutil.copytree(faiss_python / "numpy-2.5.5.dist-info", function / "numpy-2.5.5.dist-info")
    report = verify(
        arm64, [arm64_layers["faiss"].zip], function, emulate=False, cache_dir=CACHE_DIR
    )
    assert ("overlap", "search", "numpy") in _errors(report)
    assert {finding.check for finding in report.findings if finding.severity == "error"} == {
        "overlap"
    }


def test_over_size_layer_fails_the_size_check(arm64, pydantic_copy):
    # a sparse file: its full length counts as unzipped size but takes no disk space
    padding = pydantic_copy / "python" / "padding.bin"
    with padding.open("wb") as stream:
        stream.truncate(UNZIPPED_LIMIT + 1)
    report = verify(arm64, [pydantic_copy], None, emulate=False, cache_dir=CACHE_DIR)
    assert ("size", "pydantic", ".") in _errors(report)


def test_cli_verify_exits_non_zero_with_json_naming_the_file(tmp_path, pydantic_copy):
    wrong = "python/pydantic_core/_pydantic_core.cpython-312-aarch64-linux-gnu.so"
    (pydantic_copy / PYDANTIC_CORE).rename(pydantic_copy / wrong)
    broken_zip = tmp_path / "pydantic.zip"
    with zipfile.ZipFile(broken_zip, "w") as archive:
        for path in sorted(pydantic_copy.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(pydantic_copy).as_posix())
    result = subprocess.run(
        [sys.executable, "-m", "layerkit", "--root", str(REPO), "verify", "--no-emulate",
         "--json", "--layer", str(broken_zip)],
        capture_output=True, text=True, check=False,
        env={**os.environ, "PYTHONPATH": str(REPO / "src")},
    )  # fmt: skip
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert report["ok"] is False
    assert [(f["check"], f["path"]) for f in report["findings"]] == [("extension-suffix", wrong)]
    assert report["packages"][0]["zipped_bytes"] == broken_zip.stat().st_size


def test_arm64_layer_verified_as_x86_64_fails_machine_suffix_and_manifest(arm64_layers):
    report = verify(
        target("x86_64"), [arm64_layers["pydantic"].zip], None, emulate=False, cache_dir=CACHE_DIR
    )
    checks = {finding.check for finding in report.findings}
    assert {"elf-machine", "extension-suffix", "pins"} <= checks


def _zip_folder(folder: Path, zip_path: Path) -> Path:
    zip_path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(zip_path, "w") as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(folder).as_posix())
    return zip_path


def _layer_with_metadata(root: Path, dist_info: str, metadata: bytes) -> Path:
    (root / "python" / dist_info).mkdir(parents=True)
    (root / "python" / dist_info / "METADATA").write_bytes(metadata)
    return root


def test_missing_function_package_or_layer_is_an_error_saying_it_does_not_exist(
    arm64, arm64_layers, tmp_path
):
    report = verify(
        arm64,
        [arm64_layers["pydantic"].zip, tmp_path / "gone.zip"],
        tmp_path / "search.zip",
        emulate=False,
        cache_dir=CACHE_DIR,
    )
    assert _errors(report) == {("exists", "gone", "."), ("exists", "search", ".")}
    assert all("does not exist" in finding.message for finding in report.findings)


def test_nested_python_folder_fails_the_layout_check(arm64, tmp_path):
    layer = _layer_with_metadata(
        tmp_path / "nested" / "layer", "foo-1.0.dist-info", b"Name: foo\nVersion: 1.0\n\n"
    )
    nested_zip = _zip_folder(tmp_path / "nested", tmp_path / "nested.zip")
    assert layer.is_dir()
    report = verify(arm64, [nested_zip], None, emulate=False, cache_dir=CACHE_DIR)
    assert _errors(report) == {("layout", "nested", ".")}


def test_layers_with_the_same_file_name_are_opened_apart(arm64, arm64_layers, tmp_path):
    shutil.copy(
        arm64_layers["pydantic"].zip,
        (tmp_path / "team-a").mkdir() or tmp_path / "team-a" / "layer.zip",
    )
    other = _layer_with_metadata(
        tmp_path / "other", "foo-1.0.dist-info", b"Name: foo\nVersion: 1.0\n\n"
    )
    _zip_folder(other, tmp_path / "team-b" / "layer.zip")
    report = verify(
        arm64,
        [tmp_path / "team-a" / "layer.zip", tmp_path / "team-b" / "layer.zip"],
        None,
        emulate=False,
        cache_dir=CACHE_DIR,
    )
    assert report.findings == []
    first, second = report.packages
    assert first.unzipped_bytes > 1_000_000 > second.unzipped_bytes
    assert set(second.distributions) == {"foo"}


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"this is not a zip file", "not a readable zip"),
        (None, "not a readable zip"),  # a real zip cut in half
    ],
)
def test_unreadable_zip_is_a_finding_not_a_traceback(
    arm64, arm64_layers, tmp_path, content, problem
):
    broken = tmp_path / "broken.zip"
    whole = arm64_layers["pydantic"].zip.read_bytes()
    broken.write_bytes(content if content is not None else whole[: len(whole) // 2])
    report = verify(arm64, [broken], None, emulate=False, cache_dir=CACHE_DIR)
    assert _errors(report) == {("zip", "broken", ".")}
    assert problem in report.findings[0].message


@pytest.mark.parametrize(
    ("metadata", "problem"),
    [
        (b"Name: foo\nVersion: 1.0\nRequires-Dist: numpy >=< 2\n\n", "invalid Requires-Dist"),
        (b"Name: foo\nVersion: not-a-version\n\n", "not a PEP 440 version"),
        (b"Name: foo\n\n", "no Version"),
        (b"Name: foo\nVersion: 1.0\nSummary: caf\xe9\n\n", "not UTF-8"),
    ],
)
def test_broken_metadata_is_a_finding_naming_the_file(arm64, tmp_path, metadata, problem):
    layer = _layer_with_metadata(tmp_path / "bad", "foo-1.0.dist-info", metadata)
    report = verify(arm64, [layer], None, emulate=False, cache_dir=CACHE_DIR)
    assert _errors(report) == {("metadata", "bad", "python/foo-1.0.dist-info/METADATA")}
    assert problem in report.findings[0].message


def test_installed_version_that_is_not_pep_440_fails_requirements_not_with_a_traceback(
    arm64, tmp_path
):
    layer = _layer_with_metadata(
        tmp_path / "bad", "foo-1.0.dist-info", b"Name: foo\nVersion: 1.0\nRequires-Dist: bar>=1\n\n"
    )
    (layer / "python" / "bar-x.dist-info").mkdir()
    (layer / "python" / "bar-x.dist-info" / "METADATA").write_text("Name: bar\nVersion: x\n\n")
    report = verify(arm64, [layer], None, emulate=False, cache_dir=CACHE_DIR)
    assert ("metadata", "bad", "python/bar-x.dist-info/METADATA") in _errors(report)
    assert ("requirements", "bad", "python/foo-1.0.dist-info/METADATA") in _errors(report)


def test_corrupt_layer_manifest_is_a_finding(arm64, pydantic_copy):
    manifest = pydantic_copy / "python" / "pydantic-layer-manifest.json"
    manifest.write_text('{"layer": "pydantic", "arch": ')
    report = verify(arm64, [pydantic_copy], None, emulate=False, cache_dir=CACHE_DIR)
    assert _errors(report) == {("pins", "pydantic", "python/pydantic-layer-manifest.json")}
    assert "unreadable manifest" in report.findings[0].message


def test_numpy_outside_faiss_cpus_declared_range_fails_requirements(arm64, arm64_layers, tmp_path):
    layer = tmp_path / "faiss"
    shutil.copytree(arm64_layers["faiss"].folder, layer)
    dist_info = next((layer / "python").glob("numpy-*.dist-info"))
    metadata = dist_info / "METADATA"
    metadata.write_text(re.sub(r"(?m)^Version: .*$", "Version: 1.24.0", metadata.read_text()))
    report = verify(arm64, [layer], None, emulate=False, cache_dir=CACHE_DIR)
    faiss_metadata = next((layer / "python").glob("faiss_cpu-*.dist-info")) / "METADATA"
    relative = faiss_metadata.relative_to(layer).as_posix()
    assert ("requirements", "faiss", relative) in _errors(report)
    assert any("numpy 1.24.0 is installed" in finding.message for finding in report.findings)


@pytest.mark.parametrize(
    ("head", "kind"),
    [
        (b"\xcf\xfa\xed\xfe" + b"\0" * 60, "mach-o"),
        (b"MZ" + b"\0" * 58 + (64).to_bytes(4, "little") + b"PE\0\0" + b"\0" * 20, "pe"),
    ],
)
def test_mach_o_and_pe_files_fail_the_foreign_binary_check(arm64, pydantic_copy, head, kind):
    (pydantic_copy / "python" / "pydantic_core" / "_native.so").write_bytes(head)
    report = verify(arm64, [pydantic_copy], None, emulate=False, cache_dir=CACHE_DIR)
    assert _errors(report) == {("foreign-binary", "pydantic", "python/pydantic_core/_native.so")}
    assert kind in report.findings[0].message


def test_truncated_elf_fails_the_elf_parse_check(arm64, pydantic_copy):
    extension = pydantic_copy / PYDANTIC_CORE
    extension.write_bytes(extension.read_bytes()[:4096])
    report = verify(arm64, [pydantic_copy], None, emulate=False, cache_dir=CACHE_DIR)
    assert _errors(report) == {("elf-parse", "pydantic", PYDANTIC_CORE)}


def test_missing_bytecode_is_an_error(arm64, pydantic_copy):
    for cache in (pydantic_copy / "python").rglob("__pycache__"):
        shutil.rmtree(cache)
    report = verify(arm64, [pydantic_copy], None, emulate=False, cache_dir=CACHE_DIR)
    assert {check for check, _, _ in _errors(report)} == {"bytecode"}


def test_bytecode_older_than_its_source_is_an_error_naming_the_module(arm64, pydantic_copy):
    source = pydantic_copy / "python" / "annotated_types" / "__init__.py"
    source.write_text(source.read_text() + "\nCHANGED_AFTER_COMPILING = True\n")
    report = verify(arm64, [pydantic_copy], None, emulate=False, cache_dir=CACHE_DIR)
    assert _errors(report) == {("bytecode", "pydantic", "python/annotated_types/__init__.py")}
    assert "stale" in report.findings[0].message


def _aarch64_library_needing_glibcxx_3_4_30(workdir: Path) -> tuple[Path, Path]:
    """An arm64 libstdc++.so.6 stand-in defining GLIBCXX_3.4.30 and a library that needs it."""
    workdir.mkdir()
    (workdir / "cxx.s").write_text(
        ".text\n.globl _ZNSt3foo\n.type _ZNSt3foo,%function\n_ZNSt3foo:\n ret\n"
    )
    (workdir / "cxx.map").write_text("GLIBCXX_3.4.30 { global: _ZNSt3foo; local: *; };\n")
    (workdir / "user.s").write_text(".text\n.globl f\nf:\n b _ZNSt3foo\n")
    commands = [
        ["aarch64-linux-gnu-as", "-o", "cxx.o", "cxx.s"],
        ["aarch64-linux-gnu-ld", "-shared", "-soname", "libstdc++.so.6", "--version-script",
         "cxx.map", "-o", "libstdc++.so.6", "cxx.o"],
        ["aarch64-linux-gnu-as", "-o", "user.o", "user.s"],
        ["aarch64-linux-gnu-ld", "-shared", "-rpath", "$ORIGIN", "-o", "libnewcxx.so", "user.o",
         "libstdc++.so.6"],
    ]  # fmt: skip
    for command in commands:
        subprocess.run(command, cwd=workdir, check=True)
    return workdir / "libnewcxx.so", workdir / "libstdc++.so.6"


def test_a_bundled_copy_of_libstdcxx_does_not_waive_the_symbol_version_check(
    arm64, pydantic_copy, tmp_path
):
    # Lambda's loader may pick the system libstdc++ (gcc 11) whatever the layer bundles
    library, fake_runtime = _aarch64_library_needing_glibcxx_3_4_30(tmp_path / "toolchain")
    for path in (library, fake_runtime):
        shutil.copy(path, pydantic_copy / "python" / "pydantic_core" / path.name)
    report = verify(arm64, [pydantic_copy], None, emulate=False, cache_dir=CACHE_DIR)
    assert _errors(report) == {("symbol-versions", "pydantic", "python/pydantic_core/libnewcxx.so")}


def test_a_needed_library_elsewhere_in_the_layer_is_not_found(arm64, pydantic_copy, tmp_path):
    library = _aarch64_library_needing_glibc_2_35(tmp_path / "toolchain")
    # libwaits.so needs libc.so.6 only; plant a library needing libwaits.so away from its RUNPATH
    (tmp_path / "toolchain" / "user2.s").write_text(".text\n.globl g\ng:\n b wait_events\n")
    subprocess.run(
        ["aarch64-linux-gnu-as", "-o", "user2.o", "user2.s"], cwd=tmp_path / "toolchain", check=True
    )
    subprocess.run(
        ["aarch64-linux-gnu-ld", "-shared", "-rpath", "$ORIGIN/../pydantic_core.libs", "-o",
         "libuser.so", "user2.o", "libwaits.so"],
        cwd=tmp_path / "toolchain", check=True,
    )  # fmt: skip
    shutil.copy(tmp_path / "toolchain" / "libuser.so", pydantic_copy / "python" / "pydantic_core")
    (pydantic_copy / "python" / "elsewhere").mkdir()
    shutil.copy(library, pydantic_copy / "python" / "elsewhere" / "libwaits.so")
    report = verify(arm64, [pydantic_copy], None, emulate=False, cache_dir=CACHE_DIR)
    assert ("needed-library", "pydantic", "python/pydantic_core/libuser.so") in _errors(report)
    # the same library in the layer's lib/ (/opt/lib is on Lambda's LD_LIBRARY_PATH) is found
    shutil.move(
        pydantic_copy / "python" / "elsewhere" / "libwaits.so",
        (pydantic_copy / "lib").mkdir() or pydantic_copy / "lib" / "libwaits.so",
    )
    report = verify(arm64, [pydantic_copy], None, emulate=False, cache_dir=CACHE_DIR)
    assert ("needed-library", "pydantic", "python/pydantic_core/libuser.so") not in _errors(report)


def test_failed_smoke_run_report_has_no_missing_timings(x86_64_layers, monkeypatch):
    monkeypatch.setattr(emulate, "SMOKE_TIMEOUT_SECONDS", 0.001)
    report = verify(
        target("x86_64"), [x86_64_layers["pydantic"].zip], None, emulate=True, cache_dir=CACHE_DIR
    )
    assert ("emulated-import", "pydantic", ".") in _errors(report)
    assert "timed out" in report.findings[-1].message
    rendered = report.render()
    assert "None" not in rendered
    assert "smoke import (" in rendered
    assert "FAILED" in rendered


def test_smoke_rejects_a_module_from_a_sibling_folder_sharing_the_roots_prefix(
    tmp_path, monkeypatch
):
    (tmp_path / "layer").mkdir()
    (tmp_path / "layer-other").mkdir()
    (tmp_path / "layer-other" / "smoke_probe_module.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path / "layer-other"))
    with pytest.raises(ImportError, match="not from the packages under test"):
        smoke._import_from("smoke_probe_module", [str(tmp_path / "layer")])


def _one_member_zip(zip_path: Path, compression: int) -> tuple[bytearray, int]:
    """A layer zip holding python/foo.py; its bytes and where its central directory entry starts."""
    with zipfile.ZipFile(zip_path, "w", compression=compression) as archive:
        archive.writestr("python/foo.py", "x = 1\n" * 200)
    data = bytearray(zip_path.read_bytes())
    return data, data.find(b"PK\x01\x02")


def _corrupt_deflate(data: bytearray, _central: int) -> None:
    name_length, extra_length = struct.unpack_from("<HH", data, 26)
    data[30 + name_length + extra_length] = 0xFF  # block type 3 does not exist


def _encrypted(data: bytearray, central: int) -> None:
    data[6] |= 1  # general purpose flag bit 0: encrypted, in the local and central headers
    data[central + 8] |= 1


def _unknown_method(data: bytearray, central: int) -> None:
    struct.pack_into("<H", data, 8, 99)  # compression method 99 (AE-x), local and central
    struct.pack_into("<H", data, central + 10, 99)


@pytest.mark.parametrize(
    ("compression", "damage", "problem"),
    [
        (zipfile.ZIP_DEFLATED, _corrupt_deflate, "Error -3 while decompressing data"),  # zlib.error
        (zipfile.ZIP_DEFLATED, _encrypted, "encrypted"),  # RuntimeError
        (zipfile.ZIP_STORED, _unknown_method, "compression method is not supported"),
    ],
)
def test_a_zip_member_that_cannot_be_extracted_is_a_finding_naming_it(
    arm64, tmp_path, compression, damage, problem
):
    broken = tmp_path / "broken.zip"
    data, central = _one_member_zip(broken, compression)
    damage(data, central)
    broken.write_bytes(data)
    report = verify(arm64, [broken], None, emulate=False, cache_dir=CACHE_DIR)
    assert _errors(report) == {("zip", "broken", "python/foo.py")}
    assert "cannot extract python/foo.py: " in report.findings[0].message
    assert problem in report.findings[0].message
    result = subprocess.run(
        [sys.executable, "-m", "layerkit", "verify", "--no-emulate", "--layer", str(broken)],
        capture_output=True, text=True, check=False,
        env={**os.environ, "PYTHONPATH": str(REPO / "src")},
    )  # fmt: skip
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "ERROR [zip] broken: python/foo.py" in result.stdout


@pytest.mark.parametrize(
    ("make_metadata", "problem"),
    [
        (lambda dist_info: (dist_info / "METADATA").mkdir(), "unreadable (Is a directory)"),
        (lambda dist_info: (dist_info / "RECORD").write_text(""), "missing"),
    ],
)
def test_a_dist_info_without_a_readable_metadata_file_is_a_finding(
    arm64, tmp_path, make_metadata, problem
):
    dist_info = tmp_path / "bad" / "python" / "foo-1.0.dist-info"
    dist_info.mkdir(parents=True)
    make_metadata(dist_info)
    report = verify(arm64, [tmp_path / "bad"], None, emulate=False, cache_dir=CACHE_DIR)
    assert _errors(report) == {("metadata", "bad", "python/foo-1.0.dist-info/METADATA")}
    assert problem in report.findings[0].message


def test_an_empty_function_package_fails_the_layout_check(arm64, arm64_layers, tmp_path):
    (tmp_path / "search").mkdir()
    report = verify(
        arm64,
        [arm64_layers["pydantic"].zip],
        tmp_path / "search",
        emulate=False,
        cache_dir=CACHE_DIR,
    )
    assert _errors(report) == {("layout", "search", ".")}


def test_a_symlink_leading_out_of_the_layer_fails_the_symlink_check(
    arm64, pydantic_copy, x86_64_layers, tmp_path
):
    # the x86_64 extension sits outside the layer; the layer links to it where arm64's was
    x86_extension = next(
        (x86_64_layers["pydantic"].python_dir / "pydantic_core").glob("_pydantic_core.*.so")
    )
    (pydantic_copy / PYDANTIC_CORE).unlink()
    (pydantic_copy / PYDANTIC_CORE).symlink_to(x86_extension)
    (pydantic_copy / "python" / "gone").symlink_to(tmp_path / "nowhere")
    # a link to a file inside the layer is fine: the checks see the file itself
    (pydantic_copy / "python" / "pydantic" / "alias.py").symlink_to("version.py")
    expected = {
        ("symlink", "pydantic", PYDANTIC_CORE),
        ("symlink", "pydantic", "python/gone"),
    }
    report = verify(arm64, [pydantic_copy], None, emulate=False, cache_dir=CACHE_DIR)
    assert _errors(report) == expected
    # zipped with the links kept (zip --symlinks), the same
    links_zip = tmp_path / "pydantic.zip"
    subprocess.run(
        ["zip", "-q", "-r", "--symlinks", str(links_zip), "."], cwd=pydantic_copy, check=True
    )
    report = verify(arm64, [links_zip], None, emulate=False, cache_dir=CACHE_DIR)
    assert _errors(report) == expected
    assert any(str(x86_extension) in finding.message for finding in report.findings)
