"""Undo of an import as a whole: every record it created or changed, back as it was, in one
transaction, or nothing.

The import's entries (`batch` = the import's entry) are read a chunk at a time, never all at
once. First a check, writing nothing: a record that changed since (a later entry on it, not a
test result) or no longer exists refuses the whole undo, naming how many and the first few. A
record whose entry of the import was already undone on its own (or that went with one: a queue's
mailbox with its queue) is skipped, and the undo says so; what such an undo changed on other
records of the import is not a change since.
Then the reverse change, through the same rules as the per-record undo (store/undo.py):

1. the records it updated, newest entry first, through the services (as the import wrote them);
2. the forward mailboxes it created, then its queues, then its users with their mailboxes, then
   its profiles: deleted through the services, the forward mailboxes and the users in bulk, with
   the same rule (a user who owns a queue or a forward mailbox does not go) and the same entries.

The undo is itself recorded: one entry for the undo of the import (action "undo", `undoes` = the
import's entry), and one per record it changes, each with `batch` = that entry and `undoes` = the
import's entry. An undo of it is refused like any undo's.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field

from peewee import fn

from ..domain.options import MailboxKind
from ..i18n import say, say_n
from . import history, history_words, services
from .database import Store
from .exchange.batches import cyclic_gc_paused
from .history import CREATE, IMPORT, TEST, UNDO, ChangeEntry
from .models import Mailbox
from .locks import lock_entry, lock_rows
from .undo_records import UPDATES, UndoRefused, _refuse_if_not_undoable, _undo_update

CHUNK = 2000  # entries read at a time
SHOWN = 5  # records a refusal names
ORDER = ("user", "mailbox", "queue", "profile", "settings")


def plural(kind: str) -> str:
    return {"mailbox": "mailboxes", "settings": "settings"}.get(kind, kind + "s")


_COUNTED = {"user": lambda n: say_n("{n} user", "{n} users", n),
            "mailbox": lambda n: say_n("{n} mailbox", "{n} mailboxes", n),
            "queue": lambda n: say_n("{n} queue", "{n} queues", n),
            "profile": lambda n: say_n("{n} profile", "{n} profiles", n),
            "settings": lambda n: say_n("{n} settings", "{n} settings", n)}


def counted(n: int, kind: str) -> str:
    """ "1 user", "100,000 mailboxes" (English; said() shows it)."""
    if kind not in _COUNTED:
        return f"{n:,} {kind if n == 1 else plural(kind)}"
    return history_words.commas(_COUNTED[kind](n))


@dataclass
class ImportUndone:
    """What an undo of an import did."""

    entry_id: int  # the undo's own entry
    deleted: dict[str, int] = field(default_factory=dict)  # kind -> records the import created, now deleted
    restored: dict[str, int] = field(default_factory=dict)  # kind -> records put back as they were
    skipped: list[str] = field(default_factory=list)  # records whose entry was already undone on its own

    def summary(self) -> str:
        """What it did, in English (said() shows it): "2 users deleted, 3 mailboxes put back"."""
        parts = [say("{what} deleted", what=counted(n, kind)) for kind, n in self.deleted.items() if n]
        parts += [say("{what} put back", what=counted(n, kind)) for kind, n in self.restored.items() if n]
        text = history_words.listed(parts) if parts else say("nothing left to change")
        if self.skipped:
            names = ", ".join(self.skipped[:SHOWN]) + (", …" if len(self.skipped) > SHOWN else "")
            text = say_n("{what}; skipped {n} record already undone on its own: {names}",
                         "{what}; skipped {n} records already undone on their own: {names}", len(self.skipped),
                         what=text, names=names)
        return text


def import_changes(import_id: int) -> tuple[dict[str, int], dict[str, int]]:
    """The records an import created and the ones it only changed, by kind (what its undo would
    delete and put back, before the skips): two counting queries on the batch's index."""
    def by_kind(*where) -> dict[str, int]:
        rows = (ChangeEntry.select(ChangeEntry.kind, fn.COUNT(ChangeEntry.record_id.distinct()))
                .where(ChangeEntry.batch == import_id, ChangeEntry.record_id.is_null(False), *where)
                .group_by(ChangeEntry.kind).tuples())
        return dict(rows)

    every, created = by_kind(), by_kind(ChangeEntry.action == CREATE)
    return ({k: created[k] for k in ORDER if created.get(k)},
            {k: every[k] - created.get(k, 0) for k in ORDER if every.get(k, 0) - created.get(k, 0)})


def describe_import_undo(import_id: int) -> str:
    """For a confirmation: "200,000 records will change: 100,000 users deleted, 100,000 mailboxes deleted"."""
    created, updated = import_changes(import_id)
    total = sum(created.values()) + sum(updated.values())
    parts = [say("{what} deleted", what=counted(n, kind)) for kind, n in created.items()]
    parts += [say("{what} put back", what=counted(n, kind)) for kind, n in updated.items()]
    if not parts:
        return history_words.commas(say_n("{n} record will change", "{n} records will change", total))
    return history_words.commas(say_n("{n} record will change: {parts}", "{n} records will change: {parts}", total,
                                      parts=history_words.listed(parts)))


