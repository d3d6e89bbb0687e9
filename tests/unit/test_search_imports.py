"""The search function's cold start: its imports leave out the admin side and boto3."""

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SEARCH_HANDLER = REPO / "services" / "search" / "handler.py"
ADMIN_ONLY = [
    "vecsearch.core.catalog",
    "vecsearch.core.batches",
    "vecsearch.adapters.jobs",
    "boto3",
]


def test_importing_the_search_handler_loads_no_admin_module_or_boto3(tmp_path: Path) -> None:
    script = (
        "import importlib.util, json, sys\n"
        f"spec = importlib.util.spec_from_file_location('h', {str(SEARCH_HANDLER)!r})\n"
        "module = importlib.util.module_from_spec(spec)\n"
        "spec.loader.exec_module(module)\n"
        f"print(json.dumps([name for name in {ADMIN_ONLY!r} if name in sys.modules]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        env={"PYTHONPATH": str(REPO / "src"), "VECSEARCH_STORE_URL": f"file://{tmp_path}"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(done.stdout) == []
