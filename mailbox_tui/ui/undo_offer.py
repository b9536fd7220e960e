"""Undo from the app: on a history entry (after a confirmation), and for a few seconds after a
data-changing single key (approve, reject, activate, deactivate, delete, apply defaults), when
the status line offers it: `u` then undoes exactly the entries that key wrote."""

from __future__ import annotations

import time

from textual.binding import Binding

from ..i18n import N_, _
from ..domain.findings import RuleViolation
from ..store.database import StoreError
from .db_trouble import GuardsDatabase, said_error

UNDO_OFFER_S = 8.0


class UndoOffers(GuardsDatabase):
    """Mixed into the App."""

    UNDO_BINDINGS = [Binding("u", "undo_offer", N_("Undo"), show=False, id="undo_offer")]
    _undo_offer: tuple[list[int], float, str, object] | None = None  # entries, until, what, page

    def history_mark(self) -> int:
        """Where the history ends now: what an action writes after it is its own."""
        from ..store import history_read  # not at start: the first list needs no history

        return history_read.latest_id()

    def offer_undo(self, mark: int, message: str) -> None:
        """Say what was done, and offer undo of what this admin wrote since `mark` for a few seconds, on
        the page's own status line: the offer belongs to that page and goes when the admin leaves it (a
        notification would follow the admin to the next page and cover its text)."""
        from ..store import history_read

        ids = history_read.own_entries_after(self.store, mark)
        if not ids:
            self._undo_offer = None
            self.notify(message)
            return
        self._undo_offer = (ids, time.monotonic() + UNDO_OFFER_S, message, self.screen)
        self._show_undo_hint()
        self.set_timer(UNDO_OFFER_S, self._show_undo_hint)  # one redraw when the offer ends, no ticking

    def _live_offer(self):
        offer = self._undo_offer
        if offer is None or time.monotonic() > offer[1] or offer[3] is not self.screen:
            return None
        return offer

    @property
    def undo_hint(self) -> str:
        """What the page's status line says while undo is offered there ("" otherwise)."""
        offer = self._live_offer()
        return _("u: undo {what}").format(what=offer[2]) if offer else ""

    def drop_undo_offer(self, screen) -> None:
        """The admin left the page the offer was made on: it goes."""
        if self._undo_offer is not None and self._undo_offer[3] is screen:
            self._undo_offer = None

    def _show_undo_hint(self) -> None:
        if hasattr(self.screen, "update_status"):
            self.screen.update_status()

    def action_undo_offer(self) -> None:
        offer, self._undo_offer = self._live_offer(), None
        self._show_undo_hint()
        if offer is None:
            self.notify(_("Nothing to undo here: the History page (6) undoes any change."), severity="warning")
            return
        self._undo(offer[0], _("Undone: {what}").format(what=offer[2]))

    def undo_entries(self, entry_ids: list[int], what: str, detail: str = "", long: bool = False,
                     question: str = "") -> None:
        """Undo history entries after a confirmation (the History page); `question` asks it in the admin's
        terms ("Delete the mailbox 'Sales intake', created by this entry?"), `detail` says what will
        change, and a `long` undo (a whole import) runs in a worker."""
        from .dialogs.confirm import ConfirmDialog

        def answer(yes: bool | None) -> None:
            if yes and long:
                self.notify(_("Undoing {what}…").format(what=what))
                self.undo_in_background(entry_ids, _("Undid {what}.").format(what=what))
            elif yes:
                self._undo(entry_ids, _("Undid {what}.").format(what=what))

        self.push_screen(ConfirmDialog((question or _("Undo {what}?").format(what=what)) + " "
                                       + (f"{detail} " if detail else "")
                                       + _("The change is reversed through the same rules as a save."),
                                       yes=_("Undo"), no=_("Keep")), answer)

    def _undo(self, entry_ids: list[int], done: str) -> None:
        from ..store.undo import undo_many

        try:
            undo_many(self.store, entry_ids)
        except (RuleViolation, StoreError) as exc:
            self.notify(said_error(exc), severity="error", timeout=10)
            return
        self.undo_finished(done)

    def undo_finished(self, done: str) -> None:
        self.notify(done)
        screen = self.screen
        if hasattr(screen, "refresh_rows"):
            screen.refresh_rows()
