"""The layer manifest: what went into a layer, and how big it is before and after slimming."""

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
    removed_bytes: int
    strip_tool: str | None
    stripped_files: int
    compiled_files: int


class SizeRecord(BaseModel):
    """Unzipped and zipped bytes of the layer before and after slimming."""

    unzipped_before_slimming: int
    zipped_before_slimming: int
    unzipped_after_slimming: int
    zipped_after_slimming: int | None = None


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