# ------------------------------------------------------------------------------------------ reading
_COLUMNS = (ChangeEntry.id, ChangeEntry.kind, ChangeEntry.record_id, ChangeEntry.action, ChangeEntry.parent,
            ChangeEntry.record_key)


def _entries(import_id: int, *where, newest_first: bool = False) -> Iterator[list[tuple]]:
    """The import's entries (id, kind, record_id, action, parent, record_key), CHUNK at a time, by id."""
    bound = None
    while True:
        query = ChangeEntry.select(*_COLUMNS).where(ChangeEntry.batch == import_id, *where)
        if bound is not None:
            query = query.where(ChangeEntry.id < bound if newest_first else ChangeEntry.id > bound)
        rows = list(query.order_by(ChangeEntry.id.desc() if newest_first else ChangeEntry.id).limit(CHUNK).tuples())
        if not rows:
            return
        yield rows
        bound = rows[-1][0]


def _undone_alone(import_id: int) -> dict[int, int]:
    """The import's entries already undone on their own: entry -> the undo's entry. One join, so only
    those are read (not every undo entry written since the import, which after the undo of another
    large import is hundreds of thousands)."""
    undo = ChangeEntry.alias()
    return dict(ChangeEntry.select(ChangeEntry.id, undo.id)
                .join(undo, on=(undo.undoes == ChangeEntry.id))
                .where(ChangeEntry.batch == import_id, undo.id > import_id)
                .order_by(undo.id).tuples())


def _later(import_id: int, kind: str, record_ids: list[int]) -> list[ChangeEntry]:
    """Entries on these records after the import that are not its own, nor test results."""
    return list(ChangeEntry.select(ChangeEntry.id, ChangeEntry.record_id, ChangeEntry.action, ChangeEntry.undoes,
                                   ChangeEntry.changes)
                .where(ChangeEntry.kind == kind, ChangeEntry.record_id.in_(record_ids), ChangeEntry.id > import_id,
                       ChangeEntry.batch.is_null() | (ChangeEntry.batch != import_id), ChangeEntry.action != TEST)
                .order_by(ChangeEntry.id))


def _existing(kind: str, record_ids: list[int]) -> set[int]:
    model = history.MODELS[kind]
    return {i for (i,) in model.select(model.id).where(model.id.in_(record_ids)).tuples()}


def _what_changed(kind: str, later: list[ChangeEntry]) -> str:
    """The fields later entries changed, by label ("deleted" for a delete: its values are the record's)."""
    names: list[str] = []
    for e in later:
        changes = json.loads(e.changes or "[]")
        labels = (["deleted"] if e.action == history.DELETE else
                  [history.label(kind, c[0]) for c in changes] or ["changed"])
        names += [n for n in labels if n not in names]
    return ", ".join(names)


@dataclass
class _Check:
    changed_records: set[tuple[str, int]] = field(default_factory=set)  # any refuses the undo
    named: list[str] = field(default_factory=list)
    skipped: set[tuple[str, int]] = field(default_factory=set)
    skipped_named: list[str] = field(default_factory=list)


def _check(store: Store, import_id: int) -> _Check:
    """Every record of the import, a chunk at a time: changed since, gone, or already undone alone.
    Each chunk's records are locked before they are judged (PostgreSQL), and stay locked until the
    undo commits: a save that comes later waits, then finds its record gone or changed."""
    undone = _undone_alone(import_id)
    check = _Check()
    for chunk in _entries(import_id, ChangeEntry.record_id.is_null(False)):
        records: dict[tuple[str, int], list[tuple]] = {}
        for row in chunk:
            if row[3] not in (CREATE, *UPDATES):
                raise UndoRefused(say("Entry #{id} of import #{batch} ({action}, {kind}: {name}) cannot be undone: "
                                      "nothing was changed.", id=row[0], batch=import_id, action=row[3],
                                      kind=row[1], name=repr(row[5])))
            records.setdefault((row[1], row[2]), []).append(row)
        for kind in ORDER:
            ids = sorted(rid for k, rid in records if k == kind)
            for start in range(0, len(ids), 500):
                part = ids[start:start + 500]
                lock_rows(store, history.MODELS[kind], part)
                later: dict[int, list[ChangeEntry]] = {}
                for e in _later(import_id, kind, part):
                    later.setdefault(e.record_id, []).append(e)
                alive = _existing(kind, part)
                for rid in part:
                    rows, since = records[(kind, rid)], later.get(rid, [])
                    key = f"{kind} {rows[-1][5]!r}"
                    # What an undo of one of the import's own entries wrote is part of undoing it.
                    by_undo = [e for e in since if e.undoes in undone]
                    since = [e for e in since if e.undoes not in undone]
                    if any(r[0] in undone for r in rows) or (by_undo and not since and rid not in alive):
                        if (kind, rid) not in check.skipped:  # undone alone, or went with a record undone alone
                            check.skipped.add((kind, rid))
                            check.skipped_named.append(key)
                    elif (since or rid not in alive) and (kind, rid) not in check.changed_records:
                        check.changed_records.add((kind, rid))
                        if len(check.named) < SHOWN:
                            check.named.append(f"{key} ({_what_changed(kind, since) if since else 'no longer exists'})")
    return check


