"""Screens call services, never models; and every thread worker of the app has one style.

Read from the source (ast), like the headless-core test: a screen that imports the Peewee models
or Peewee itself, or starts a worker of its own, fails here by file and line."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import mailbox_tui

PACKAGE_DIR = Path(mailbox_tui.__file__).parent
UI_DIR = PACKAGE_DIR / "ui"
FORBIDDEN = ("mailbox_tui.store.models", "peewee", "playhouse")
# The one module that starts thread workers and turns their failures into a message.
WORKERS_MODULE = "mailbox_tui.ui.workers"
WORKER_NAMES = {"work", "run_worker", "call_from_thread", "on_worker_state_changed"}


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


def worker_uses(source: str) -> list[str]:
    """Lines that start a worker, call back into the UI thread, or handle a worker's state."""
    out = []
    for node in ast.walk(ast.parse(source)):
        name = None
        if isinstance(node, ast.Name):
            name = node.id
        elif isinstance(node, ast.Attribute):
            name = node.attr
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            name = node.name
        if name in WORKER_NAMES or (name == "StateChanged" and isinstance(node, ast.Attribute)
                                    and isinstance(node.value, ast.Name) and node.value.id == "Worker"):
            out.append(f"line {node.lineno}: {name}")
    return out


UI_FILES = sorted(UI_DIR.rglob("*.py"))


@pytest.mark.parametrize("path", UI_FILES, ids=lambda p: str(p.relative_to(UI_DIR)))
def test_ui_module_imports_neither_the_models_nor_peewee(path):
    found = forbidden_imports(path.read_text(encoding="utf-8"), module_name(path), path.name == "__init__.py")
    assert not found, f"{path.relative_to(PACKAGE_DIR.parent)} reaches past the services: {found}"


@pytest.mark.parametrize("path", UI_FILES, ids=lambda p: str(p.relative_to(UI_DIR)))
def test_only_the_workers_module_runs_workers(path):
    if module_name(path) == WORKERS_MODULE:
        return
    found = worker_uses(path.read_text(encoding="utf-8"))
    assert not found, (f"{path.relative_to(PACKAGE_DIR.parent)} runs or watches a worker itself; thread workers "
                       f"live in {WORKERS_MODULE} and post Messages back: {found}")


def test_the_workers_module_exists_and_has_the_one_failure_handler():
    source = (UI_DIR / "workers.py").read_text(encoding="utf-8")
    assert sum(1 for line in worker_uses(source) if line.endswith("on_worker_state_changed")) == 1


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


@pytest.mark.parametrize("source", [
    "from textual import work\n@work(thread=True)\ndef load(self): pass\n",
    "def f(self):\n    self.run_worker(self.load, thread=True)\n",
    "def f(self):\n    self.app.call_from_thread(self.show, 1)\n",
    "def on_worker_state_changed(self, event): pass\n",
    "@on(Worker.StateChanged)\ndef failed(self, event): pass\n",
])
def test_the_worker_check_itself_can_fail(source):
    assert worker_uses(source)
