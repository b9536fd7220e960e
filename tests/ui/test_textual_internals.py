"""The Textual internals the app relies on (mailbox_tui/ui/textual_internals.py) are still there
and still what the app was written against; no other module of ui/ reaches into Textual.

Each check is named after what it checks, so a Textual upgrade that breaks one of them says
which: `test_private_name_keeps_its_shape[textual._xterm_parser.XTermParser]`,
`test_copied_textual_code_is_unchanged[textual.drivers.linux_driver.LinuxDriver.run_input_thread]`.
"""

from __future__ import annotations

import ast
import hashlib
import importlib
import inspect
import re
import time
import textwrap
import tomllib
from functools import cache
from importlib.metadata import version
from pathlib import Path

import pytest
import textual
from textual import constants, events

import mailbox_tui.ui

ROOT = Path(__file__).resolve().parents[2]
UI = Path(mailbox_tui.ui.__file__).parent
INTERNALS = UI / "textual_internals.py"
# ui/ modules that may still use Textual internals without this module, and why.
NOT_YET: dict[str, str] = {}  # (input_queue.py was, until it moved to Textual's public API: issue 20)


def recorded(name: str) -> dict:
    """A catalogue of ui/textual_internals.py, read without importing it (an import that fails
    because Textual changed would fail every test here at once, none by name)."""
    for node in ast.parse(INTERNALS.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and [t.id for t in node.targets if isinstance(t, ast.Name)] == [name]:
            return ast.literal_eval(node.value)
    raise LookupError(f"{INTERNALS} has no {name}")


PRIVATE_NAMES, COPIED_CODE = recorded("PRIVATE_NAMES"), recorded("COPIED_CODE")


def resolve(qualified: str):
    """`package.module.Class.attribute` -> that object."""
    parts = qualified.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            found = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for name in parts[cut:]:
            found = getattr(found, name)
        return found
    raise ImportError(qualified)


# -- the versions

@pytest.mark.parametrize("package", ["textual", "rich"])
def test_the_installed_version_is_the_pinned_one(package):
    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    pins = [d for d in dependencies if re.fullmatch(rf"{package}==[\w.]+", d.split(";")[0].strip())]
    assert len(pins) == 1, f"{package} is not pinned exactly in pyproject.toml: {dependencies}"
    assert version(package) == pins[0].split("==")[1], (
        f"{package} {version(package)} is installed, pyproject.toml pins {pins[0]}: reinstall, or "
        "upgrade the pin and run this test")


# -- each private name, with the shape the app uses

def xterm_parser_shape(XTermParser) -> None:
    assert inspect.isclass(XTermParser)
    assert "debug" in inspect.signature(XTermParser).parameters
    parser = XTermParser(False)
    assert list(parser.tick()) == []  # nothing pending
    found = list(parser.feed("a\x1b[A\x1b[200~pasted\x1b[201~\x1bOP"))
    assert [(type(e).__name__, getattr(e, "key", getattr(e, "text", None))) for e in found] == [
        ("Key", "a"), ("Key", "up"), ("Paste", "pasted"), ("Key", "f1")]
    assert list(parser.feed("\x1b[")) == []  # an unfinished sequence waits...
    time.sleep(constants.ESCAPE_DELAY + 0.05)
    assert list(parser.tick())  # ...until tick() says it timed out
    list(parser.feed(""))  # the end of input
    assert isinstance(found[0], events.Key)


def app_register_shape(register) -> None:
    """App._register(parent, *widgets, before, after, cache) -> widgets; App._get_screen still
    starts a screen that is not running this way (what start_hidden_screen does ahead of it)."""
    from textual.app import App

    assert list(inspect.signature(register).parameters) == ["self", "parent", "widgets", "before", "after", "cache"]
    assert "self._register(self, _screen)" in inspect.getsource(App._get_screen)
    assert "if not _screen.is_running:" in inspect.getsource(App._get_screen)


def screen_refresh_layout_shape(refresh_layout) -> None:
    """Screen._refresh_layout(self, size, scroll) places every widget (the compositor's reflow, the
    widgets told their sizes) and paints only when the screen is current: lay_out_hidden_screen
    relies on both."""
    assert list(inspect.signature(refresh_layout).parameters) == ["self", "size", "scroll"]
    source = inspect.getsource(refresh_layout)
    assert "self._compositor.reflow(self, size)" in source
    assert "widget._size_updated(" in source
    paint = source.index("self._compositor_refresh()")
    assert "if self.is_current:" in source[:paint], "a hidden screen laid out this way would paint"


SHAPES = {"textual._xterm_parser.XTermParser": xterm_parser_shape, "textual.app.App._register": app_register_shape,
          "textual.screen.Screen._refresh_layout": screen_refresh_layout_shape}


def test_at_most_three_private_names():
    """Issue 20's bound: every private Textual name the app uses is one of at most three, each
    named in ui/textual_internals.py with the module that needs it."""
    assert len(PRIVATE_NAMES) <= 3, sorted(PRIVATE_NAMES)


@pytest.mark.parametrize("name", sorted(PRIVATE_NAMES))
def test_private_name_keeps_its_shape(name):
    attribute = name.rpartition(".")[2]
    try:
        found = resolve(name)  # a module's name, or a class's (textual.app.App._register)
    except (ImportError, AttributeError) as exc:
        pytest.fail(f"Textual {textual.__version__} has no {name} (used by {PRIVATE_NAMES[name]}): {exc}")
    assert name in SHAPES, f"no shape check for {name}: add one here"
    SHAPES[name](found)
    from mailbox_tui.ui import textual_internals

    assert getattr(textual_internals, attribute) is found, f"ui/textual_internals.py does not export {name}"


# -- copied code

@pytest.mark.parametrize("name", sorted(COPIED_CODE))
def test_copied_textual_code_is_unchanged(name):
    sha256, copy = COPIED_CODE[name]
    assert callable(resolve(copy)), f"the app's copy {copy} is gone"
    source = inspect.getsource(resolve(name))
    now = hashlib.sha256(source.encode()).hexdigest()
    assert now == sha256, (
        f"Textual {textual.__version__} changed {name}: compare it with the app's copy, {copy}, carry "
        f"the change over, then record its new sha256 {now} in mailbox_tui/ui/textual_internals.py")


# -- nothing else reaches into Textual

def defined_names(tree: ast.AST) -> set[str]:
    """Private names a module defines: attributes it sets, methods, class attributes."""
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
            out.add(node.attr)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            out.add(node.name)
        elif isinstance(node, ast.ClassDef):
            for statement in node.body:
                targets = statement.targets if isinstance(statement, ast.Assign) else \
                    [statement.target] if isinstance(statement, ast.AnnAssign) else []
                out |= {t.id for t in targets if isinstance(t, ast.Name)}
    return {name for name in out if is_private(name)}


def is_private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


@cache
def textual_names() -> frozenset[str]:
    found = set()
    for path in Path(textual.__file__).parent.rglob("*.py"):
        found |= defined_names(ast.parse(path.read_text(encoding="utf-8")))
    return frozenset(found)


@cache
def own_names() -> frozenset[str]:
    """Private names ui/ defines itself."""
    found = set()
    for path in UI.rglob("*.py"):
        found |= defined_names(ast.parse(path.read_text(encoding="utf-8")))
    return frozenset(found)


def textual_names_of(cls: type) -> set[str]:
    """Private names Textual's classes in `cls`'s MRO define (methods, class and instance attributes)."""
    return set().union(*(names_of_textual_class(base) for base in cls.__mro__
                         if base.__module__.split(".")[0] in ("textual", "rich")))


@cache
def names_of_textual_class(base: type) -> frozenset[str]:
    out = {name for name in vars(base) if is_private(name)}
    try:
        out |= defined_names(ast.parse(textwrap.dedent(inspect.getsource(base))))
    except (OSError, TypeError, SyntaxError):
        pass
    return frozenset(out)


WATCHER = re.compile(r"_?(?:watch|validate|compute)_(_\w+)")


def private_uses(where: str, source: str, module) -> list[str]:
    """`file:line name` for each use of a Textual internal in a module of ui/ (`source`, and the
    imported `module` for its classes' MRO)."""
    tree = ast.parse(source)
    uses = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0 and \
                any(is_private(part) for part in node.module.split(".")) and node.module.startswith("textual"):
            uses.append(f"{where}:{node.lineno} from {node.module} import ...")
        elif isinstance(node, ast.Import):
            uses += [f"{where}:{node.lineno} import {a.name}" for a in node.names
                     if a.name.startswith("textual.") and any(is_private(p) for p in a.name.split("."))]
        elif isinstance(node, ast.Attribute) and is_private(node.attr) and node.attr in textual_names() \
                and not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls")) \
                and not isinstance(node.value, ast.Call) and node.attr not in own_names():
            uses.append(f"{where}:{node.lineno} .{node.attr}")  # another object's (app._exit...)
    for cls_node in [n for n in ast.walk(tree) if isinstance(n, ast.ClassDef)]:
        cls = getattr(module, cls_node.name, None)
        if not isinstance(cls, type):
            continue
        theirs = textual_names_of(cls)
        for node in ast.walk(cls_node):
            name = node.attr if isinstance(node, ast.Attribute) else \
                node.name if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) else None
            if name is None:
                continue
            watched = WATCHER.fullmatch(name)
            if name in theirs or (watched and watched.group(1) in theirs) or \
                    (isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and name.startswith("_on_")):
                # (a `_on_event` method is dispatched as Textual's own handlers are, even in a mixin)
                uses.append(f"{where}:{node.lineno} {cls_node.name}.{name}")
    return sorted(set(uses), key=lambda use: (int(use.split(":")[1].split(" ")[0]), use))


