"""Every screen shows text through ui/plain.py: no Static, Label or Input of Textual's own, and no
markup switched on (issue 21, item 1).

Textual's Static and Label parse a string as markup (a name `Prof [/b] x` raised MarkupError and
crashed the form), and its Input writes a value's control characters to the terminal as they are.
Read from the source (ast), like the other boundary tests: a screen that builds one fails here by
file and line."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import mailbox_tui

UI_DIR = Path(mailbox_tui.__file__).parent / "ui"
THE_ONE_PLACE = UI_DIR / "plain.py"
TEXTUAL_TEXT_WIDGETS = {"Static", "Label", "Input"}


def _name(node: ast.AST) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def markup_risks(source: str) -> list[str]:
    """Lines that build or subclass Textual's own text widgets, or switch markup on."""
    out = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call):
            if _name(node.func) in TEXTUAL_TEXT_WIDGETS:
                out.append(f"line {node.lineno}: {_name(node.func)}(…)")
            for keyword in node.keywords:
                if keyword.arg == "markup" and not (isinstance(keyword.value, ast.Constant)
                                                    and keyword.value.value is False):
                    out.append(f"line {node.lineno}: markup={ast.unparse(keyword.value)}")
        elif isinstance(node, ast.ClassDef):
            out += [f"line {node.lineno}: class {node.name}({_name(base)})" for base in node.bases
                    if _name(base) in TEXTUAL_TEXT_WIDGETS]
    return out


UI_FILES = sorted(p for p in UI_DIR.rglob("*.py") if p != THE_ONE_PLACE)


@pytest.mark.parametrize("path", UI_FILES, ids=lambda p: str(p.relative_to(UI_DIR)))
def test_ui_module_shows_text_only_through_ui_plain(path):
    found = markup_risks(path.read_text(encoding="utf-8"))
    assert not found, (f"{path.relative_to(UI_DIR.parent)} shows text without ui/plain.py (Plain, PlainInput, "
                       f"plain()): {found}")


@pytest.mark.parametrize("source", [
    "yield Static(name)",
    "yield Label(self.label_text, classes='label')",
    "from textual.widgets import Input\nbox = Input(value)",
    "box = widgets.Static(f'{name}')",
    "self.notify(message, markup=True)",
    "yield Plain(text, markup=flag)",
    "class Title(Static):\n    pass\n",
    "class Field(Input):\n    pass\n",
])
def test_the_check_itself_can_fail(source):
    assert markup_risks(source)


def test_the_check_lets_plain_text_through():
    source = ("yield Plain(plain(name), id='x')\nyield PlainInput(value, id='y')\nself.notify(text, markup=False)\n"
              "if isinstance(widget, Input):\n    pass\n@on(Input.Changed)\ndef changed(self, event): pass\n")
    assert markup_risks(source) == []
