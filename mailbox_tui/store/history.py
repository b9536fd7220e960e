"""Change history: who changed what, when, from what to what, in the same transaction as the change.

Every write path (store/services, the import, rotate-key, Test & Enable) reads the rows it is
about to change (`capture`), writes, reads them again and hands both to `record`, which stores one
entry per record that changed. A field's value is stored as it is in its column; a secret field
(declared `secret` in domain/fields.py) is shown only as "set", "changed" or "cleared". What undo
needs of a secret (the token it held before) is kept apart, in `change_secret`, encrypted under
the current key and rotated by rotate-key with the rest.
"""

from __future__ import annotations

import getpass
import json
import os
import socket
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import date, datetime

from peewee import BooleanField, CharField, DatabaseProxy, DateTimeField, IntegerField, PostgresqlDatabase, TextField

from ..domain import fields as F
from . import change_channel, history_search
from .models import (
    AppUser,
    BaseModel,
    EmailServerProfile,
    Mailbox,
    OrganizationSettings,
    Queue,
    bulk_insert,
    reserve_ids,
    utcnow,
)

# Actions an entry records.
CREATE, UPDATE, DELETE = "create", "update", "delete"
APPROVE, REJECT, ACTIVATE, DEACTIVATE = "approve", "reject", "activate", "deactivate"
APPLY_DEFAULTS, IMPORT, ROTATE_KEY, TEST, UNDO = "apply defaults", "import", "rotate key", "test", "undo"
ACTIONS = (CREATE, UPDATE, DELETE, APPROVE, REJECT, ACTIVATE, DEACTIVATE, APPLY_DEFAULTS, IMPORT, ROTATE_KEY,
           TEST, UNDO)

SET, CHANGED, CLEARED = "set", "changed", "cleared"  # all a secret field's entry ever says


class ChangeEntry(BaseModel):
    """One change of one record (or one import, one key rotation)."""

    at = DateTimeField(default=utcnow)  # UTC
    admin = CharField(max_length=200, default="")  # the acting admin's email ("" when none was chosen)
    os_user = CharField(max_length=100, default="")
    host = CharField(max_length=200, default="")
    kind = CharField(max_length=16)  # mailbox, user, queue, profile, settings, import, key
    record_key = CharField(max_length=200, default="")  # the natural key: a user's email, a name
    record_id = IntegerField(null=True)
    action = CharField(max_length=24)
    changes = TextField(default="[]")  # JSON: [[field, old, new], …]; secrets only set/changed/cleared
    credentials = BooleanField(default=False)  # a credential field changed (the "credential changes" view)
    batch = IntegerField(null=True)  # the entry of the operation it belongs to (an import)
    parent = IntegerField(null=True)  # the entry of the record it changed with (a user's mailbox, with the user)
    undoes = IntegerField(null=True)  # the entry an undo reversed

    class Meta:
        table_name = "change_entry"
        indexes = (
            (("kind", "record_id", "id"), False),  # one record's history
            (("admin", "id"), False),  # the view "mine", --admin
        )
        # "today" and --since find their first entry by `at`, which grows with the id (first_since).


# Indexes on what few entries have (partial: an import's 200,000 entries do not pay for them).
for _column in (ChangeEntry.parent, ChangeEntry.undoes):
    ChangeEntry.add_index(ChangeEntry.index(_column).where(_column.is_null(False)))
ChangeEntry.add_index(ChangeEntry.index(ChangeEntry.id, name="change_entry_credentials")
                      .where(ChangeEntry.credentials))  # the view "credential changes"
ChangeEntry.add_index(ChangeEntry.index(ChangeEntry.id, name="change_entry_deletes")
                      .where(ChangeEntry.action == DELETE))  # the view "deletes"
ChangeEntry.add_index(ChangeEntry.index(ChangeEntry.batch, ChangeEntry.id, name="change_entry_batch")
                      .where(ChangeEntry.batch.is_null(False)))  # an import's entries, for its undo (store/undo_import.py)


class ChangeSecret(BaseModel):
    """The encrypted value a secret field held before (and after) an entry's change: only undo reads it."""

    entry = IntegerField(index=True)
    name = CharField(max_length=64)  # the field (rotate-key names it when a token can't be read)
    old_enc = TextField(null=True)
    new_enc = TextField(null=True)

    class Meta:
        table_name = "change_secret"


HISTORY_MODELS = (ChangeEntry, ChangeSecret)


def create_history_tables(db) -> None:
    """The schema migration that adds the history (no entries before it)."""
    db.create_tables(HISTORY_MODELS, safe=True)


# -------------------------------------------------------------------------- what a record holds
MODELS = {"mailbox": Mailbox, "user": AppUser, "queue": Queue, "profile": EmailServerProfile,
          "settings": OrganizationSettings}
