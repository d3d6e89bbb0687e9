"""Command line: `python -m layerkit build|verify|clean`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from layerkit.build import Builder, BuildError, build_layer, clean, layer_names, layer_paths
from layerkit.manifest import LayerManifest
from layerkit.pins import PinError
from layerkit.targets import Arch, target

MIB = 1024 * 1024
PROJECT_ROOT = Path(__file__).resolve().parents[2]  # src/layerkit/cli.py -> the repository


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="layerkit", description=__doc__)
    parser.add_argument(
        "--root",
        type=Path,
        default=PROJECT_ROOT,
        help="project root (has layers/; default: the repository layerkit is in)",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    build = commands.add_parser("build", help="build, slim, pack and verify layers")
    build.add_argument("layers", nargs="*", help="layer names (default: every folder in layers/)")
    build.add_argument("--arch", choices=[arch.value for arch in Arch], default=Arch.ARM64.value)
    build.add_argument("--builder", choices=[b.value for b in Builder], default=Builder.PIP.value)
    build.add_argument("--force", action="store_true", help="ignore a matching cached build")
    build.add_argument("--no-verify", action="store_true", help="skip verification after building")
    build.add_argument("--no-emulate", action="store_true", help="verify without the smoke import")
    build.add_argument(
        "--clean",
        action="store_true",
        help="first remove build outputs, .serverless/ (but Compose's state.*.json) and "
        "~/.cache/serverless-python-requirements;"
        " then build only the layers named (none named: only clean)",
    )

    verify = commands.add_parser("verify", help="verify layers and function packages")
    verify.add_argument("--arch", choices=[arch.value for arch in Arch], default=Arch.ARM64.value)
    verify.add_argument("--layer", action="append", type=Path, default=[], help="a layer, in order")
    verify.add_argument("--function", type=Path, help="a function package using those layers")
    verify.add_argument("--no-emulate", action="store_true", help="skip the smoke import")
    verify.add_argument("--json", action="store_true", help="print the report as JSON")

    commands.add_parser(
        "clean",
        help="remove build outputs, .serverless/ (but Compose's state.*.json), plugin cache",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    parser = _parser()
    arguments = parser.parse_args(argv)
    root: Path = arguments.root.resolve()
    if arguments.command == "clean":
        for path in clean(root, Path.home()):
            print(f"removed {path}")
        return 0
    if arguments.command == "build":
        names = _layer_arguments(parser, root, arguments.layers)
        return _build(root, names, arguments)
    return _verify(root, arguments)


def _layer_arguments(parser: argparse.ArgumentParser, root: Path, given: list[str]) -> list[str]:
    """The layers named, deduplicated; an unknown one ends the run (exit 2) before any work."""
    known = layer_names(root)
    named = {argument: _layer_name(argument, root) for argument in given}
    names = list(dict.fromkeys(named.values()))
    unknown = [argument for argument, name in named.items() if name not in known]
    if unknown:
        parser.error(
            f"unknown layer {', '.join(map(repr, unknown))}: the layers in "
            f"{root / 'layers'} are {', '.join(known) or 'none'}"
        )
    return names


def _layer_name(argument: str, root: Path) -> str:
    """`faiss`, `faiss/`, `layers/faiss` and any path to `<root>/layers/faiss` name faiss."""
    path = Path(argument)
    if path.is_absolute() or ".." in path.parts:
        resolved = path.resolve()
        path = resolved.relative_to(root) if resolved.is_relative_to(root) else path
    parts = path.parts[1:] if path.parts[:1] == ("layers",) else path.parts
    return parts[0] if len(parts) == 1 else argument


def _build(root: Path, names: list[str], arguments: argparse.Namespace) -> int:
    if arguments.clean:
        for path in clean(root, Path.home()):
            print(f"removed {path}")
        if not names:
            return 0
    build_target = target(arguments.arch)
    names = names or layer_names(root)
    for name in names:
        try:
            manifest, cached = build_layer(
                root, name, build_target, Builder(arguments.builder), force=arguments.force
            )
        except (BuildError, PinError) as error:
            print(f"layer {name}: {error}", file=sys.stderr)
            return 1
        print(_size_line(manifest, layer_paths(root, name, build_target).zip, cached=cached))
    if arguments.no_verify:
        return 0
    zips = [layer_paths(root, name, build_target).zip for name in names]
    return _run_verify(root, arguments.arch, zips, None, emulate=not arguments.no_emulate)


def _size_line(manifest: LayerManifest, zip_path: Path, *, cached: bool) -> str:
    sizes = manifest.sizes
    return (
        f"layer {manifest.layer} ({manifest.arch}, python{manifest.python})"
        f"{' [cached]' if cached else ''}: {zip_path}\n"
        f"  installed {sizes.unzipped_installed / MIB:.1f} MiB unzipped "
        f"({sizes.zipped_installed / MIB:.1f} MiB zipped) -> slimmed "
        f"{sizes.unzipped_slimmed_without_bytecode / MIB:.1f} MiB (both without bytecode) -> "
        f"shipped with bytecode {sizes.unzipped_shipped / MIB:.1f} MiB unzipped, "
        f"{(sizes.zipped_shipped or 0) / MIB:.1f} MiB zipped\n  sha256 {manifest.zip_sha256}"
    )


def _verify(root: Path, arguments: argparse.Namespace) -> int:
    if not arguments.layer and arguments.function is None:
        print("verify needs --layer and/or --function", file=sys.stderr)
        return 2
    return _run_verify(
        root,
        arguments.arch,
        arguments.layer,
        arguments.function,
        emulate=not arguments.no_emulate,
        as_json=arguments.json,
    )


def _run_verify(
    root: Path,
    arch: str,
    layers: list[Path],
    function: Path | None,
    *,
    emulate: bool,
    as_json: bool = False,
) -> int:
    from layerkit.verify import verify  # noqa: PLC0415 - pyelftools only needed for verify

    report = verify(
        target(arch), layers, function, emulate=emulate, cache_dir=root / "build" / "cache"
    )
    print(json.dumps(report.to_json(), indent=2) if as_json else report.render())
    return 0 if report.ok else 1