def ui_modules() -> list[tuple[Path, str]]:
    return [(path, "mailbox_tui.ui." + ".".join(path.relative_to(UI).with_suffix("").parts))
            for path in sorted(UI.rglob("*.py")) if path.name != "textual_internals.py"
            and str(path.relative_to(UI)) not in NOT_YET]


def test_no_module_of_ui_uses_a_textual_internal_but_through_textual_internals():
    uses = [use for path, name in ui_modules()
            for use in private_uses(str(path.relative_to(UI)), path.read_text(encoding="utf-8"),
                                    importlib.import_module(name))]
    assert uses == [], ("Textual internals used outside mailbox_tui/ui/textual_internals.py: use the "
                        "public API, or add the name there with why it is needed (and its check here):\n"
                        + "\n".join(uses))


@pytest.mark.parametrize("module", sorted(NOT_YET))
def test_a_module_left_out_of_the_check_still_needs_to_be(module):
    path = UI / module
    uses = private_uses(module, path.read_text(encoding="utf-8"),
                        importlib.import_module("mailbox_tui.ui." + path.stem))
    assert uses, f"ui/{module} uses no Textual internal any more: take it out of NOT_YET in {__file__}"


EXAMPLE = """
from textual.widgets import Input
from textual.scroll_view import ScrollView
from textual._time import get_time


class Box(Input):
    def _on_paste(self, event):
        self._suggestion = ""

    def _watch__suggestion(self, value):
        self.app._exit = True


class Table(ScrollView):
    def refresh_rows(self):
        self._scroll_update(self.virtual_size)
        self._own = 1


class Mixin:
    def _on_mount(self):
        pass
"""


def test_the_check_sees_each_kind_of_use():
    """The scan above finds each kind of use it looks for (it could pass by seeing nothing)."""
    namespace: dict = {}
    exec(compile(EXAMPLE, "example.py", "exec"), namespace)
    found = private_uses("example.py", EXAMPLE, type("example", (), namespace))
    assert [use.split(" ", 1)[1] for use in found] == [
        "from textual._time import ...", "Box._on_paste", "Box._suggestion", "Box._watch__suggestion",
        "._exit", "Table._scroll_update", "Mixin._on_mount"], found