_FIELDS = {"mailbox": F.MAILBOX_FIELDS, "user": F.USER_FIELDS, "queue": F.QUEUE_FIELDS,
           "profile": F.PROFILE_FIELDS, "settings": F.ORG_FIELDS}


def stored_fields(kind: str) -> tuple[F.Field, ...]:
    """The fields a record keeps in its own table that the history follows (not the watch's bookkeeping)."""
    return tuple(f for f in _FIELDS[kind] if f.stored == F.OWN and f.audited)


def secret_names(kind: str) -> frozenset[str]:
    return frozenset(f.name for f in _FIELDS[kind] if f.secret)


def credential_names(kind: str) -> frozenset[str]:
    """Secrets and the fields of a credentials or authentication section: the "credential changes" view."""
    return frozenset(f.name for f in _FIELDS[kind] if f.secret or f.section in ("credentials", "authentication"))


def label(kind: str, name: str) -> str:
    field = F.by_name(_FIELDS.get(kind, ())).get(name)
    return field.label if field else name


def _plain(value):
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool) or value is None or isinstance(value, (int, str)):
        return value
    return int(value) if hasattr(value, "__int__") else str(value)


def snapshot(kind: str, data: dict) -> dict:
    """A record's declared values from its columns (a row's __data__, or the columns about to be
    inserted), by declared field name. A secret's value is its token: never shown, see `diff`."""
    out = {}
    for f in stored_fields(kind):
        column = f.model_column
        if kind == "mailbox" and f.name == "regarding_id":
            out[f.name] = data.get("regarding_user") or data.get("regarding_queue")
        elif column in data:
            out[f.name] = data[column] if f.secret else _plain(data[column])
    return out


def natural_key(kind: str, data: dict) -> str:
    if kind == "user":
        return str(data.get("email") or "")
    if kind == "settings":
        return "Email Settings"
    return str(data.get("name") or "")


def capture(kind: str, ids: Iterable[int]) -> dict[int, dict]:
    """The rows with these ids as they are now: id -> row data (columns by model field name)."""
    model = MODELS[kind]
    ids = [i for i in ids if i is not None]
    out = {}
    for start in range(0, len(ids), 500):
        for row in model.select().where(model.id.in_(ids[start:start + 500])):
            out[row.id] = dict(row.__data__)
    return out


def _defaults(kind: str) -> dict:
    """What a created record holds unless set: a create or delete lists only the other values."""
    return {f.name: _plain(f.default) for f in stored_fields(kind) if f.default is not None}


def _secret_change(old, new) -> str | None:
    if old == new:
        return None
    if old is None:
        return SET
    return CLEARED if new is None else CHANGED


def diff(kind: str, before: dict | None, after: dict | None) -> tuple[list[list], dict[str, tuple]]:
    """[[field, old, new], …] between two snapshots (either may be None: created, deleted), and the
    tokens of the secrets that changed {field: (old, new)}. A create and a delete list every value that is
    not empty or the declared default (a secret as "set"): what the record was made with, and what undo
    brings back. (An import's bulk creates list only their secrets: its file holds the rest.)"""
    secrets = secret_names(kind)
    defaults = _defaults(kind)
    changes, tokens = [], {}
    names = (after or before or {}).keys()
    for name in names:
        old = before.get(name) if before is not None else None
        new = after.get(name) if after is not None else None
        if name in secrets:
            said = _secret_change(old, new)
            if said:
                changes.append([name, None, said])
                tokens[name] = (old, new)
            continue
        if before is not None and after is not None:
            if old != new:
                changes.append([name, old, new])
        elif after is None and old not in (None, "", defaults.get(name, None)):
            changes.append([name, old, new])  # a delete keeps what undo brings back
        elif before is None and new not in (None, "", defaults.get(name, None)):
            changes.append([name, old, new])  # a create says what it set
    return changes, tokens


# -------------------------------------------------------------------------- who, and the operation
_who_cache: dict[str, str] = {}


def _os_user() -> str:
    if "os_user" not in _who_cache:
        try:
            _who_cache["os_user"] = getpass.getuser()
        except (KeyError, OSError):
            _who_cache["os_user"] = f"uid {os.getuid()}"
    return _who_cache["os_user"]


def _host() -> str:
    if "host" not in _who_cache:
        try:
            _who_cache["host"] = socket.gethostname()
        except OSError:
            _who_cache["host"] = ""
    return _who_cache["host"]


_local = threading.local()  # the operation an entry belongs to, per thread (the app writes from workers)


def _operation() -> dict:
    return getattr(_local, "operation", None) or {}


