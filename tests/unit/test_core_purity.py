"""The core ring stays pure: no AWS SDK, no environment reads, no HTTP."""

import ast
from pathlib import Path

import pytest

CORE = Path(__file__).resolve().parents[2] / "src" / "vecsearch" / "core"
FORBIDDEN_MODULES = {"boto3", "botocore", "requests", "urllib", "http", "vecsearch.adapters"}


@pytest.mark.parametrize("module", sorted(CORE.glob("*.py")), ids=lambda path: path.name)
def test_core_module_imports_nothing_impure(module: Path) -> None:
    tree = ast.parse(module.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [node.module or ""]
            imported = {(node.module, alias.name) for alias in node.names}
            assert not imported & {("os", "environ"), ("os", "getenv"), ("os", "putenv")}
        else:
            names = []
        for name in names:
            assert not any(name == bad or name.startswith(f"{bad}.") for bad in FORBIDDEN_MODULES)
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            assert (node.value.id, node.attr) not in {("os", "environ"), ("os", "getenv")}
