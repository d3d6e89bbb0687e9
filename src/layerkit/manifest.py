"""The layer manifest: what went into a layer, and how big it is as installed and as shipped."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict


def manifest_name(layer: str) -> str:
    """File name of the manifest stored inside the layer's `python/` folder."""
    return f"{layer}-layer-manifest.json"


class WheelRecord(BaseModel):
    """One installed wheel."""

    model_config = ConfigDict(frozen=True)

    name: str
    version: str
    wheel: str
    sha256: str


class SlimmingRecord(BaseModel):
    """What slimming did."""

    model_config = ConfigDict(frozen=True)

    removed: dict[str, int]
    strip_tool: str | None
    stripped_files: int
    compiled_files: int


class SizeRecord(BaseModel):
    """Bytes of the layer as pip installs it, slimmed, and as shipped.

    "installed" is pip's files (installed with --no-compile, so no bytecode) less pip's bin/
    scripts and their RECORD lines, which depend on the building interpreter's path; "slimmed"
    is after removing and stripping, still without bytecode (so the two compare like with like);
    "shipped" adds the precompiled unchecked-hash bytecode and the manifest: what the zip holds.
    """

    unzipped_installed: int
    zipped_installed: int
    unzipped_slimmed_without_bytecode: int
    unzipped_shipped: int
    zipped_shipped: int | None = None


class LayerManifest(BaseModel):
    """Versions, wheels, target and sizes of one built layer.

    The copy inside the zip cannot know the zip's own size and hash; the copy written next to the
    zip (`<layer>.manifest.json`) adds them.
    """

    layer: str
    arch: str
    python: str
    builder: str
    platform_tags: list[str]
    pins: dict[str, str]
    wheels: list[WheelRecord]
    content_sha256: str
    slimming: SlimmingRecord
    sizes: SizeRecord
    zip_sha256: str | None = None

    def write(self, path: Path) -> None:
        """Write the manifest as stable, indented JSON."""
        path.write_text(self.model_dump_json(indent=2) + "\n")

    @classmethod
    def read(cls, path: Path) -> LayerManifest:
        """Read a manifest written by `write`."""
        return cls.model_validate_json(path.read_text())
