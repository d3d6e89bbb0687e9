"""Verification: the real layers pass everything; each broken fixture fails the right check."""

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

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
    for name in ("typing_extensions.py", "typing_extensions-4.16.0.dist-info"):
        source = pydantic_copy / "python" / name
        copy = shutil.copytree if source.is_dir() else shutil.copy
        copy(source, extra / name)
    report = verify(arm64, [pydantic_copy, extra.parent], None, emulate=False, cache_dir=CACHE_DIR)
    assert _errors(report) == {
        ("overlap", "typing-extras", "python/typing_extensions-4.16.0.dist-info")
    }


def test_function_package_carrying_numpy_fails_the_overlap_check(arm64, arm64_layers, tmp_path):
    function = tmp_path / "search"
    function.mkdir()
    (function / "handler.py").write_text("def handler(event, context):\n    return {}\n")
    faiss_python = arm64_layers["faiss"].python_dir
    shutil.copytree(faiss_python / "numpy", function / "numpy")
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
