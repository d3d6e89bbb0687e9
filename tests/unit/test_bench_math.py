"""The benchmark harness's own arithmetic: percentiles, ratios, verdicts, import-time parsing."""

import numpy as np
import pytest
from bench.importtime import per_package
from bench.report import Row, markdown_table
from bench.stats import Summary, interleaved, meets, percentile, ratio


@pytest.mark.parametrize("q", [0, 1, 25, 50, 90, 99, 100])
def test_percentile_matches_numpy_linear_interpolation(q: float) -> None:
    samples = list(np.random.default_rng(1).exponential(size=37))
    assert percentile(samples, q) == pytest.approx(float(np.percentile(samples, q)))


def test_percentile_rejects_empty_samples_and_bad_ranks() -> None:
    with pytest.raises(ValueError, match="no samples"):
        percentile([], 50)
    with pytest.raises(ValueError, match="outside"):
        percentile([1.0], 101)


def test_summary_of_samples() -> None:
    summary = Summary.of([0.3, 0.1, 0.2])
    assert (summary.n, summary.p50, summary.minimum) == (3, 0.2, 0.1)


def test_ratio_refuses_a_zero_baseline() -> None:
    assert ratio(3.0, 2.0) == 1.5
    with pytest.raises(ValueError, match="positive"):
        ratio(1.0, 0.0)


def test_targets_are_upper_or_lower_bounds() -> None:
    assert meets(1.15, 1.15, "max")
    assert not meets(1.16, 1.15, "max")
    assert meets(0.7, 0.7, "min")
    assert not meets(0.69, 0.7, "min")


def test_interleaving_rotates_the_order_and_counts_every_call() -> None:
    calls: list[str] = []
    timings = interleaved(
        {"a": lambda: calls.append("a"), "b": lambda: calls.append("b")}, repeats=3, warmup=1
    )
    assert calls == ["a", "b", "a", "b", "b", "a", "a", "b"]
    assert [len(timings["a"]), len(timings["b"])] == [3, 3]


def test_rows_render_verdicts_in_the_table() -> None:
    passing = Row("warm search", "d", "1 query p50", 0.001, 0.002, "raw", "s", 0.5, 1.15)
    failing = Row("reindex", "d", "throughput", 1e5, 1e6, "raw", "vectors/s", 0.1, 0.7, "min")
    informational = Row("layers", "d", "zipped size", 2**20, 2**21, "pip", "bytes", 0.5)
    assert (passing.met, failing.met, informational.met) == (True, False, None)
    table = markdown_table([passing, failing, informational])
    assert "| 0.50x | <= 1.15x | yes |" in table
    assert "| 0.10x | >= 0.7x | **no** |" in table
    assert "| 1.0 MiB | 2.0 MiB pip | 0.50x | info | - |" in table


def test_import_time_is_charged_to_each_module_s_top_level_package() -> None:
    stderr = "\n".join(
        [
            "import time: self [us] | cumulative | imported package",
            "import time:       100 |        100 |     numpy._core",
            "import time:       200 |        300 |   numpy",
            "import time:        50 |        350 | faiss",
            "not an import line",
        ]
    )
    assert per_package(stderr) == pytest.approx({"numpy": 0.0003, "faiss": 0.00005})
