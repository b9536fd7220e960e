"""Undo a history entry. Undo is itself recorded: its entries have the action "undo" and name the entry
they reverse (`undoes`). A record's entry is undone by store/undo_records.py (an update puts back, a create
deletes, a delete recreates); an import's, as a whole, by store/undo_import.py.
"""

from __future__ import annotations

from ..i18n import say
from . import history
from .database import Store
from .history import CREATE, DELETE, IMPORT, UNDO, ChangeEntry
from .locks import lock_entry
from .undo_import import undo_import
from .undo_records import (
    UndoRefused,
    _refuse_if_not_undoable,
    _undo_create,
    _undo_delete,
    _undo_update,
    describe,
    describe_entry,
)


def undo(store: Store, entry_id: int) -> list[int]:
    """Undo one entry in one transaction. Returns the ids of the entries the undo wrote; for an import,
    undone as a whole (store/undo_import.py), the id of the undo's own entry (its record entries
    carry it as their `batch`)."""
    with store.transaction():
        lock_entry(store, entry_id)  # a second undo of it waits here, then is refused below
        row = ChangeEntry.get_or_none(ChangeEntry.id == entry_id)
        if row is None:
            raise UndoRefused(say("There is no history entry #{id}.", id=entry_id))
        _refuse_if_not_undoable(row)
        if row.action == IMPORT:
            return [undo_import(store, row).entry_id]
        first = (ChangeEntry.select(ChangeEntry.id).order_by(ChangeEntry.id.desc()).limit(1).scalar() or 0)
        with history.operation(action=UNDO, undoes=row.id):
            if row.action == CREATE:
                _undo_create(store, row)
            elif row.action == DELETE:
                _undo_delete(store, row)
            else:
                _undo_update(store, row)
        return [e.id for e in ChangeEntry.select(ChangeEntry.id).where(ChangeEntry.id > first)
                .order_by(ChangeEntry.id)]


def undo_many(store: Store, entry_ids: list[int]) -> list[int]:
    """Undo several entries (a bulk approve's), newest first, all or nothing."""
    written = []
    with store.transaction():
        for entry_id in sorted(entry_ids, reverse=True):
            written += undo(store, entry_id)
    return written


__all__ = ["UndoRefused", "describe", "describe_entry", "undo", "undo_many"]
