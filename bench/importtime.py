"""Where import time goes: `python -X importtime` output summed per top-level package."""

import re

LINE = re.compile(r"^import time:\s+(\d+)\s+\|\s+(\d+)\s+\|\s+(\S+)\s*$")


def per_package(stderr: str) -> dict[str, float]:
    """Seconds of import time per top-level package (own module bodies only), largest first.

    Summing each module's self time under its top-level package charges numpy to numpy even
    when faiss imported it, and the values add up to the total without double counting.
    """
    totals: dict[str, float] = {}
    for line in stderr.splitlines():
        match = LINE.match(line)
        if match:
            package = match[3].split(".")[0]
            totals[package] = totals.get(package, 0.0) + int(match[1]) / 1e6
    return dict(sorted(totals.items(), key=lambda item: item[1], reverse=True))
