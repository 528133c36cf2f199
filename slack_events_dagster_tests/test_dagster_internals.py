"""The Dagster internals the instance storages rely on are still where they were.

``slack_events_dagster.dagster_storage`` subclasses Dagster's and dagster-postgres's
storage classes and reads and sets their private attributes; ``DAGSTER_INTERNALS`` at
its top lists every such name. After a Dagster upgrade, the first test here names each
one that moved (rather than a storage failing, or silently keeping a connection per
statement, at run time); the last one keeps the list complete.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import textwrap
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from slack_events_dagster import dagster_storage
from slack_events_dagster.dagster_storage import DAGSTER_INTERNALS

# Private names the storage module introduces itself (not Dagster's).
OWN_PRIVATE_NAMES = frozenset({"_insert_event_rows", "_index_engine"})


@cache
def _assigned_on_self(cls: type) -> frozenset[str]:
    """Attributes the class or a base sets on ``self`` (instance attributes, which
    ``hasattr`` on the class cannot see)."""
    names: set[str] = set()
    for klass in cls.__mro__:
        try:
            source = textwrap.dedent(inspect.getsource(klass))
        except (OSError, TypeError):  # builtins, or classes without source
            continue
        for node in ast.walk(ast.parse(source)):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.ctx, ast.Store)
                and isinstance(node.value, ast.Name)
                and node.value.id == "self"
            ):
                names.add(node.attr)
    return frozenset(names)


def missing_internals(internals: dict[str, dict[str, tuple[str, ...]]]) -> list[str]:
    """The dotted paths of ``internals`` that no longer resolve."""
    missing: list[str] = []
    for module_name, names in internals.items():
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            missing.append(f"{module_name} (module)")
            continue
        for name, attributes in names.items():
            if not hasattr(module, name):
                missing.append(f"{module_name}.{name}")
                continue
            owner: Any = getattr(module, name)
            for attribute in attributes:
                if hasattr(owner, attribute):
                    continue
                if isinstance(owner, type) and attribute in _assigned_on_self(owner):
                    continue
                missing.append(f"{module_name}.{name}.{attribute}")
    return missing


def _report(missing: list[str]) -> str:
    return (
        f"{len(missing)} Dagster internal(s) that slack_events_dagster/dagster_storage.py "
        "relies on moved or were renamed (a Dagster upgrade?): "
        + ", ".join(missing)
        + ". Adapt the storage classes there and their DAGSTER_INTERNALS table."
    )


def test_every_dagster_internal_the_storages_rely_on_resolves() -> None:
    missing = missing_internals(DAGSTER_INTERNALS)
    assert missing == [], _report(missing)


def test_a_moved_internal_is_named() -> None:
    moved = {
        "dagster._core.no_such_module": {"Anything": ()},
        "dagster._core.storage.sqlite": {"NO_SUCH_CONSTANT": ()},
        "dagster._core.storage.runs.sqlite.sqlite_run_storage": {
            "SqliteRunStorage": ("_conn_string", "_no_such_attribute"),
        },
    }
    assert missing_internals(moved) == [
        "dagster._core.no_such_module (module)",
        "dagster._core.storage.sqlite.NO_SUCH_CONSTANT",
        "dagster._core.storage.runs.sqlite.sqlite_run_storage.SqliteRunStorage._no_such_attribute",
    ]
    assert "SqliteRunStorage._no_such_attribute" in _report(missing_internals(moved))


def _storage_module_tree() -> ast.Module:
    return ast.parse(Path(inspect.getfile(dagster_storage)).read_text(encoding="utf-8"))


def test_the_table_lists_every_dagster_import_and_private_attribute() -> None:
    tree = _storage_module_tree()
    imported = {
        (node.module, alias.name)
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
        and node.module is not None
        # `dagster` itself is the public API.
        and node.module.split(".")[0] in {"dagster", "dagster_postgres"}
        and node.module != "dagster"
        for alias in node.names
    }
    listed = {(module, name) for module, names in DAGSTER_INTERNALS.items() for name in names}
    assert imported - listed == set(), "imported from Dagster's internals but not listed"

    def private(name: str) -> bool:
        return name.startswith("_") and not name.startswith("__")

    used = {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)} | {
        item.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ClassDef)
        for item in node.body
        if isinstance(item, ast.FunctionDef)
    }
    listed_attributes = {
        attribute
        for names in DAGSTER_INTERNALS.values()
        for attributes in names.values()
        for attribute in attributes
    }
    unlisted = {name for name in used if private(name)} - listed_attributes - OWN_PRIVATE_NAMES
    assert unlisted == set(), "private attributes used but not listed in DAGSTER_INTERNALS"


@pytest.mark.parametrize("name", sorted(OWN_PRIVATE_NAMES))
def test_the_storages_own_private_names_are_not_dagsters(name: str) -> None:
    """A name the module introduces must not shadow one of Dagster's by accident."""
    bases = [
        getattr(importlib.import_module(module), class_name)
        for module, names in DAGSTER_INTERNALS.items()
        for class_name in names
        if isinstance(getattr(importlib.import_module(module), class_name), type)
    ]
    assert [b.__name__ for b in bases if hasattr(b, name) or name in _assigned_on_self(b)] == []
