"""How the screen shows text: as text, never as markup, with every control character visible.

The rule (domain/outside_text.py) for the screen. Text from outside (a server's answer, a
certificate's subject, a stored or imported value, a file name) may hold Rich/Textual markup
(`[/b]` raises MarkupError, `[link=…]` makes a link, `[black on black]` hides what follows) and
control characters the terminal obeys. So the UI shows text only through this module:

* `plain(text)` — one line of text as a Rich `Text`: no markup, every control character visible
  (a line break too, so it never fakes a line of its own);
* `plain_lines(lines)` — several such lines, one per item;
* `Plain` — the UI's Static: markup off, and a `str` given to it shows the program's own line
  breaks and nothing else raw (values from outside in it should be `visible()` first);
* `PlainInput` — the UI's Input: a stored value with control characters shows them as control
  pictures (one character each, so the cursor stays right), never writes them raw;
* `markup_literal(text)` — for the few Textual places that always parse markup (the command
  palette's help line): the text escaped so it shows as written.

tests/test_ui_boundary.py keeps every screen on these: no Static, Label or Input of Textual's own.
"""

from __future__ import annotations

from collections.abc import Iterable

from rich.highlighter import Highlighter
from rich.text import Text
from textual.markup import escape
from textual.widgets import Input, Static

from ..domain.outside_text import visible, visible_lines, visible_same_width

__all__ = ["Plain", "PlainInput", "markup_literal", "plain", "plain_lines", "visible"]


def plain(text: object, style: str = "") -> Text:
    """One line of text: shown as written, no markup, every control character visible."""
    return Text(visible(text), style=style, end="")


def plain_lines(lines: Iterable[object | Text]) -> Text:
    """Lines, one per item (a `Text` is taken as it is; anything else as `plain`)."""
    return Text("\n", end="").join(line if isinstance(line, Text) else plain(line) for line in lines)


def markup_literal(text: object) -> str:
    """For a place that parses markup whatever it is given: the text escaped, control characters visible."""
    return escape(visible(text))


def _shown(content):
    """What a Plain shows: a str as text (the program's line breaks kept, every other control
    character visible), anything else (a `Text` from `plain`, a Content) as it is."""
    return Text(visible_lines(content), end="") if isinstance(content, str) else content


class Plain(Static):
    """A Static that never parses markup and never passes a control character to the terminal."""

    def __init__(self, content="", **kwargs) -> None:
        kwargs["markup"] = False
        super().__init__(_shown(content), **kwargs)

    def update(self, content="", *, layout: bool = True) -> None:
        super().update(_shown(content), layout=layout)


class VisibleControls(Highlighter):
    """A text field's value as shown: each control character as one visible character."""

    def highlight(self, text: Text) -> None:
        shown = visible_same_width(text.plain)
        if shown != text.plain:
            text.plain = shown


class PlainInput(Input):
    """An Input whose value, typed or stored, never reaches the terminal as control characters."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("highlighter", VisibleControls())
        super().__init__(*args, **kwargs)
