"""What every list page shares: views, a filter done in SQL as you type, marks, the row count,
and one key per page to move between Mailboxes, Profiles, Users, Queues and Email Settings."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Input

from ...i18n import N_, _, number, shown
from ...store.database import is_unreachable
from ..db_trouble import GuardsDatabase, said_error
from ..messages import RowsLoaded
from ..plain import Plain, PlainInput, visible
from ..widgets.keybar import KeyBar
from ..widgets.titlebar import TitleBar
from ..widgets.record_table import RecordTable

PAGE = 100  # rows fetched at a time
PAGES = {"1": "mailboxes", "2": "profiles", "3": "users", "4": "queues", "5": "settings", "6": "history",
         "7": "health"}
PAGE_TITLES = {"mailboxes": N_("Mailboxes"), "profiles": N_("Email Server Profiles"), "users": N_("Users"),
               "queues": N_("Queues"), "settings": N_("Email Settings"), "history": N_("History"),
               "health": N_("Health")}


class RecordListScreen(GuardsDatabase, Screen):
    """A list page. Subclasses say which rows (`count_rows`, `page_rows`) and what opening does."""

    PAGE = ""
    VIEWS: dict[str, str] = {"all": N_("All")}
    DEFAULT_VIEW = "all"
    FILTER_HINT = N_("Filter by name or email")
    TABLE: type[RecordTable] = RecordTable
    COMMON_BINDINGS = [
        Binding("slash", "filter", N_("Filter"), id="filter"),
        Binding("v", "view(1)", N_("View"), id="next_view"),
        Binding("V", "view(-1)", N_("Prev view"), show=False, id="prev_view"),
        Binding("escape", "clear_filter", N_("Clear the filter, or back to Mailboxes"), show=False, id="clear_filter"),
        Binding("f5", "reload", N_("Refresh"), show=False, id="reload"),
    ] + [Binding(key, f"app.go('{page}')", PAGE_TITLES[page], show=False, id=f"go_{page}")
         for key, page in PAGES.items()]

    def __init__(self) -> None:
        super().__init__()
        self.view = self.DEFAULT_VIEW
        self.filter_text = ""
        self.total = 0
        self.loads = 0  # how many result sets arrived; tests and benchmarks wait on it
        self._shown: tuple | None = None  # what the table shows: view, filter, sort, direction
        self._resumed = False

    AUTO_FOCUS = "#records"  # the list has the focus from the first paint, not the filter box

    def compose(self) -> ComposeResult:
        # The first rows come synchronously (a few ms even at 100,000) and go into the table before
        # it is mounted: the first frame painted shows them, and no frame is painted twice.
        self._table = table = self.TABLE(id="records")
        try:
            self._show_rows(RowsLoaded(*self.query_rows(self.view, "", table.sort, table.descending)))
        except Exception as error:
            if not is_unreachable(error):
                raise
            self.app.database_unreachable(error)  # an empty list now; read again once the database answers
        yield TitleBar()
        yield Plain(self.status_text(), id="status")
        yield PlainInput(placeholder=_("{hint} (Enter: back to the list, Escape: clear)").format(hint=shown(self.FILTER_HINT)),
                         id="filter",
                         compact=True)
        yield table
        yield KeyBar()

    def on_mount(self) -> None:
        self.query_one("#filter", Input).cursor_blink = False  # no redraws while idle (SSH)

    def on_screen_suspend(self) -> None:
        self.app.drop_undo_offer(self)  # an undo offer belongs to the page it was made on

    def on_screen_resume(self) -> None:
        # Back from a form or another page: rows may have changed. (Not when the screen first
        # shows: its rows were read a moment ago.)
        if self._resumed:
            self.refresh_rows()
        self._resumed = True

    @property
    def HELP_TITLE(self) -> str:  # noqa: N802 (read by the help screen, like a class constant)
        return shown(PAGE_TITLES[self.PAGE])

    @property
    def table(self) -> RecordTable:
        return self._table

    # -- rows, a page at a time
    def count_rows(self, view: str, text: str) -> int:
        raise NotImplementedError

    def page_rows(self, view: str, text: str, sort: str, descending: bool, limit: int, offset: int) -> list:
        raise NotImplementedError

    def total_rows(self) -> int:
        return self.count_rows("all", "")

    def query_rows(self, view: str, text: str, sort: str, descending: bool) -> tuple:
        """What RowsLoaded carries: the count, the total and the first page (the App's `load_rows`
        worker calls this in its thread)."""
        first = self.page_rows(view, text, sort, descending, PAGE, 0)
        # A first page that is not full is the whole list: no count to run (a filter that matches
        # little or nothing is the common keystroke, and its count would scan as much as its page).
        count = len(first) if len(first) < PAGE else self.count_rows(view, text)
        total = self.total_rows() if (view != "all" or text) else count
        return view, text, sort, descending, count, total, first

    def reload(self) -> None:
        """Rows for the current view, filter and sort, loaded in a thread worker (a foreground one:
        the next key that is not text in the filter waits for them)."""
        self.app.load_rows(self, self.view, self.filter_text, self.table.sort, self.table.descending)

    def refresh_rows(self) -> None:
        """After a change: the same view and filter, fresh rows."""
        self.table.refresh_rows()
        self.reload()

    def on_rows_loaded(self, message: RowsLoaded) -> None:
        if self._show_rows(message):
            self.update_status()

    def _show_rows(self, message: RowsLoaded) -> bool:
        """The rows of a result set into the table, unless a newer request is on its way."""
        wanted = (self.view, self.filter_text, self.table.sort, self.table.descending)
        key = (message.view, message.text, message.sort, message.descending)
        if key != wanted:
            return False

        def fetch(offset: int, limit: int):
            return self.page_rows(*key, limit, offset)

        self.total = message.total
        to_top = self._shown is not None and self._shown != key  # new rows: start at the top
        self._shown = key
        self.table.set_source(fetch, message.count, message.first_page,
                              empty_text=self.empty_text(message.text, message.total), to_top=to_top)
        self.loads += 1
        return True

    EMPTY = N_("Nothing here yet: n adds one.")

    def empty_text(self, filter_text: str, total: int) -> str:
        """What an empty list says: why it is empty and what to do."""
        if filter_text:
            return _("Nothing matches “{text}”. Escape clears the filter.").format(text=visible(filter_text))
        if total:
            return _("Nothing in this view: v shows the next view.")
        return shown(self.EMPTY)

    def status_parts(self) -> list[str]:
        table = self.table
        parts = [f"{shown(PAGE_TITLES[self.PAGE])}: {shown(self.VIEWS[self.view])}",
                 _("{shown} shown of {total}").format(shown=number(table.count), total=number(self.total))]
        if table.marked:
            parts.append(_("{count} marked").format(count=number(len(table.marked))))
        if self.filter_text:
            parts.append(_("filter: {text}").format(text=self.filter_text))
        return parts

    def update_status(self) -> None:
        # One line, always (app.tcss): redraw the line, not the layout (which redraws the list too).
        self.query_one("#status", Plain).update(self.status_text(), layout=False)

    def status_text(self) -> str:
        # An undo offer first, while it lasts (a few seconds after approve, reject, delete…): a line too
        # long for the terminal is cut at its end.
        hint = getattr(self.app, "undo_hint", "")
        return visible(" · ".join(([hint] if hint else []) + self.status_parts()))

    @on(RecordTable.MarksChanged)
    def _marks_changed(self) -> None:
        self.update_status()

    # -- filter and views
    def action_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.add_class("visible")
        box.focus()

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.filter_text = event.value
        self.reload()

    @on(Input.Submitted, "#filter")
    def _filter_done(self) -> None:
        self.table.focus()

    def action_clear_filter(self) -> None:
        """Escape walks back one level: the filter first, then this page (back to Mailboxes)."""
        box = self.query_one("#filter", Input)
        if box.has_class("visible") or self.filter_text:
            box.value = ""
            box.remove_class("visible")
            self.filter_text = ""
            self.table.focus()
            self.reload()
        else:
            self.action_back()

    def action_back(self) -> None:
        if self.PAGE != "mailboxes":
            self.app.action_go("mailboxes")

    def action_view(self, step: int) -> None:
        order = list(self.VIEWS)
        self.set_view(order[(order.index(self.view) + step) % len(order)])

    def show(self, view: str | None = None, filter_text: str | None = None) -> None:
        """Open on a given view and filter (another page's "list these" lands here)."""
        if view is not None:
            self.view = view
        if filter_text is not None:
            box = self.query_one("#filter", Input)
            box.add_class("visible")
            with box.prevent(Input.Changed):
                box.value = filter_text
            self.filter_text = filter_text
        self.reload()

    def set_view(self, view: str) -> None:
        self.view = view
        self.reload()

    def action_reload(self) -> None:
        self.refresh_rows()

    # -- opening and marking
    @on(RecordTable.Opened)
    def _open(self, event: RecordTable.Opened) -> None:
        self.open_row(event.row)

    def open_row(self, row) -> None:
        raise NotImplementedError

    def action_new(self) -> None:
        raise NotImplementedError

    def selected_ids(self) -> list[int]:
        if self.table.marked:
            return sorted(self.table.marked)
        row = self.table.current
        return [row.id] if row else []

    def after_change(self, _result=None) -> None:
        self.refresh_rows()

    def confirm_then(self, question: str, act, done_message) -> None:
        """Ask (focus on the safe answer); on yes run `act()`, report, refresh. Errors are sentences."""
        from ...store.database import StoreError
        from ..dialogs.confirm import ConfirmDialog

        def answer(yes: bool | None) -> None:
            if not yes:
                return
            mark = self.app.history_mark()
            try:
                result = act()
            except StoreError as exc:
                self.notify(said_error(exc), severity="error", timeout=10)
                return
            self.table.marked.clear()
            self.app.offer_undo(mark, done_message(result) if callable(done_message) else done_message)
            self.after_change()

        self.app.push_screen(ConfirmDialog(question, yes=_("Delete"), no=_("Keep")), answer)
