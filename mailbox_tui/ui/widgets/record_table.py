"""A virtual list of records: draws only the visible lines, fetching pages from SQL as needed.

Used for mailboxes, profiles, users and queues: a list is its columns and a page fetcher."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from rich.segment import Segment
from rich.style import Style
from textual.binding import Binding
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from ...i18n import N_, pgettext
from ...domain.options import ApprovalStatus, MailboxKind, TestStatus
from ...domain.outside_text import visible
from ...store.database import is_unreachable
from ..db_trouble import GuardsDatabase
from ...store.queries import MailboxRow

SHORT = {
    "incoming": {0: "None", 1: "Outlook", 2: "Server", 3: "Forward"},
    "outgoing": {0: "None", 1: "Outlook", 2: "Server"},
    "act": {0: "Outlook", 1: "Server", 2: "None"},
}


# The catalogue's contexts for a list's words: a column's title, and a word in a narrow column (each
# language has its own that fits: "Fel" for Failure in a column of 7, where the form says "Misslyckades").
COLUMN_TITLE, LIST_CELL = "column", "list cell"


def cell(text: str) -> str:
    """A word of a narrow column (an option's label, a SHORT word) in the admin's language."""
    return pgettext(LIST_CELL, text) if text else text


@dataclass(frozen=True)
class Column:
    key: str  # also the sort key in store.queries.SORTS, where sortable
    title: str
    width: int
    value: Callable[[MailboxRow], str]
    sortable: bool = True


COLUMNS = (
    Column("name", "Name", 23, lambda r: r.name),
    Column("email", "Email Address", 27, lambda r: r.email),
    Column("kind", "Kind", 7, lambda r: cell(MailboxKind.label_of(r.kind))),
    Column("profile", "Server Profile", 16, lambda r: r.profile_name, sortable=False),
    Column("incoming", "Incoming", 8, lambda r: cell(SHORT["incoming"].get(r.incoming, "?"))),
    Column("outgoing", "Outgoing", 8, lambda r: cell(SHORT["outgoing"].get(r.outgoing, "?"))),
    Column("act", "ACT", 7, lambda r: cell(SHORT["act"].get(r.act, "?"))),
    Column("status", "Status", 7, lambda r: cell(TestStatus.label_of(r.mailbox_status)), sortable=False),
    Column("approval", "Approval", 8, lambda r: short_approval(r.approval)),
    Column("tested", "Tested", 16, lambda r: r.test_completed_on.strftime("%Y-%m-%d %H:%M")
           if r.test_completed_on else ""),
    Column("next_attempt", "Next attempt", 16, lambda r: r.next_test_attempt.strftime("%Y-%m-%d %H:%M")
           if r.next_test_attempt else ""),
)

PageFetcher = Callable[[int, int], list]  # (offset, limit) -> rows, each with an `id`


class RowCache:
    """Pages of rows by offset; keeps the most recently used few."""

    def __init__(self, fetch: PageFetcher, page_size: int = 100, max_pages: int = 12,
                 unreachable: Callable[[BaseException], None] | None = None):
        self.fetch, self.page_size, self.max_pages = fetch, page_size, max_pages
        self.pages: OrderedDict[int, list] = OrderedDict()
        self.unreachable = unreachable  # told when the database can't be reached (the row shows blank)

    def get(self, index: int):
        number, within = divmod(index, self.page_size)
        page = self.pages.get(number)
        if page is None:
            try:
                page = self.fetch(number * self.page_size, self.page_size)
            except Exception as error:
                if self.unreachable is None or not is_unreachable(error):
                    raise
                self.unreachable(error)  # drawn blank now, fetched again once the list is read again
                return None
            self.pages[number] = page
            while len(self.pages) > self.max_pages:
                self.pages.popitem(last=False)
        else:
            self.pages.move_to_end(number)
        return page[within] if within < len(page) else None

    def seed(self, first_page: list) -> None:
        self.pages.clear()
        self.pages[0] = first_page


class RecordTable(GuardsDatabase, ScrollView, can_focus=True):
    """Header on the first line; one record per line below; the cursor row is highlighted.

    The first column (the record's name) stays put when the others scroll sideways, and a
    one-character gutter before it holds the mark, so a mark never hides a letter. The vertical
    scrollbar is always there: a filter that empties the list or fills it again does not move the
    columns (nor redraw every row for that)."""

    COLUMNS: tuple[Column, ...] = ()
    MARK = "•"
    COMPONENT_CLASSES = {"mailbox-table--header", "mailbox-table--cursor", "mailbox-table--marked",
                         "mailbox-table--empty"}
    DEFAULT_CSS = """
    RecordTable { height: 1fr; overflow-y: scroll; }
    RecordTable > .mailbox-table--header { text-style: bold underline; }
    RecordTable > .mailbox-table--cursor { text-style: reverse; }
    RecordTable > .mailbox-table--marked { text-style: bold; color: $warning; }
    RecordTable > .mailbox-table--empty { color: $text-muted; }
    """
    BINDINGS = [
        Binding("up,k", "cursor(-1)", N_("Up"), show=False),
        Binding("down,j", "cursor(1)", N_("Down"), show=False),
        Binding("pageup", "page(-1)", N_("Page up"), show=False),
        Binding("pagedown", "page(1)", N_("Page down"), show=False),
        Binding("home,g", "jump(0)", N_("First"), show=False),
        Binding("end,G", "jump(-1)", N_("Last"), show=False),
        Binding("left,h", "scroll_cols(-8)", N_("Left"), show=False),
        Binding("right,l", "scroll_cols(8)", N_("Right"), show=False),
        Binding("space", "toggle_mark", N_("Mark"), id="mark"),
        Binding("enter", "open", N_("Open"), id="open"),
    ]

    class Opened(Message):
        def __init__(self, row) -> None:
            self.row = row
            super().__init__()

    def __init__(self, columns: tuple[Column, ...] = (), **kwargs) -> None:
        super().__init__(**kwargs)
        self.columns = columns or self.COLUMNS
        self.count = 0
        self.cursor = 0
        self.cache = RowCache(lambda offset, limit: [])
        self.marked: set[int] = set()
        self.marked_rows: dict[int, object] = {}  # each marked row as it was shown when marked
        self.sort, self.descending = "name", False
        self.frozen = 1 + self.columns[0].width + 1 if self.columns else 0  # gutter, name, space
        self.width_total = 1 + sum(c.width + 1 for c in self.columns)
        self.empty_text = ""  # what to say when there are no rows; the page sets it

    def on_mount(self) -> None:
        # The scrollbars it needs at the terminal's width, before the first layout (a list spans the
        # screen's width). Left to Textual, they are found after the first frame is painted, and
        # the screen is laid out and painted a second time for them.
        width = self.app.size.width - self.styles.gutter.width - self.styles.scrollbar_size_vertical
        self.set_reactive(ScrollView.show_vertical_scrollbar, True)
        self.set_reactive(ScrollView.show_horizontal_scrollbar, self.virtual_size.width > width)
        self.vertical_scrollbar.display = True
        self.horizontal_scrollbar.display = self.show_horizontal_scrollbar

    # -- data
    def _database_unreachable(self, error: BaseException) -> None:
        told = getattr(self.app, "database_unreachable", None)
        if told is not None:
            told(error)

    def set_source(self, fetch: PageFetcher, count: int, first_page: list, empty_text: str | None = None,
                   to_top: bool = False) -> None:
        """New rows (a view, a filter or a sort changed): keep the cursor's place, or go `to_top`.

        Only what changed on screen is redrawn: each line's changed span, not the whole list (a
        filter keystroke over SSH costs the characters that differ, not a screenful)."""
        before = self._screen_lines()
        if empty_text is not None:
            self.empty_text = empty_text
        if to_top:
            self.cursor = 0
            self.scroll_to(0, 0, animate=False)
        self.cache = RowCache(fetch, unreachable=self._database_unreachable)
        self.cache.seed(first_page)
        self.count = count
        self.cursor = min(self.cursor, max(count - 1, 0))
        size = Size(self.width_total, count + 1)
        if size != self.virtual_size and self.container_size:
            # Only the vertical scrollbar's thumb changes (it is always shown; the width, and so
            # the horizontal one, stays): setting the reactive would lay out the screen and
            # redraw every row.
            self.set_reactive(RecordTable.virtual_size, size)
            bar = self.vertical_scrollbar
            bar.window_virtual_size = size.height
            bar.window_size = self.container_size.height - self.scrollbar_size_horizontal
            self.scroll_y = self.scroll_y  # within the new length
        elif size != self.virtual_size:
            self.virtual_size = size  # not laid out yet
        self._refresh_changed(before)

    def _screen_lines(self) -> list[tuple[str, Style]]:
        return [self._line(y) for y in range(self.size.height)]

    def _refresh_changed(self, before: list[tuple[str, Style]]) -> None:
        for y, (new, old) in enumerate(zip(self._screen_lines(), before)):
            if new == old:
                continue
            (new_text, new_style), (old_text, old_style) = new, old
            if new_style != old_style or len(new_text) != len(old_text):
                self.refresh(Region(0, y, self.size.width, 1))
                continue
            first = next(i for i, (a, b) in enumerate(zip(new_text, old_text)) if a != b)
            last = next(i for i in range(len(new_text) - 1, -1, -1) if new_text[i] != old_text[i])
            self.refresh(Region(first, y, last - first + 1, 1))

    def refresh_rows(self) -> None:
        """Drop cached pages (rows changed in the database) and redraw."""
        self.cache.pages.clear()
        self.refresh()

    def shown(self, ids: list[int]) -> dict[int, object]:
        """The rows of these ids as the admin saw them: marked ones as marked, the highlighted one as shown."""
        rows = {i: self.marked_rows[i] for i in ids if i in self.marked and i in self.marked_rows}
        row = self.current
        if row is not None and row.id in ids and row.id not in rows:
            rows[row.id] = row
        return rows

    @property
    def current(self):
        return self.cache.get(self.cursor) if self.count else None

    # -- drawing
    def render_line(self, y: int) -> Strip:
        text, style = self._line(y)
        return Strip([Segment(text, style)], self.size.width)

    def _line(self, y: int) -> tuple[str, Style]:
        """Line `y` of the widget as shown: its text (the widget's width) and its style."""
        scroll_x, scroll_y = self.scroll_offset
        width = self.size.width
        if y == 0:
            style = self.rich_style + self.get_component_rich_style("mailbox-table--header")
            titles = []
            for c in self.columns:
                arrow = ("▼" if self.descending else "▲") if c.key == self.sort else ""
                titles.append(_fit(pgettext(COLUMN_TITLE, c.title) + arrow, c.width))
            return self._shown(" " + " ".join(titles), scroll_x, width), style
        index = scroll_y + y - 1
        if index >= self.count:
            lines = self.empty_text.splitlines() if self.count == 0 else []
            if 2 <= y < 2 + len(lines):
                style = self.rich_style + self.get_component_rich_style("mailbox-table--empty")
                return (" " + visible(lines[y - 2])[:width - 1]).ljust(width), style
            return " " * width, self.rich_style
        row = self.cache.get(index)
        if row is None:
            return " " * width, self.rich_style
        marked = row.id in self.marked
        # A cell is outside text (a name, an address, a history entry's changes): one line, shown as
        # written; the segment goes to the terminal as it is, so nothing in it may be a control character.
        text = (self.MARK if marked else " ") + " ".join(_fit(visible(c.value(row)), c.width) for c in self.columns)
        style = self.rich_style
        if marked:
            style += self.get_component_rich_style("mailbox-table--marked")
        if index == self.cursor:
            style += self.get_component_rich_style("mailbox-table--cursor")
        return self._shown(text, scroll_x, width), style

    def _shown(self, text: str, scroll_x: int, width: int) -> str:
        """The frozen gutter and name, then the other columns from `scroll_x` on."""
        text = text.ljust(self.width_total)
        shown = text[:self.frozen] + text[self.frozen + scroll_x:] if scroll_x else text
        return shown[:width].ljust(width)

    # -- moving
    def _move_to(self, index: int) -> None:
        if not self.count:
            return
        old = self.cursor
        self.cursor = max(0, min(index, self.count - 1))
        self._refresh_row(old)
        self._refresh_row(self.cursor)
        visible = self.size.height - 1
        top = self.scroll_offset.y
        if self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False)
        elif self.cursor >= top + visible:
            self.scroll_to(y=self.cursor - visible + 1, animate=False)

    def _refresh_row(self, index: int) -> None:
        y = index - self.scroll_offset.y + 1
        if 0 < y < self.size.height:
            self.refresh(Region(0, y, self.size.width, 1))

    def action_cursor(self, delta: int) -> None:
        self._move_to(self.cursor + delta)

    def action_page(self, direction: int) -> None:
        self._move_to(self.cursor + direction * max(self.size.height - 2, 1))

    def action_jump(self, where: int) -> None:
        self._move_to(0 if where == 0 else self.count - 1)

    def action_scroll_cols(self, delta: int) -> None:
        # The name column stays; the others scroll until the last one is in view.
        widest = max(0, self.width_total - self.scrollable_content_region.width)
        self.scroll_to(x=max(0, min(self.scroll_offset.x + delta, widest)), animate=False)

    def action_toggle_mark(self) -> None:
        row = self.current
        if row is None:
            return
        self.marked.symmetric_difference_update({row.id})
        if row.id in self.marked:
            self.marked_rows[row.id] = row
        self._refresh_row(self.cursor)
        self._move_to(self.cursor + 1)
        self.post_message(self.MarksChanged(len(self.marked)))

    def action_open(self) -> None:
        row = self.current
        if row is not None:
            self.post_message(self.Opened(row))

    class MarksChanged(Message):
        def __init__(self, count: int) -> None:
            self.count = count
            super().__init__()


def short_approval(code: int) -> str:
    """Approved, Pending, Rejected or Empty: the approval status in a column of 8 (in the admin's language)."""
    return cell(ApprovalStatus.label_of(code).replace(" Approval", ""))


def _fit(text: str, width: int) -> str:
    return text[: width - 1] + "…" if len(text) > width else text.ljust(width)


class MailboxTable(RecordTable):
    COLUMNS = COLUMNS
