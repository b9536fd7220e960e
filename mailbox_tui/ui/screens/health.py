"""The Health page (key 7, issue 24 item 5): per server profile, its mailboxes enabled, failing, retrying and
disabled by failures, the last success and the failure rate in the last hour, from the one GROUP BY that
`mailbox-tui health` reads (store/health.py). A profile where more than half of its mailboxes failed within
the hour is flagged. Enter lists the mailboxes behind a row on the Mailboxes page."""

from __future__ import annotations

from dataclasses import dataclass

from textual.binding import Binding

from ...i18n import N_, _, ngettext, number, shown
from ...store import queries
from ...store.health import ProfileHealth, profile_health
from ..messages import RowsLoaded
from ..plain import Plain, visible
from ..widgets.record_table import Column, RecordTable
from .record_list import RecordListScreen

FLAG = "!"
NO_PROFILE_NAME = N_("(no profile)")  # shown with shown(); the filter matches it in either language


@dataclass(frozen=True)
class HealthRow:
    """One profile's figures, as a line of the list (the list's rows carry an `id`: here the line's number)."""

    id: int
    figures: ProfileHealth

    @property
    def name(self) -> str:
        return self.figures.profile or shown(NO_PROFILE_NAME)


def _when(value) -> str:
    return value.strftime("%m-%d %H:%M") if value else _("never")


HEALTH_COLUMNS = (  # 78 columns with the gutter: the whole row at 80×24
    Column("profile", "Profile", 14, lambda r: (f"{FLAG} " if r.figures.flagged else "") + r.name, sortable=False),
    Column("enabled", "Enabled", 7, lambda r: number(r.figures.enabled), sortable=False),
    Column("failing", "Failing", 7, lambda r: number(r.figures.failing), sortable=False),
    Column("retrying", "Retrying", 8, lambda r: number(r.figures.retrying), sortable=False),
    Column("disabled", "Disabled", 8, lambda r: number(r.figures.disabled), sortable=False),
    Column("disabled_24h", "in 24h", 6, lambda r: number(r.figures.disabled_24h), sortable=False),
    Column("last_success", "Last success", 12, lambda r: _when(r.figures.last_success), sortable=False),
    Column("rate", "Fail 1h", 7, lambda r: f"{r.figures.failure_rate_1h:.0%}" if r.figures.tested_1h else "-",
           sortable=False),
)


class HealthTable(RecordTable):
    COLUMNS = HEALTH_COLUMNS


def worst_view(figures: ProfileHealth) -> str:
    """The Mailboxes view that lists what needs an admin first: disabled, then retrying, then failing."""
    if figures.disabled:
        return "disabled"
    if figures.retrying:
        return "retrying"
    if figures.failing:
        return "failed"
    return "active"


class HealthScreen(RecordListScreen):
    PAGE = "health"
    VIEWS = {"all": N_("By server profile")}
    FILTER_HINT = N_("Filter by profile name")
    EMPTY = N_("No active mailboxes: nothing to watch yet.")
    TABLE = HealthTable
    BINDINGS = RecordListScreen.COMMON_BINDINGS + [
        Binding("d", "list('disabled')", N_("Disabled"), show=False, id="list_disabled"),
        Binding("r", "list('retrying')", N_("Retrying"), show=False, id="list_retrying"),
        Binding("f", "list('failed')", N_("Failing"), show=False, id="list_failing"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.figures: list[ProfileHealth] = []  # the last figures read, every profile

    def compose(self):
        for widget in super().compose():
            if widget is self.table:  # the flag's sentence between the status line and the list
                yield Plain(self.note_text(), id="health-note")
            yield widget

    # -- rows: profiles are few; one GROUP BY gives all of them
    def _rows(self, text: str) -> list[HealthRow]:
        self.figures = profile_health()
        needle = queries.needle(text) if text.strip() else ""
        listed = [f for f in self.figures
                  if needle in queries.needle(f.profile or NO_PROFILE_NAME)
                  or (not f.profile and needle in queries.needle(shown(NO_PROFILE_NAME)))]
        return [HealthRow(line, figures) for line, figures in enumerate(listed)]

    def count_rows(self, view: str, text: str) -> int:
        return len(self._rows(text))

    def total_rows(self) -> int:
        return len(self.figures)

    def page_rows(self, view, text, sort, descending, limit, offset) -> list:
        return self._rows(text)[offset:offset + limit]

    # -- what the page says
    def flagged(self) -> list[str]:
        return [f.profile or shown(NO_PROFILE_NAME) for f in self.figures if f.flagged]

    def note_text(self) -> str:
        flagged = self.flagged()
        if flagged:
            said = _("{flag} FLAGGED: more than half of the mailboxes failed within the hour: {names}.").format(
                flag=FLAG, names=", ".join(visible(name) for name in flagged))
        else:
            said = _("No profile flagged (more than half of its mailboxes failing within the hour).")
        return said + "\n" + _("Enter: the mailboxes behind a row (d disabled, r retrying, f failing).")

    def on_rows_loaded(self, message: RowsLoaded) -> None:
        self.query_one("#health-note", Plain).update(self.note_text())

    def status_parts(self) -> list[str]:
        parts = super().status_parts()
        flagged = len(self.flagged())
        return parts + [ngettext("{n} flagged", "{n} flagged", flagged).format(n=number(flagged))]

    # -- Enter: the Mailboxes page, that profile, the view of what needs an admin
    def open_row(self, row: HealthRow) -> None:
        self.list_mailboxes(row, worst_view(row.figures))

    def action_list(self, view: str) -> None:
        row = self.table.current
        if row is not None:
            self.list_mailboxes(row, view)

    def list_mailboxes(self, row: HealthRow, view: str) -> None:
        name = row.figures.profile
        if name:
            ids = [pid for pid, profile_name, _ in queries.profiles_lookup() if profile_name == name]
            if not ids:
                self.notify(_("The profile {name} is gone: F5 reads the figures again.").format(name=repr(name)),
                            severity="warning")
                return
            profile = (ids[0], name)
        else:
            profile = (queries.NO_PROFILE, "")
        self.app.action_go("mailboxes", view=view, profile=profile)
