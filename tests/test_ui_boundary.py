"""Screens call services, never models: no module under mailbox_tui/ui imports the Peewee models
or Peewee itself. Read from the source (ast), like the headless-core test, so a late import inside
a function is caught too, by file and line."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import mailbox_tui

PACKAGE_DIR = Path(mailbox_tui.__file__).parent
UI_DIR = PACKAGE_DIR / "ui"
FORBIDDEN = ("mailbox_tui.store.models", "peewee", "playhouse")


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(source: str, module: str, is_package: bool = False) -> list[tuple[int, str]]:
    """(line, dotted name) of everything a module imports; `from a import b` counts as a and a.b."""
    package = module if is_package else module.rpartition(".")[0]
    out = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            out += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                origin = ".".join(base + ([node.module] if node.module else []))
            else:
                origin = node.module or ""
            out.append((node.lineno, origin))
            out += [(node.lineno, f"{origin}.{alias.name}") for alias in node.names]
    return out


def forbidden_imports(source: str, module: str, is_package: bool = False) -> list[str]:
    return [f"line {line}: {name}" for line, name in imports(source, module, is_package)
            if any(name == f or name.startswith(f + ".") for f in FORBIDDEN)]


UI_FILES = sorted(UI_DIR.rglob("*.py"))


@pytest.mark.parametrize("path", UI_FILES, ids=lambda p: str(p.relative_to(UI_DIR)))
def test_ui_module_imports_neither_the_models_nor_peewee(path):
    found = forbidden_imports(path.read_text(encoding="utf-8"), module_name(path), path.name == "__init__.py")
    assert not found, f"{path.relative_to(PACKAGE_DIR.parent)} reaches past the services: {found}"


@pytest.mark.parametrize("source", [
    "from ...store.models import AppUser",
    "from ...store import models",
    "from mailbox_tui.store.models import Mailbox",
    "import mailbox_tui.store.models",
    "import peewee",
    "from peewee import fn",
    "from playhouse.shortcuts import model_to_dict",
    "def later():\n    from ...store.models import Mailbox\n",
])
def test_the_import_check_itself_can_fail(source):
    assert forbidden_imports(source, "mailbox_tui.ui.screens.some_form")


def test_the_import_check_lets_the_services_through():
    source = "from ...store import lookups, queries, services\nfrom ...store.database import StoreError\n"
    assert forbidden_imports(source, "mailbox_tui.ui.screens.some_form") == []