# ------------------------------------------------------------------------------------------ writing
def undo_whole_import(store: Store, entry_id: int) -> ImportUndone:
    """Undo import entry `entry_id` as a whole (what `undo()` does for an import, with what it did)."""
    with store.transaction():
        lock_entry(store, entry_id)  # a second undo of it waits here, then is refused below
        row = ChangeEntry.get_or_none(ChangeEntry.id == entry_id)
        if row is None:
            raise UndoRefused(say("There is no history entry #{id}.", id=entry_id))
        _refuse_if_not_undoable(row)
        return undo_import(store, row)


def undo_import(store: Store, row: ChangeEntry) -> ImportUndone:
    """Undo import entry `row` as a whole, in one transaction (the caller's, or its own)."""
    if row.action != IMPORT:
        raise UndoRefused(say("Entry #{id} is not an import.", id=row.id))
    with cyclic_gc_paused(), store.transaction():
        check = _check(store, row.id)
        changed = len(check.changed_records)
        if changed:
            more = ", …" if changed > len(check.named) else ""
            raise UndoRefused(say_n("Import #{id}: {n} record changed since: {names}. Nothing was undone; "
                                    "change it back by hand, or undo its own entry first.",
                                    "Import #{id}: {n} records changed since: {names}. Nothing was undone; "
                                    "change them back by hand, or undo their own entries first.", changed, id=row.id,
                                    names=", ".join(check.named) + more))
        created, updated = import_changes(row.id)
        for kind, rid in check.skipped:
            counts = created if _was_created(row.id, kind, rid) else updated
            counts[kind] -= 1
        with history.operation(action=UNDO, undoes=row.id):
            event = history.record_event(store, "import", UNDO, row.record_key)
            with history.operation(batch=event or None):
                _put_back(store, row.id, check.skipped)
                _delete_created(store, row.id, check.skipped)
        done = ImportUndone(event, deleted={k: n for k, n in created.items() if n},
                            restored={k: n for k, n in updated.items() if n}, skipped=check.skipped_named)
        history.amend_event(event, [[f"deleted {plural(k)}", None, n] for k, n in done.deleted.items()]
                            + [[f"put back {plural(k)}", None, n] for k, n in done.restored.items()]
                            + ([["skipped (undone before)", None, len(done.skipped)]] if done.skipped else []))
        return done


def _put_back(store: Store, import_id: int, skipped: set[tuple[str, int]]) -> None:
    """The records the import updated, newest entry first, through the services. An entry that came
    with another (a user's mailbox with its user, same batch) is put back by that one's service."""
    for chunk in _entries(import_id, ChangeEntry.action.in_(UPDATES), newest_first=True):
        for entry_id, kind, rid, _, parent, _ in chunk:
            if (kind, rid) not in skipped and parent is None:
                _undo_update(store, ChangeEntry.get_by_id(entry_id))


def _created(import_id: int, kind: str, skipped: set[tuple[str, int]]) -> Iterator[list[int]]:
    """The ids of the records of `kind` the import created (not those that came with another)."""
    for chunk in _entries(import_id, ChangeEntry.kind == kind, ChangeEntry.action == CREATE):
        yield [rid for _, k, rid, _, parent, _ in chunk if parent is None and (k, rid) not in skipped]


def _was_created(import_id: int, kind: str, record_id: int) -> bool:
    return ChangeEntry.select().where(ChangeEntry.batch == import_id, ChangeEntry.kind == kind,
                                      ChangeEntry.record_id == record_id, ChangeEntry.action == CREATE).exists()


def _delete_created(store: Store, import_id: int, skipped: set[tuple[str, int]]) -> None:
    for ids in _created(import_id, "mailbox", skipped):
        # A user's mailbox created with its user goes with the user (below); forward mailboxes go here.
        forwards = [i for (i,) in Mailbox.select(Mailbox.id).where(
            Mailbox.id.in_(ids), Mailbox.kind == MailboxKind.FORWARD).tuples()] if ids else []
        if forwards:
            services.delete_forward_mailboxes(store, forwards)
    for ids in _created(import_id, "queue", skipped):
        for queue_id in ids:
            services.delete_queue(store, queue_id)
    for ids in _created(import_id, "user", skipped):
        if ids:
            services.delete_users(store, ids)
    for ids in _created(import_id, "profile", skipped):
        for profile_id in ids:
            services.delete_profile(store, profile_id)
