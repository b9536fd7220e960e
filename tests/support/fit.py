"""Does everything fit? What a screen, form or dialog shows of the app's own words, read back from the
drawn screen: the keys of the key bar whole, every form label and section title whole on its line, and
no text the layout gives too little room (a one-line status that would need two, a dialog text taller
than its box). Used by tests/ui/test_ui_key_bar.py and tests/ui/test_ui_fit.py, in either language."""

from __future__ import annotations

from rich.cells import cell_len
from textual.containers import ScrollableContainer
from textual.scroll_view import ScrollView
from textual.widgets import Input, Static

from mailbox_tui import i18n
from mailbox_tui.ui.plain import Plain
from mailbox_tui.ui.screens.mailbox_list import MailboxListScreen
from mailbox_tui.ui.widgets.keybar import ALWAYS, KEY_BAR, SHORT, KeyBar
from mailbox_tui.ui.widgets.titlebar import TitleBar

from support.ui import screen_lines, screen_strips, settle


def bar_owner(app):
    """The screen whose key bar is on screen: the top one, or the one under a dialog."""
    return next(screen for screen in reversed(app.screen_stack) if screen.query(KeyBar))


def bar_lines(screen) -> list[str]:
    bar = screen.query_one(KeyBar)
    strips = screen_strips(screen)
    return ["".join(segment.text for segment in strip) for strip in strips[bar.region.y:bar.region.bottom]]


def shown_keys(screen) -> dict[str, tuple[list[str], str]]:
    """What the screen asks the bar to show: per action, its keys (any one will do) and description."""
    out: dict[str, tuple[list[str], str]] = {}
    for active in screen.active_bindings.values():
        binding = active.binding
        if binding.show and binding.description and active.enabled and binding.id not in ALWAYS:
            key = binding.key_display or screen.app.get_key_display(binding)
            out.setdefault(binding.action, ([], binding.description))[0].append(key)
    return out


def labels(description: str) -> tuple[str, str]:
    """The bar's full and short label of a key, in the language the process shows."""
    full = i18n.shown(description)
    return full, (i18n.pgettext(KEY_BAR, SHORT[description]) if description in SHORT else full)


def missing_or_cut(screen) -> list[str]:
    """The keys the bar does not show whole, and the bar's text if it cuts anything with an ellipsis."""
    text = " ".join(bar_lines(screen))
    out = [f"{keys[0]} {description}" for keys, description in shown_keys(screen).values()
           if not any(f"{key} {label}" in text for key in keys for label in labels(description))]
    if "…" in text:
        out.append(f"cut: {text!r}")
    return out


async def back_to_mailboxes(app, pilot) -> None:
    while not isinstance(app.screen, MailboxListScreen):
        app.pop_screen()
        await settle(pilot)
    if isinstance(app.focused, Input):  # the filter box
        await pilot.press("escape")
        await settle(pilot)


def _text(widget: Static) -> str:
    return str(widget.render())


def too_small(screen) -> list[str]:
    """Text widgets laid out with less room than their text needs: fewer lines than it wraps to (a
    one-line status, a select's value, a label), or a one-line text wider than its line. The title
    line is checked by `title_cut` (its end is the database's or record's name, not our words), a
    list's status line by `status_cut` (it is one line by design, cut at its end)."""
    out = []
    for widget in screen.query(Static):
        if not widget.display or widget.region.area == 0 or isinstance(widget, TitleBar) or widget.id == "status":
            continue
        size = widget.content_size
        needed = widget.get_content_height(widget.size, screen.app.size, size.width)
        if needed > size.height:
            out.append(f"{widget!r} needs {needed} lines, has {size.height}: {_text(widget)!r}")
        elif widget.styles.text_wrap == "nowrap" and widget.get_content_width(widget.size, screen.app.size) > size.width:
            out.append(f"{widget!r} needs {widget.get_content_width(widget.size, screen.app.size)} columns, "
                       f"has {size.width}: {_text(widget)!r}")
    return out


def outside_the_screen(screen) -> list[str]:
    """A dialog's box, or any widget not in a scrolling view, that reaches past the terminal's edge. A
    scrolling view itself may (the command palette's list, Textual's own, reaches a line past the bottom
    at 60×20 in either language: what it holds scrolls into view)."""
    width, height = screen.app.size
    out = []
    for widget in screen.query("*"):
        if not widget.display or widget.region.area == 0 or isinstance(widget, ScrollView) or any(
                isinstance(a, (ScrollableContainer, ScrollView)) for a in widget.ancestors):
            continue
        region = widget.region
        if region.x < 0 or region.y < 0 or region.right > width or region.bottom > height:
            out.append(f"{widget!r} at {tuple(region)} on a {width}x{height} screen")
    return out


def title_cut(app) -> list[str]:
    """The title line shows the page's title whole (what follows it may be cut: a name, a file)."""
    screen = app.screen if app.screen.query(TitleBar) else bar_owner(app)
    title = screen.title if screen.title is not None else app.title
    line = screen_lines(screen)[0]
    return [] if title in line else [f"title {title!r} not whole in {line!r}"]


def status_cut(screen) -> list[str]:
    """A list's status line is one line, cut at its end when the terminal is too narrow (the sort or
    the filter typed): every part before the last is shown whole."""
    if not screen.query("#status") or not hasattr(screen, "status_parts"):
        return []
    status = screen.query_one("#status", Plain)
    line = screen_lines(screen)[status.region.y]
    parts = screen.status_parts()
    return [f"status part {part!r} not whole in {line!r}" for part in parts[:-1] if part not in line]


def labels_not_whole(app, scroll, seen: set | None = None) -> list[str]:
    """Every form label and section title inside the visible part of the form `scroll` is drawn whole
    on its own line, where the label starts. `seen` collects the labels checked (their ids)."""
    lines = screen_lines(app)
    top, bottom = scroll.content_region.y, scroll.content_region.bottom
    out = []
    for widget in scroll.query(Plain):
        if not widget.display or widget.region.area == 0 or not (top <= widget.region.y < bottom):
            continue
        if not (widget.has_class("label") or widget.has_class("section-title")):
            continue
        if seen is not None:
            seen.add(id(widget))
        text = _text(widget).split("\n")[0]
        x = widget.content_region.x
        if widget.content_region.height > 1 or not lines[widget.region.y][x:].startswith(text) \
                or x + cell_len(text) > app.size.width:
            out.append(f"{text!r} drawn as {lines[widget.region.y]!r}")
    return out
