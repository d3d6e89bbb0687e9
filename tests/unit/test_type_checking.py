"""mypy (tox -e type) covers every Lambda entry point, not only the packages under src/."""

import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_mypy_checks_every_service_module() -> None:
    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["mypy"]
    checked = set(config["files"])
    service_modules = {
        path.relative_to(REPO).as_posix() for path in (REPO / "services").glob("*/*.py")
    }
    assert service_modules
    assert service_modules <= checked
    assert {"src/vecsearch", "src/layerkit", "src/devstack"} <= checked