@contextmanager
def operation(**values) -> Iterator[dict]:
    """Entries written inside it carry these values: `action` (an undo), `undoes`, `batch` (an
    import), or `enabled=False` (the benchmark's run without history)."""
    outer = getattr(_local, "operation", None)
    _local.operation = {**values, **(outer or {})}  # the outermost wins: an undo stays an undo
    try:
        yield _local.operation
    finally:
        _local.operation = outer


def enabled(store) -> bool:
    """Whether to record: not in the benchmark's run without history, nor in a database whose schema
    predates the history (only tests write to one: opening a database migrates it)."""
    if not _operation().get("enabled", True):
        return False
    ready = store.__dict__.get("_history_ready")
    if ready is None:
        ready = store.__dict__["_history_ready"] = store.db.table_exists(ChangeEntry._meta.table_name)
    return ready


def _entry(store, kind: str, action: str, record_id, key: str, changes: list, credentials: bool, at,
           parent: int | None = None) -> dict:
    op = _operation()
    return {"at": at, "admin": (getattr(store, "actor", "") or "")[:200], "os_user": _os_user()[:100],
            "host": _host()[:200], "kind": kind, "record_key": key[:200], "record_id": record_id,
            "action": op.get("action", action), "changes": json.dumps(changes, ensure_ascii=False),
            "credentials": credentials, "batch": op.get("batch"), "undoes": op.get("undoes"), "parent": parent}


def record(store, kind: str, action: str, before: dict[int, dict], after: dict[int, dict],
           only_if: frozenset[str] | None = None, parent: int | dict[int, int] | None = None) -> list[int]:
    """One entry per record that differs between `before` and `after` (captures by id). Called in the
    write's own transaction. `only_if`: record only when one of these fields changed (Test & Enable).
    `parent`: one entry for all, or each record's own (record id -> entry: a bulk delete of users and
    their mailboxes). Returns the new entries' ids, in the order of the record ids."""
    if not enabled(store):
        return []
    at = utcnow()
    creds = credential_names(kind)
    rows, secrets = [], []
    for record_id in sorted(set(before) | set(after)):
        old, new = before.get(record_id), after.get(record_id)
        changes, tokens = diff(kind, snapshot(kind, old) if old is not None else None,
                               snapshot(kind, new) if new is not None else None)
        if not changes and old is not None and new is not None:
            continue
        if only_if is not None and not any(c[0] in only_if for c in changes):
            continue
        entry_action = CREATE if old is None else DELETE if new is None else action
        rows.append(_entry(store, kind, entry_action, record_id, natural_key(kind, new or old), changes,
                           _about_credentials(kind, entry_action, changes, creds), at,
                           parent.get(record_id) if isinstance(parent, dict) else parent))
        # Undo of a create deletes: it needs no secret.
        secrets.append([] if entry_action == CREATE else [(name, o, n) for name, (o, n) in tokens.items()])
    return _insert(rows, secrets)


class Tracked:
    """Records captured before a write; `done()` records what changed (see `tracked`)."""

    def __init__(self, store, kind: str, ids: Iterable[int], action: str, only_if=None):
        self.store, self.kind, self.action, self.only_if = store, kind, action, only_if
        self.ids = [i for i in ids if i is not None]
        self.before = capture(kind, self.ids) if enabled(store) else {}
        self.entries: list[int] = []

    def add(self, *ids: int) -> None:
        """Records the write creates: recorded as created."""
        self.ids += [i for i in ids if i is not None]

    def done(self, parent: int | None = None) -> list[int]:
        if enabled(self.store):
            self.entries = record(self.store, self.kind, self.action, self.before, capture(self.kind, self.ids),
                                  self.only_if, parent)
        return self.entries


@contextmanager
def tracked(store, kind: str, ids: Iterable[int], action: str, only_if=None) -> Iterator[Tracked]:
    """Capture these records, run the write, record one entry per record it changed. Nothing is
    recorded when the write raises (its transaction rolls back anyway)."""
    t = Tracked(store, kind, ids, action, only_if)
    yield t
    t.done()


def _about_credentials(kind: str, action: str, changes: list, creds: frozenset[str]) -> bool:
    """A change of a credential field; a record created or deleted only when it holds a secret."""
    names = secret_names(kind) if action in (CREATE, DELETE) else creds
    return any(c[0] in names for c in changes)


def _created_json(secrets_set: list[str]) -> str:
    return json.dumps([[name, None, SET] for name in secrets_set]) if secrets_set else "[]"


