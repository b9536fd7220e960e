"""History (page 6): every change, newest first, as fast at 1,000,000 entries as the lists; one
entry's changes, old → new per field; undo; and one record's history from its form.

Reads through store/history_read.py (plain records) and undoes through store/undo.py (the
services): no models here."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen

from ...i18n import N_, _, number, said
from ...store import history_read, history_words
from ..plain import Plain, plain_lines, visible
from ..widgets.record_table import Column, RecordTable
from .record_list import PAGE, RecordListScreen
from ..db_trouble import GuardsDatabase

HISTORY_COLUMNS = (
    Column("at", "When (UTC)", 16, lambda e: e.at.strftime("%Y-%m-%d %H:%M"), sortable=False),
    Column("action", "Action", 14, lambda e: said(history_words.action_word(e.action)), sortable=False),
    Column("record", "Record", 26, lambda e: said(history_words.record_words(e.kind, e.record_key)), sortable=False),
    Column("admin", "Admin", 20, lambda e: e.admin or "—", sortable=False),
    Column("changes", "Changes", 80, lambda e: e.summary, sortable=False),
)


class HistoryTable(RecordTable):
    COLUMNS = HISTORY_COLUMNS


def entry_lines(e: history_read.HistoryEntry) -> list[str]:
    """An entry as a dialog shows it: who, when, what, and each field old → new. Each item is one
    line: what it quotes (a stored value, an OS user, a file name) cannot start another."""
    lines = [f"#{e.id} · {e.at:%Y-%m-%d %H:%M:%S} UTC · {who(e)}",
             said(e.phrase) + (" " + _("(id {id})").format(id=e.record_id) if e.record_id else "")]
    if e.undoes:
        lines.append(_("undoes entry #{id}").format(id=e.undoes))
    if e.batch:
        lines.append(_("part of entry #{id}").format(id=e.batch))
    if e.parent:
        lines.append(_("came with entry #{id}").format(id=e.parent))
    created = e.action in ("create", "import")
    lines += [f"  {history_read.describe(c, created=created)}" for c in e.changes] or ["  " + _("(no field values)")]
    return lines


def confirm_undo(app, e: history_read.HistoryEntry) -> None:
    """Undo an entry after a confirmation; an import's says how many records of each kind will change."""
    if e.action == "import":
        from ...store.undo_import import describe_import_undo

        app.undo_entries([e.id], _("import #{id} ({name}) as a whole").format(id=e.id, name=e.record_key),
                         detail=_("{what}, in one transaction.").format(what=said(describe_import_undo(e.id))),
                         long=True)
    else:
        app.undo_entries([e.id], _("entry #{id} ({phrase})").format(id=e.id, phrase=said(e.phrase)),
                         question=said(history_words.undo_question(e)))


def who(e: history_read.HistoryEntry) -> str:
    """The acting admin and where from, in the admin's words when none was chosen."""
    return e.who if e.admin else _("(no acting admin)") + e.who[len("(no acting admin)"):]


