"""Row locks for writers that check before they write (undo, and the bulk writes of services/mailboxes.py),
so the check and the writes see one state.

On PostgreSQL a transaction reads what others committed a statement at a time (READ COMMITTED): what
an undo checked ("nothing changed since") could change before it writes. Locking the rows first
(`SELECT … FOR UPDATE`, in key order, a chunk at a time, held to the end of the one transaction)
makes a concurrent save either land before the lock (and the check then sees it) or wait for the
undo and find its record gone or changed (a conflict, never "Saved" and then lost). SQLite needs
none of this: a write transaction takes the database's write lock up front (Store.transaction).
"""

from __future__ import annotations

from collections.abc import Iterable

from .history import ChangeEntry

CHUNK = 500  # ids locked per statement


def lock_rows(store, model, ids: Iterable[int]) -> None:
    """Lock these rows of `model` until the transaction ends (PostgreSQL; SQLite holds its write lock)."""
    if not store.is_postgres:
        return
    wanted = sorted(set(ids))
    for start in range(0, len(wanted), CHUNK):
        part = wanted[start:start + CHUNK]
        list(model.select(model.id).where(model.id.in_(part)).order_by(model.id).for_update().tuples())


def lock_entry(store, entry_id: int) -> None:
    """Lock a history entry: two undos of one entry take turns, and the second sees the first's undo."""
    lock_rows(store, ChangeEntry, [entry_id])
