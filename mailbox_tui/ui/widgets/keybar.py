"""The key bar: the keys of the page and its focused widget, and always Help and Commands.

Textual's Footer builds a widget per key and rebuilds them on every focus change, which
costs more than the rest of a screen's start. Lines of text do the job over SSH.

The order is fixed by what the keys do (most used first), never by which widget has focus, so
the bar does not reshuffle as the admin tabs around. Help and the command palette sit at the
right end of the last line and are never cut off. No key is cut either: when one line cannot hold
them whole, the bar takes a second line (as nano and Midnight Commander do)."""

from __future__ import annotations

from rich.text import Text
from textual.widget import Widget
from textual.widgets import Input

from ...i18n import N_, pgettext, shown

# Binding ids in the order an admin reaches for them; ids not listed follow in declared order.
ORDER = ("open", "filter", "new", "save_close", "save", "test_enable", "section_general", "history", "open_mailbox",
         "open_mailboxes", "test_mailboxes", "test_connection", "approve", "reject", "mark", "next_view", "sort",
         "delete", "back", "quit")
ALWAYS = ("palette", "help")  # at the right end, always shown
ALWAYS_TEXT = {"palette": ("^p", N_("Commands")), "help": ("?", N_("Help"))}
KEY_STYLE = "bold reverse"
# Before taking another line: shorter labels, then one space between keys (the keys stand out in
# reverse video). Vertical room is scarce at 24 rows; a second line is taken only when these fail.
# Each language has its own short label for these (the catalogue's "key bar" context).
SHORT = {"Test & Enable": "Test", "Save & Close": "Save+Close"}
KEY_BAR = "key bar"
FITS = ((False, "  "), (True, "  "), (True, " "))  # (short labels, gap), tried in turn
MOST_LINES = 3  # beyond this (a terminal far narrower than 60 columns) the last line is cut


class KeyBar(Widget):
    """Drawn from the screen's bindings when laid out and painted, so the first frame already shows
    them (a text set after mounting would need a second frame)."""

    DEFAULT_CSS = """
    KeyBar { dock: bottom; height: auto; background: $panel; color: $text; padding: 0 1; }
    """

    _line_count = 1  # as last laid out: a change of bindings lays the screen out again only if it changes

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def _bindings_changed(self, _screen=None) -> None:
        lines = len(self.lines(self.content_region.width)) if self.content_region.width else self._line_count
        self.refresh(layout=lines != self._line_count)  # the same height: no need to lay the screen out

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

    def get_content_height(self, container, viewport, width: int) -> int:
        self._line_count = len(self.lines(width))
        return self._line_count

    def render(self) -> Text:
        return Text("\n", no_wrap=True, end="").join(self.lines(self.content_region.width))

    def lines(self, width: int) -> list[Text]:
        """The bar in `width` cells: on as few lines as hold every key whole, Commands and Help at the
        right end of the last; the fullest labels that fit on that many lines."""
        screen = self.screen
        keys = self.keys(screen)
        for most in range(1, MOST_LINES + 1):
            for short, gap in FITS:
                pieces, tail = _pieces(keys, short), _tail(screen, gap)
                rows = _rows(pieces, tail.cell_len, gap, width)
                if len(rows) <= most:
                    return _draw(_balanced(rows, pieces, tail.cell_len, gap, width), tail, gap, width)
        # Far too narrow: the most that fits, the last line cut before Commands and Help.
        tail = _tail(screen, " ")
        rows = _rows(_pieces(keys, True), tail.cell_len, " ", width)
        kept, rest = rows[:MOST_LINES - 1], [piece for row in rows[MOST_LINES - 1:] for piece in row]
        last = Text(" ", no_wrap=True).join(rest)
        last.truncate(max(width - tail.cell_len, 0), overflow="ellipsis")
        return _draw([*kept, [last]], tail, " ", width)


def _pieces(keys: list[tuple[str, str]], short: bool) -> list[Text]:
    out = []
    for key, description in keys:
        piece = Text(no_wrap=True)
        piece.append(key, style=KEY_STYLE)
        piece.append(" " + (pgettext(KEY_BAR, SHORT[description]) if short and description in SHORT
                            else shown(description)))
        out.append(piece)
    return out


def _tail(screen, gap: str) -> Text:
    """Commands and Help, each after a gap."""
    tail = Text(no_wrap=True)
    for name in ALWAYS:
        key, description = ALWAYS_TEXT[name]
        if name == "help" and isinstance(screen.focused, Input):  # there "?" is typed: F1 still helps
            key = "f1"
        tail.append(gap)
        tail.append(key, style=KEY_STYLE)
        tail.append(" " + shown(description))
    return tail


def _rows(pieces: list[Text], tail: int, gap: str, width: int) -> list[list[Text]]:
    """The keys left to right, on a new line when the next does not fit whole; the last line keeps
    `tail` cells free for Commands and Help (which take a line of their own if they must)."""
    rows: list[list[Text]] = [[]]
    used = 0
    for piece in pieces:
        if rows[-1] and used + len(gap) + piece.cell_len > width:
            rows.append([])
            used = 0
        used += (len(gap) if rows[-1] else 0) + piece.cell_len
        rows[-1].append(piece)
    if rows[-1] and used + tail > width:
        rows.append([])
    return rows


def _balanced(rows: list[list[Text]], pieces: list[Text], tail: int, gap: str, width: int) -> list[list[Text]]:
    """The same number of lines, as even as they go: the narrowest width that still needs no more
    (rather than a full first line and a last line of Commands and Help alone)."""
    while len(rows) > 1 and width > 1:
        narrower = _rows(pieces, tail, gap, width - 1)
        if len(narrower) > len(rows):
            break
        rows, width = narrower, width - 1
    return rows


def _draw(rows: list[list[Text]], tail: Text, gap: str, width: int) -> list[Text]:
    lines = [Text(gap, no_wrap=True).join(row) for row in rows]
    for line in lines[:-1]:
        line.pad_right(max(width - line.cell_len, 0))
    last = lines[-1]
    last.pad_right(max(width - last.cell_len - tail.cell_len, 0))
    lines[-1] = last + tail
    return lines