class HistoryListScreen(RecordListScreen):
    PAGE = "history"
    VIEWS = history_read.VIEW_LABELS
    FILTER_HINT = N_("Filter by record, admin or action")
    EMPTY = N_("No changes recorded yet: every save, approval, delete and import will be listed here.")
    TABLE = HistoryTable
    BINDINGS = RecordListScreen.COMMON_BINDINGS + [
        Binding("enter", "open_entry", N_("Show"), id="open", show=False),
        Binding("u", "undo_entry", N_("Undo"), id="undo"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._anchors: dict[tuple, dict[int, tuple]] = {}  # (view, text) -> offset -> the key of the row above it
        self._exact_total: int | None = None  # every entry, counted once per load of the page

    def count_rows(self, view, text) -> int:
        return history_read.count_entries(self.app.store, view, text)

    def empty_text(self, filter_text: str, total: int) -> str:
        note = history_read.short_filter_note(filter_text)
        if note:
            return _("Nothing matches “{text}” ({note}). Escape clears the filter.").format(text=visible(filter_text),
                                                                                             note=note)
        return super().empty_text(filter_text, total)

    def status_parts(self) -> list[str]:
        parts = super().status_parts()
        if self.table.count > history_read.COUNT_CAP:  # counted no further: say so, never a false total
            parts[1] = _("{shown}+ shown of {total}").format(shown=number(history_read.COUNT_CAP), total=number(self.total))
        note = history_read.short_filter_note(self.filter_text)
        return parts + [note] if note else parts

    def total_rows(self) -> int:
        if self._exact_total is None:
            self._exact_total = history_read.count_entries(self.app.store, "all", "", cap=None)
        return self._exact_total

    def query_rows(self, view, text, sort, descending) -> tuple:
        view, text, sort, descending, count, total, first = super().query_rows(view, text, sort, descending)
        if count > history_read.COUNT_CAP:
            total = self.total_rows()
        return view, text, sort, descending, count, total, first

    def refresh_rows(self) -> None:
        self._exact_total = None
        super().refresh_rows()

    def page_rows(self, view, text, sort, descending, limit, offset) -> list:
        """Keyed pages: a page that follows one already read starts below its last id (as cheap at
        the millionth entry as at the first); a jump (End) falls back to the offset."""
        anchors = self._anchors.setdefault((view, text), {})
        after = anchors.get(offset)
        if offset and after is None:
            rows = self._offset_page(view, text, limit, offset)
        else:
            rows = history_read.history_page(self.app.store, view, text, limit=limit, after=after)
        if rows:
            anchors[offset + len(rows)] = rows[-1].key
        return rows

    def _offset_page(self, view, text, limit, offset) -> list:
        rows, after, skipped = [], None, 0
        while skipped < offset:  # walk down by keys, PAGE at a time (never an OFFSET of 500,000 rows)
            step = min(PAGE * 10, offset - skipped)
            chunk = history_read.history_page(self.app.store, view, text, limit=step, after=after)
            if not chunk:
                return []
            skipped += len(chunk)
            after = chunk[-1].key
        rows = history_read.history_page(self.app.store, view, text, limit=limit, after=after)
        return rows

    def on_rows_loaded(self, message) -> None:
        self._anchors.pop((message.view, message.text), None)
        self._anchors[(message.view, message.text)] = {len(message.first_page): message.first_page[-1].key} \
            if message.first_page else {}
        super().on_rows_loaded(message)

    def open_row(self, row) -> None:
        self.app.push_screen(EntryScreen(row))

    def action_open_entry(self) -> None:
        if self.table.current is not None:
            self.open_row(self.table.current)

    def action_new(self) -> None:
        self.notify(_("History is written by the changes themselves."))

    def action_undo_entry(self) -> None:
        row = self.table.current
        if row is not None:
            confirm_undo(self.app, row)


class EntryScreen(GuardsDatabase, ModalScreen[None]):
    """One entry: who, when, and each field old → new; u undoes it."""

    DEFAULT_CSS = """
    EntryScreen { align: center middle; }
    EntryScreen > Vertical { width: 76; max-width: 100%; height: auto; max-height: 90%; border: thick $primary;
                             padding: 0 1; background: $surface; }
    EntryScreen VerticalScroll { height: auto; max-height: 18; }
    """
    BINDINGS = [
        Binding("escape,q", "close", N_("Close"), id="back"),
        Binding("u", "undo", N_("Undo"), id="undo"),
    ]

    def __init__(self, entry: history_read.HistoryEntry) -> None:
        super().__init__()
        self.entry = entry

    def compose(self) -> ComposeResult:
        with Vertical():
            with VerticalScroll():
                yield Plain(plain_lines(entry_lines(self.entry)), id="entry-text")
            yield Plain(_("u: undo · Escape: close"), classes="hint")

    def action_close(self) -> None:
        self.dismiss(None)

    def action_undo(self) -> None:
        self.dismiss(None)
        confirm_undo(self.app, self.entry)


class RecordHistoryScreen(GuardsDatabase, ModalScreen[None]):
    """One record's history, newest first (a form's History key)."""

    DEFAULT_CSS = """
    RecordHistoryScreen { align: center middle; }
    RecordHistoryScreen > Vertical { width: 78; max-width: 100%; height: 90%; border: thick $primary;
                                     padding: 0 1; background: $surface; }
    """
    BINDINGS = [Binding("escape,q", "close", N_("Close"), id="back")]

    def __init__(self, kind: str, record_id: int, title: str) -> None:
        super().__init__()
        self.kind, self.record_id, self.title_text = kind, record_id, title

    def compose(self) -> ComposeResult:
        entries = history_read.record_history(self.kind, self.record_id)
        lines = [_("History of {name}, newest first (Escape closes)").format(name=self.title_text), ""]
        for e in entries:
            lines += entry_lines(e) + [""]
        if not entries:
            lines.append(_("No changes recorded for it yet."))
        with Vertical():
            with VerticalScroll():
                yield Plain(plain_lines(lines))

    def action_close(self) -> None:
        self.dismiss(None)
