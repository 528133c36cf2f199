"""Tests share code through ``slack_events_dagster_tests.helpers`` only.

No test module imports another test module or a conftest.py (pytest imports those
itself, and a test that imports another runs or breaks with it), and bench/ imports no
test module. Module names in strings count too: a child process started with
``python -m`` or ``python -c`` imports what they name.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

from slack_events_dagster_tests.helpers.paths import REPO_ROOT

TESTS = "slack_events_dagster_tests"
HELPERS = f"{TESTS}.helpers"
# A dotted name of a module in the test package, as a string may hold it.
NAMED_MODULE = re.compile(rf"\b{TESTS}(?:\.\w+)+")


def _allowed(module: str) -> bool:
    return (
        not module.startswith(f"{TESTS}.") or module == HELPERS or module.startswith(f"{HELPERS}.")
    )


def _package_of(path: Path) -> list[str]:
    parts = list(path.relative_to(REPO_ROOT).with_suffix("").parts)
    return parts if parts[-1] == "__init__" else parts[:-1]


def _imported(path: Path, tree: ast.Module) -> Iterator[tuple[int, str]]:
    """(line, absolute module name) of every import and module-naming string."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                package = _package_of(path)
                base = package[: len(package) - node.level + 1]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            yield node.lineno, module
            # `from package import module` imports the module.
            for alias in node.names:
                yield node.lineno, f"{module}.{alias.name}"
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            for match in NAMED_MODULE.finditer(node.value):
                yield node.lineno, match.group(0)


def _modules() -> Iterator[Path]:
    for folder in (TESTS, "bench"):
        yield from sorted((REPO_ROOT / folder).rglob("*.py"))


def test_no_test_module_or_conftest_is_imported_only_helpers() -> None:
    found = [
        f"{path.relative_to(REPO_ROOT)}:{line} imports {module}"
        for path in _modules()
        for line, module in _imported(path, ast.parse(path.read_text(encoding="utf-8")))
        if not _allowed(module)
    ]
    assert found == [], "share code through slack_events_dagster_tests/helpers/: " + "; ".join(
        found
    )


def test_the_check_sees_absolute_relative_and_named_imports() -> None:
    path = REPO_ROOT / TESTS / "storage" / "test_example.py"
    # f-strings, so that this test's own source names no test module.
    source = (
        f"from {TESTS}.storage.test_other import make\n"
        "from .conftest import helper\n"
        f"from {TESTS}.defs import location\n"
        f"from {HELPERS}.records import make_event\n"
        f"from {HELPERS} import backfill_location\n"
        f"COMMAND = ['python', '-m', '{TESTS}.reliability.driver']\n"
    )
    refused = sorted(
        {module for _, module in _imported(path, ast.parse(source)) if not _allowed(module)}
    )
    assert refused == [
        f"{TESTS}.{name}"
        for name in (
            "defs",
            "defs.location",
            "reliability.driver",
            "storage.conftest",
            "storage.conftest.helper",
            "storage.test_other",
            "storage.test_other.make",
        )
    ]
