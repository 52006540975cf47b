"""The domain is pure (ARCHITECTURE §1): standard-library imports only, and it never reads the clock."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

DOMAIN = Path(__file__).resolve().parents[2] / "service" / "domain"
FILES = sorted(DOMAIN.rglob("*.py"))
PACKAGE = "service.domain"


def _allowed(module: str) -> bool:
    return module.split(".")[0] in sys.stdlib_module_names or module == PACKAGE or module.startswith(PACKAGE + ".")


def _imports(tree: ast.AST) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0:
                found.append((node.lineno, node.module or ""))
            elif node.level == 1:  # from . import x / from .x import y: inside service.domain
                found.append((node.lineno, PACKAGE + ("." + node.module if node.module else "")))
            else:  # from .. import: leaves the domain
                found.append((node.lineno, "." * node.level + (node.module or "")))
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "__import__":
            found.append((node.lineno, "__import__(...)"))
    return found


def test_the_domain_has_files():
    assert {"calendar.py", "schedule.py", "appraisal.py", "plans.py", "periods.py"} <= {f.name for f in FILES}


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_domain_imports_only_the_standard_library(path):
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    bad = [f"{path.name}:{line} imports {module}" for line, module in _imports(tree) if not _allowed(module)]
    assert not bad, "service/domain must import the standard library only:\n" + "\n".join(bad)


CLOCK_CALLS = {"today", "now", "utcnow", "time", "monotonic", "perf_counter", "time_ns"}
CLOCK_OWNERS = {"date", "datetime", "time"}


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_domain_never_reads_the_clock(path):
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    bad = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in CLOCK_CALLS
            and isinstance(node.func.value, ast.Name | ast.Attribute)
            and (node.func.value.id if isinstance(node.func.value, ast.Name) else node.func.value.attr) in CLOCK_OWNERS
        ):
            bad.append(f"{path.name}:{node.lineno} calls {ast.unparse(node.func)}()")
    assert not bad, "take today/now as arguments instead:\n" + "\n".join(bad)


@pytest.mark.parametrize(
    ("source", "ok"),
    [
        ("import json", True),
        ("from datetime import date", True),
        ("from service.domain.errors import InvalidInput", True),
        ("from . import periods", True),
        ("import chinese_calendar", False),
        ("from sqlalchemy import select", False),
        ("from service.db import tables", False),
        ("from .. import config", False),
        ("__import__('pydantic')", False),
    ],
)
def test_the_import_rule_itself(source, ok):
    assert all(_allowed(module) for _, module in _imports(ast.parse(source))) is ok
