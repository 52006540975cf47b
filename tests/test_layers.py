"""The direction of imports is a contract (pyproject.toml, [tool.importlinter]): routers and pages reach the
database only through use cases, use cases know nothing of HTTP, the database layer never imports upwards, the
domain imports the standard library only. import-linter checks every import, direct and indirect."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _lint_imports() -> str:
    found = Path(sys.executable).with_name("lint-imports")
    if found.exists():
        return str(found)
    which = shutil.which("lint-imports")
    if which:
        return which
    message = 'import-linter is not installed (pip install -e ".[test]")'
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


def _run(cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(cwd)}
    return subprocess.run([_lint_imports(), "--no-cache"], cwd=cwd, capture_output=True, text=True, env=env,
                          timeout=120, check=False)


def test_the_layers_hold():
    done = _run(ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


def test_a_backwards_import_breaks_a_contract(tmp_path):
    """The contracts can fail: a use case that imports the HTTP layer is caught, and so are a router that
    reaches a repository and a spreadsheet reader that reaches the database."""
    shutil.copytree(ROOT / "service", tmp_path / "service", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    with (tmp_path / "service" / "usecases" / "ledger.py").open("a") as f:
        f.write("\nfrom service.deps import get_actor  # noqa: E402,F401\n")
    with (tmp_path / "service" / "routers" / "ledger.py").open("a") as f:
        f.write("\nfrom service.db.reference import ReferenceRepo  # noqa: E402,F401\n")
    with (tmp_path / "service" / "importing" / "cells.py").open("a") as f:
        f.write("\nfrom service.db.tables import Project  # noqa: E402,F401\n")
    done = _run(tmp_path)
    assert done.returncode != 0
    assert "Use cases know nothing of HTTP BROKEN" in done.stdout
    assert "Routers and pages reach the database only through use cases BROKEN" in done.stdout
    assert "The spreadsheet reader knows no database BROKEN" in done.stdout
