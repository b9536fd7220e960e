"""No two modules of the package import each other (issue 25, "the house, tidied"): not at the top, not
inside a function, not for type checking. A circle means two modules that are really one, or a piece both
need that belongs in a third; the lazy import that hides it breaks the day someone moves it to the top.

A package's __init__ (which gathers its modules' names) is not counted."""

from __future__ import annotations

import ast
from pathlib import Path

import mailbox_tui

ROOT = Path(mailbox_tui.__file__).parent


def _modules() -> dict[str, Path]:
    out = {}
    for path in ROOT.rglob("*.py"):
        parts = path.relative_to(ROOT.parent).with_suffix("").parts
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


def _imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            base = package.split(".")[:len(package.split(".")) - (node.level - 1)] if node.level else []
            module = ".".join(base + ([node.module] if node.module else []))
            for alias in node.names:  # `from . import x` names a module; `from .m import f` the module m
                found.add(f"{module}.{alias.name}" if f"{module}.{alias.name}" in modules else module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {m for m in found if m in modules and m != name}


def circles() -> list[tuple[str, str]]:
    modules = _modules()
    edges = {name: _imports(name, path, modules) for name, path in modules.items()}
    plain = {name for name, path in modules.items() if path.name != "__init__.py"}
    return sorted({tuple(sorted((a, b))) for a in plain for b in edges[a] if b in plain and a in edges[b]})


def test_no_two_modules_import_each_other():
    assert circles() == []


def test_the_finder_sees_a_circle_hidden_in_a_function(tmp_path, monkeypatch):
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from .b import thing\n")
    (package / "b.py").write_text("def thing():\n    from . import a\n    return a\n")
    monkeypatch.setattr(__import__(__name__), "ROOT", package)
    assert circles() == [("pkg.a", "pkg.b")]
