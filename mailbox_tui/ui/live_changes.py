"""Another admin's change, seen without a key (issue 22, item 4).

The app follows the database's changes (store/changes.py: PostgreSQL's LISTEN/NOTIFY, SQLite's
data_version) in a background worker. When one commits, the list on screen reads its rows again
(only the lines that differ are redrawn), and an open form whose record changed says so at once:
what the conflict dialog would say at the save, before it. F5 reads a list again by hand.
"""

from __future__ import annotations

import threading

from ..domain.records import changed_fields
from ..i18n import _, shown
from ..store.database import StoreError, is_unreachable


class LiveChanges:
    """App mixin: start following at mount, stop at unmount; what a change does to the screen."""

    _changes_stop: threading.Event | None = None

    def start_following_changes(self) -> None:
        self._changes_stop = threading.Event()
        self.follow_changes(self._changes_stop)

    def stop_following_changes(self) -> None:
        if self._changes_stop is not None:
            self._changes_stop.set()

    def changes_seen(self) -> None:
        screen = self.screen
        try:
            if callable(getattr(screen, "reload", None)):  # a list: its rows again
                screen.reload()
            elif callable(getattr(screen, "reload_base", None)):  # a form: its record, if it changed
                changed_meanwhile(screen)
        except Exception as error:
            if not is_unreachable(error):
                raise
            self.database_unreachable(error)


def changed_meanwhile(form) -> None:
    """If another admin saved the form's record, say so now, with what they changed, rather than at
    the save (which still asks: overwrite or reload)."""
    base = getattr(form, "base", None)
    if getattr(base, "id", None) is None:
        return
    try:
        current = form.reload_base()
    except StoreError as error:
        if is_unreachable(error):
            raise
        if getattr(form, "_told_version", None) != "deleted":
            form._told_version = "deleted"
            form.notify(_("Another admin deleted this {record} meanwhile.").format(record=shown(form.RECORD)),
                        severity="warning", timeout=15)
        return
    version = getattr(current, "version", None)
    if version in (base.version, getattr(form, "_told_version", None)):
        return
    form._told_version = version
    fields = ", ".join(form.label_for(f) for f in changed_fields(base, current)) or _("its state")
    form.notify(_("Another admin saved this {record} meanwhile ({fields}). Saving will ask whether to "
                  "overwrite their change or reload it.").format(record=shown(form.RECORD), fields=fields),
                severity="warning", timeout=15)
