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
ORDER = ("open", "filter", "new", "save_close", "save", "test_enable", "section_general", "open_mailbox",
         "open_mailboxes", "test_mailboxes", "test_connection", "approve", "reject", "mark", "next_view", "sort",
         "delete", "back", "quit")
ALWAYS = ("palette", "help")  # at the right end, always shown
ALWAYS_TEXT = {"palette": ("^p", "Commands"), "help": ("?", "Help")}
KEY_STYLE = "bold reverse"


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
        tail = Text(no_wrap=True)
        for name in ALWAYS:
            key, description = ALWAYS_TEXT[name]
            if name == "help" and isinstance(screen.focused, Input):  # there "?" is typed: F1 still helps
                key = "f1"
            tail.append("  ")
            tail.append(key, style=KEY_STYLE)
            tail.append(" " + description)
        left = Text(no_wrap=True)
        for key, description in self.keys(screen):
            if left:
                left.append("  ")
            left.append(key, style=KEY_STYLE)
            left.append(" " + description)
        room = max(self.content_region.width - tail.cell_len, 0)
        if left.cell_len > room:
            left.truncate(room, overflow="ellipsis")
        left.pad_right(room - left.cell_len)
        return left + tail
