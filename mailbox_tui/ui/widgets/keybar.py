"""A one-line key bar: the keys of the page and its focused widget, and always Help and Commands.

Textual's Footer builds a widget per key and rebuilds them on every focus change, which
costs more than the rest of a screen's start. One line of text does the job over SSH.

The order is fixed by what the keys do (most used first), never by which widget has focus, so
the bar does not reshuffle as the admin tabs around. Help and the command palette sit at the
right end and are never cut off: whatever does not fit on the left is, with an ellipsis."""

from __future__ import annotations

from rich.text import Text
from textual.widget import Widget
from textual.widgets import Input

# Binding ids in the order an admin reaches for them; ids not listed follow in declared order.
ORDER = ("open", "filter", "new", "save_close", "save", "test_enable", "section_general", "history", "open_mailbox",
         "open_mailboxes", "test_mailboxes", "test_connection", "approve", "reject", "mark", "next_view", "sort",
         "delete", "back", "quit")
ALWAYS = ("palette", "help")  # at the right end, always shown
ALWAYS_TEXT = {"palette": ("^p", "Commands"), "help": ("?", "Help")}
KEY_STYLE = "bold reverse"
# When the keys do not fit: shorter labels, then one space between keys (the keys stand out in
# reverse video), before anything is cut. At 80 columns a form's bar then shows every key it has.
SHORT = {"Test & Enable": "Test", "Save & Close": "Save+Close"}
FITS = ((False, "  "), (True, "  "), (True, " "))  # (short labels, gap), tried in turn


class KeyBar(Widget):
    """Drawn from the screen's bindings when painted, so the first frame already shows them (a
    text set after mounting would need a second frame)."""

    DEFAULT_CSS = """
    KeyBar { dock: bottom; height: 1; background: $panel; color: $text; padding: 0 1; }
    """

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def _bindings_changed(self, _screen=None) -> None:
        self.refresh()  # one line, always: no need to lay the screen out again

    def keys(self, screen) -> list[tuple[str, str]]:
        """(key, description) of every key the bar shows on the left, in the bar's order."""
        found: dict[str, tuple[int, int, str, str]] = {}
        for position, active in enumerate(screen.active_bindings.values()):
            binding = active.binding
            if (not binding.show or not binding.description or not active.enabled
                    or binding.id in ALWAYS or binding.action in found):
                continue
            rank = ORDER.index(binding.id) if binding.id in ORDER else len(ORDER)
            key = binding.key_display or self.app.get_key_display(binding)
            found[binding.action] = (rank, position, key, binding.description)
        return [(key, text) for _, _, key, text in sorted(found.values())]

    def render(self) -> Text:
        screen = self.screen
        keys = self.keys(screen)
        width = self.content_region.width
        # The way of writing the bar that shows the most keys whole (the first, on a tie).
        best = None
        for short, gap in FITS:
            left, tail = self._texts(screen, keys, short, gap)
            shown = _whole_keys(left, keys, short, gap, width - tail.cell_len)
            if best is None or shown > best[0]:
                best = (shown, left, tail)
        _, left, tail = best
        room = max(width - tail.cell_len, 0)
        if left.cell_len > room:
            left.truncate(room, overflow="ellipsis")
        left.pad_right(room - left.cell_len)
        return left + tail

    def _texts(self, screen, keys: list[tuple[str, str]], short: bool, gap: str) -> tuple[Text, Text]:
        """The keys on the left, and Commands and Help at the right end."""
        tail = Text(no_wrap=True)
        for name in ALWAYS:
            key, description = ALWAYS_TEXT[name]
            if name == "help" and isinstance(screen.focused, Input):  # there "?" is typed: F1 still helps
                key = "f1"
            tail.append(gap)
            tail.append(key, style=KEY_STYLE)
            tail.append(" " + description)
        left = Text(no_wrap=True)
        for key, description in keys:
            if left:
                left.append(gap)
            left.append(key, style=KEY_STYLE)
            left.append(" " + (SHORT.get(description, description) if short else description))
        return left, tail


def _whole_keys(left: Text, keys: list[tuple[str, str]], short: bool, gap: str, room: int) -> int:
    """How many keys show whole in `room` cells; one cell is kept for the ellipsis when some don't."""
    if left.cell_len <= room:
        return len(keys)
    used = 0
    for shown, (key, description) in enumerate(keys):
        label = SHORT.get(description, description) if short else description
        used += (len(gap) if shown else 0) + Text(f"{key} {label}").cell_len
        if used > room - 1:
            return shown
    return len(keys)