def record_created(store, kind: str, columns: list[dict]) -> None:
    """Entries for records bulk-inserted with known ids (an import's new users and mailboxes),
    written in bulk, without reading the rows back."""
    if not enabled(store) or not columns:
        return
    template = _entry(store, kind, CREATE, None, "", [], False, ChangeEntry.at.db_value(utcnow()))
    key = "email" if kind == "user" else "name"
    names = [n for n in template if n not in ("record_id", "record_key", "changes", "credentials")]
    fixed = tuple(template[n] for n in names)
    secrets = [(f.name, f.model_column) for f in stored_fields(kind) if f.secret]
    ids = [cols["id"] for cols in columns]
    if not store.is_postgres and len(secrets) <= 1 and ids == list(range(ids[0], ids[0] + len(ids))):
        _created_in_sql(kind, key, secrets, names, fixed, ids[0], ids[-1])
        return
    values = []
    for cols, entry_id in zip(columns, reserve_ids(ChangeEntry, len(columns)), strict=True):
        held = [name for name, column in secrets if cols.get(column) is not None]
        values.append((entry_id, cols["id"], str(cols.get(key) or "")[:200], _created_json(held), bool(held),
                       *fixed))
    # One prepared statement, rows as tuples: at 100,000 records a dict per row costs more than SQLite.
    db = ChangeEntry._meta.database
    columns_sql = ", ".join(f'"{n}"' for n in ["id", "record_id", "record_key", "changes", "credentials", *names])
    marks = ", ".join([db.param] * (5 + len(names)))
    db.cursor().executemany(f'INSERT INTO "{ChangeEntry._meta.table_name}" ({columns_sql}) VALUES ({marks})', values)
    _index(values[0][0], values[-1][0])


def _created_in_sql(kind: str, key: str, secrets: list, names: list[str], fixed: tuple, first: int, last: int):
    """SQLite, records just inserted with the ids first..last (the import holds the write lock, so
    they are exactly its own): the entries from the rows themselves, by one INSERT … SELECT."""
    db = ChangeEntry._meta.database
    before = db.execute_sql(f'SELECT COALESCE(MAX(id), 0) FROM "{ChangeEntry._meta.table_name}"').fetchone()[0]
    if secrets:
        name, column = secrets[0]
        changes = f'CASE WHEN "{column}" IS NULL THEN ? ELSE ? END'
        credentials = f'"{column}" IS NOT NULL'
        params = ["[]", _created_json([name])]
    else:
        changes, credentials, params = "?", "0", ["[]"]
    target = ", ".join(f'"{n}"' for n in ["record_id", "record_key", "changes", "credentials", *names])
    marks = ", ".join(["?"] * len(names))
    db.execute_sql(f'INSERT INTO "{ChangeEntry._meta.table_name}" ({target}) SELECT id, SUBSTR("{key}", 1, 200), '
                   f'{changes}, {credentials}, {marks} FROM "{MODELS[kind]._meta.table_name}" '
                   f'WHERE id BETWEEN ? AND ? ORDER BY id', (*params, *fixed, first, last))
    _index(before + 1)


def record_event(store, kind: str, action: str, key: str = "", changes: list | None = None) -> int:
    """One entry for an operation itself (an import, a key rotation). Returns its id."""
    if not enabled(store):
        return 0
    entry_id = ChangeEntry.insert(**_entry(store, kind, action, None, key, changes or [], False, utcnow())).execute()
    _index(entry_id, entry_id)
    return entry_id


def amend_event(entry_id: int, changes: list) -> None:
    if entry_id:
        ChangeEntry.update(changes=json.dumps(changes, ensure_ascii=False)).where(ChangeEntry.id == entry_id).execute()


def _insert(rows: list[dict], secrets: list[list[tuple]] | None) -> list[int]:
    if not rows:
        return []
    if len(rows) == 1:
        ids = [ChangeEntry.insert(**rows[0]).execute()]
    else:
        ids = reserve_ids(ChangeEntry, len(rows))
        for row, entry_id in zip(rows, ids, strict=True):
            row["id"] = entry_id
        for start in range(0, len(rows), 5000):
            bulk_insert(ChangeEntry, rows[start:start + 5000])
    _index(min(ids), max(ids))  # SQLite's ids are consecutive (reserve_ids, or the one just inserted)
    kept = [{"entry": entry_id, "name": name, "old_enc": old, "new_enc": new}
            for entry_id, tokens in zip(ids, secrets or [], strict=secrets is not None)
            for name, old, new in tokens]
    for start in range(0, len(kept), 5000):
        bulk_insert(ChangeSecret, kept[start:start + 5000])
    return ids


def _index(first: int, last: int | None = None) -> None:
    """Entries just written (ids first..last; None: to the end) join the History filter's index, in
    the same transaction, in one statement (history_search.py). Every entry is written here, by
    `_insert`, `record_created` or `record_event`. On PostgreSQL, the listeners hear of it once the
    transaction commits (store/changes.py): every write of a record records history, so every write
    is heard."""
    db = ChangeEntry._meta.database
    history_search.index_entries(db, first, last)
    if isinstance(db.obj if isinstance(db, DatabaseProxy) else db, PostgresqlDatabase):
        change_channel.notify(db)
