"""Result rows, and their JSON, markdown table and PNG chart."""

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bench.stats import Direction, meets


@dataclass(frozen=True)
class Row:
    """One compared figure: ours against a same-run baseline, and the target for the ratio."""

    case: str
    dataset: str
    measure: str
    ours: float
    baseline: float
    baseline_name: str
    unit: str
    ratio: float
    target: float | None = None
    direction: Direction = "max"
    note: str = ""

    @property
    def met(self) -> bool | None:
        """Whether the ratio meets its target (None when the row is informational)."""
        return None if self.target is None else meets(self.ratio, self.target, self.direction)

    def as_json(self) -> dict[str, Any]:
        """The row with its verdict, for the JSON results."""
        return {**asdict(self), "met": self.met}


def _number(value: float, unit: str) -> str:
    if unit == "s":
        return f"{value * 1000:.2f} ms" if value < 1 else f"{value:.2f} s"
    if unit == "bytes":
        return f"{value / 2**20:.1f} MiB"
    if unit == "vectors/s":
        return f"{value / 1000:,.0f}k/s"
    return f"{value:g} {unit}"


def _target(row: Row) -> str:
    if row.target is None:
        return "info"
    return f"{'<=' if row.direction == 'max' else '>='} {row.target:g}x"


def _verdict(row: Row) -> str:
    return {None: "-", True: "yes", False: "**no**"}[row.met]


def markdown_table(rows: list[Row]) -> str:
    """A markdown table: ours, the baseline, the ratio and whether it meets its target."""
    lines = [
        "| case | data set | measure | ours | baseline | ratio | target | met |",
        "| --- | --- | --- | ---: | ---: | ---: | ---: | :---: |",
    ]
    for row in rows:
        measure = row.measure + (f" ({row.note})" if row.note else "")
        lines.append(
            f"| {row.case} | {row.dataset} | {measure} | {_number(row.ours, row.unit)} "
            f"| {_number(row.baseline, row.unit)} {row.baseline_name} | {row.ratio:.2f}x "
            f"| {_target(row)} | {_verdict(row)} |"
        )
    return "\n".join(lines) + "\n"


def write_json(path: Path, payload: dict[str, Any]) -> None:
    """Write the results as indented JSON."""
    path.write_text(json.dumps(payload, indent=2, default=str) + "\n", encoding="utf-8")


def write_chart(path: Path, rows: list[Row], title: str) -> None:
    """A horizontal bar chart of every ratio, coloured by verdict, with its target marked."""
    import matplotlib  # noqa: PLC0415  (only the chart needs it)

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    labels = [f"{row.case}: {row.measure} [{row.dataset}]" for row in rows]
    colours = [{True: "#2e7d32", False: "#c62828", None: "#607d8b"}[row.met] for row in rows]
    height = max(3.0, 0.32 * len(rows) + 1.2)
    figure, axes = plt.subplots(figsize=(11, height))
    positions = list(range(len(rows)))[::-1]
    axes.barh(positions, [row.ratio for row in rows], color=colours)
    for position, row in zip(positions, rows, strict=True):
        if row.target is not None:
            axes.plot([row.target, row.target], [position - 0.4, position + 0.4], color="black")
        axes.text(row.ratio, position, f" {row.ratio:.2f}x", va="center", fontsize=7)
    axes.axvline(1.0, color="grey", linestyle=":", linewidth=1)
    axes.set_yticks(positions, labels, fontsize=7)
    axes.set_xscale("log")
    axes.set_xlabel("ratio to the same-run baseline (log scale; black tick = target)")
    axes.set_title(title, fontsize=9)
    figure.tight_layout()
    figure.savefig(path, dpi=110, bbox_inches="tight")  # long labels stay whole
    plt.close(figure)
