"""Undoing one record's entry (store/undo.py runs an entry's undo; store/undo_import.py an import's): the
reverse change, through the services, so every rule and the optimistic locking apply.

- An update (a form save, approve/reject, activate/deactivate, Apply Default Email Settings) puts
  back the old value of each field it changed. If any of those fields changed since, undo names
  them and refuses.
- A create deletes the record again, unless it changed since.
- A delete recreates the record from what its entry kept: a user or queue with its mailbox, a
  profile re-pointed from the mailboxes it was cleared from, a stored password decrypted from the
  history's copy (kept under the current key, rotated by rotate-key) and encrypted again.
"""

from __future__ import annotations

import json

from ..domain import fields as F
from ..domain.options import MailboxKind
from ..domain.records import MailboxDraft, OrgSettings, PasswordEdit, ProfileDraft, QueueDraft, UserDraft
from ..i18n import N_, said, say
from . import history, history_words, services
from .crypto import SecretUnreadable
from .database import Store, StoreError
from .history import CREATE, DELETE, IMPORT, ROTATE_KEY, TEST, UNDO, ChangeEntry, ChangeSecret
from .history_read import describe, entry as read_entry
from .locks import lock_rows
from .models import Mailbox

UPDATES = (history.UPDATE, history.APPROVE, history.REJECT, history.ACTIVATE, history.DEACTIVATE,
           history.APPLY_DEFAULTS)


class UndoRefused(StoreError):
    """Undo cannot apply this entry (changed since, already undone, not undoable)."""


def _changes(row: ChangeEntry) -> list[tuple[str, object, object]]:
    return [tuple((list(c) + [None, None, None])[:3]) for c in json.loads(row.changes or "[]")]


def _secrets(entry_id: int) -> dict[str, ChangeSecret]:
    return {s.name: s for s in ChangeSecret.select().where(ChangeSecret.entry == entry_id)}


def _clear(store: Store, token: str | None) -> str | None:
    if token is None:
        return None
    try:
        return store.keyring.decrypt(token)
    except SecretUnreadable:
        raise UndoRefused(say("The password this entry kept can't be read with the current key: nothing was "
                              "changed.")) from None


def _refuse_if_not_undoable(row: ChangeEntry) -> None:
    done = ChangeEntry.select(ChangeEntry.id).where(ChangeEntry.undoes == row.id).first()
    if done is not None:
        raise UndoRefused(say("Entry #{id} was already undone (entry #{undo}).", id=row.id, undo=done.id))
    if row.action == UNDO:
        raise UndoRefused(say("Entry #{id} is itself an undo: change the record again instead.", id=row.id))
    if row.batch is not None:
        whole = ChangeEntry.select(ChangeEntry.id).where(ChangeEntry.undoes == row.batch).first()
        if whole is not None:
            raise UndoRefused(say("Entry #{id} came with import #{batch}, which was undone as a whole "
                                  "(entry #{undo}).", id=row.id, batch=row.batch, undo=whole.id))
    if row.action == ROTATE_KEY:
        raise UndoRefused(say("A key rotation is not undone: the old key is gone."))
    if row.action == TEST:
        raise UndoRefused(say("Test results are not undone: run Test & Enable again."))
    if row.parent is not None and row.action in (CREATE, DELETE):
        raise UndoRefused(say("Entry #{id} came with entry #{parent}: undo that one.", id=row.id, parent=row.parent))
    if row.kind not in history.MODELS and row.action != IMPORT:
        raise UndoRefused(_cannot(row))


def _later_fields(row: ChangeEntry) -> list[str]:
    """The fields that later entries changed on the same record."""
    later = (ChangeEntry.select().where(ChangeEntry.kind == row.kind, ChangeEntry.record_id == row.record_id,
                                        ChangeEntry.id > row.id, ChangeEntry.action != TEST))
    names = []
    for e in later:
        for name, _, _ in _changes(e):
            if name not in names:
                names.append(name)
        if not _changes(e) and "(the record)" not in names:
            names.append("(the record)")
    return names


def _cannot(row: ChangeEntry):
    return say("Entry #{id} cannot be undone.", id=row.id)


# Each sentence whole, for each kind of record (English, say(): said() shows it, also read back from its text).
_GONE = {"mailbox": N_("Mailbox {name} no longer exists."), "user": N_("User {name} no longer exists."),
         "queue": N_("Queue {name} no longer exists."), "profile": N_("Profile {name} no longer exists."),
         "settings": N_("Settings {name} no longer exists.")}
_CHANGED = {
    "mailbox": N_("Mailbox {name} changed since entry #{id} ({labels}): nothing was undone. Open it and change it "
                  "by hand."),
    "user": N_("User {name} changed since entry #{id} ({labels}): nothing was undone. Open it and change it by "
               "hand."),
    "queue": N_("Queue {name} changed since entry #{id} ({labels}): nothing was undone. Open it and change it by "
                "hand."),
    "profile": N_("Profile {name} changed since entry #{id} ({labels}): nothing was undone. Open it and change it "
                  "by hand."),
    "settings": N_("Settings {name} changed since entry #{id} ({labels}): nothing was undone. Open it and change "
                   "it by hand."),
}


def _gone(row: ChangeEntry):
    template = _GONE.get(row.kind)
    return (say(template, name=repr(row.record_key)) if template else
            f"{row.kind.capitalize()} {row.record_key!r} no longer exists.")


def _refuse_changed_since(row: ChangeEntry, names: list[str]) -> None:
    labels = history_words.listed([say(history.label(row.kind, n)) for n in names])
    template = _CHANGED.get(row.kind)
    if template is None:
        raise UndoRefused(f"{row.kind.capitalize()} {row.record_key!r} changed since entry #{row.id} ({labels}): "
                          "nothing was undone. Open it and change it by hand.")
    raise UndoRefused(say(template, name=repr(row.record_key), id=row.id, labels=labels))


# ---------------------------------------------------------------------------------------- create
def _undo_create(store: Store, row: ChangeEntry) -> None:
    if not history.capture(row.kind, [row.record_id]):
        raise UndoRefused(_gone(row))
    later = _later_fields(row)
    if later:
        _refuse_changed_since(row, later)
    if row.kind == "user":
        services.delete_user(store, row.record_id)
    elif row.kind == "queue":
        services.delete_queue(store, row.record_id)
    elif row.kind == "profile":
        services.delete_profile(store, row.record_id)
    elif row.kind == "mailbox":
        services.delete_mailbox(store, row.record_id)
    else:
        raise UndoRefused(_cannot(row))


# ---------------------------------------------------------------------------------------- update
def _current(kind: str, record_id: int) -> dict | None:
    rows = history.capture(kind, [record_id])
    return history.snapshot(kind, rows[record_id]) if rows else None


def _undo_update(store: Store, row: ChangeEntry) -> None:
    if row.action not in UPDATES:
        raise UndoRefused(_cannot(row))
    lock_rows(store, history.MODELS[row.kind], [row.record_id])  # a save now waits for the undo
    now = _current(row.kind, row.record_id)
    if now is None:
        raise UndoRefused(_gone(row))
    secrets, kept = history.secret_names(row.kind), _secrets(row.id)
    by_test = {f.name for f in history.stored_fields(row.kind) if f.by_test}
    changed, back = [], {}
    for name, old, new in _changes(row):
        if name in by_test:
            continue  # test results are not put back: they follow the configuration (M17)
        if name in secrets:
            token = kept.get(name)
            if token is None:
                raise UndoRefused(say("Entry #{id} kept no copy of the old {label}.", id=row.id,
                                      label=history.label(row.kind, name)))
            if _clear(store, now.get(name)) != _clear(store, token.new_enc):
                changed.append(name)
            back[name] = _password(_clear(store, token.old_enc))
        else:
            if now.get(name) != new:
                changed.append(name)
            back[name] = old
    if changed:
        _refuse_changed_since(row, changed)
    if back:
        _apply(store, row.kind, row.record_id, back)
    if row.kind == "profile":
        _put_back_mailbox_passwords(store, row)


def _put_back_mailbox_passwords(store: Store, row: ChangeEntry) -> None:
    """P15: the passwords a profile's change of servers cleared from its mailboxes come back with the
    servers they were entered for, on each mailbox where no password was entered since."""
    cleared = (ChangeSecret.select(ChangeSecret.old_enc, ChangeEntry.record_id)
               .join(ChangeEntry, on=(ChangeSecret.entry == ChangeEntry.id))
               .where(ChangeEntry.parent == row.id, ChangeEntry.kind == "mailbox", ChangeSecret.name == "password",
                      ChangeSecret.old_enc.is_null(False), ChangeSecret.new_enc.is_null())
               .order_by(ChangeEntry.record_id).objects())
    for secret in cleared:
        base = services.get_mailbox(store, secret.record_id)
        if not base.password.stored:
            services.update_mailbox(store, base, base.copy(password=_password(_clear(store, secret.old_enc))),
                                    keep_secrets=True)


def _password(clear: str | None) -> PasswordEdit:
    return PasswordEdit(new=clear) if clear else PasswordEdit(clear=True, stored=True)


def _value(kind: str, name: str, value):
    """A value as an entry stored it, as a draft holds it."""
    field = F.by_name(history.stored_fields(kind)).get(name)
    if field is not None and field.type == F.DATETIME and isinstance(value, str):
        return F.parse_utc(value)
    return value


def _apply(store: Store, kind: str, record_id: int, values: dict) -> None:
    """Save `values` over the record as it is now, through its service."""
    values = {name: _value(kind, name, v) for name, v in values.items()}
    # Undo puts back what was: a secret goes back with the servers it was entered for (P15 keeps it).
    if kind == "mailbox":
        base = services.get_mailbox(store, record_id)
        services.update_mailbox(store, base, base.copy(**values), keep_secrets=True)
    elif kind == "profile":
        base = services.get_profile(store, record_id)
        services.update_profile(store, base, base.copy(**values), keep_secrets=True)
    elif kind == "user":
        base = services.get_user(store, record_id)
        services.update_user(store, base, UserDraft(**{**base.__dict__, **values}))
    elif kind == "queue":
        base = services.get_queue(store, record_id)
        services.update_queue(store, base, QueueDraft(**{**base.__dict__, **values}))
    elif kind == "settings":
        base = services.org_settings(store)
        services.update_org_settings(store, base, OrgSettings(**{**base.__dict__, **values}))


# ---------------------------------------------------------------------------------------- delete
def _kept_values(store: Store, row: ChangeEntry) -> dict:
    """What a deleted record held: the declared defaults, with the values its entry kept."""
    values = {f.name: f.default for f in history.stored_fields(row.kind)
              if f.type not in (F.PASSWORD,) and not f.by_test}
    secrets = history.secret_names(row.kind)
    kept = _secrets(row.id)
    for name, old, _ in _changes(row):
        if name in secrets:
            token = kept.get(name)
            values[name] = _password(_clear(store, token.old_enc) if token else None)
        elif name in values:
            values[name] = _value(row.kind, name, old)
    for name in secrets:
        values.setdefault(name, PasswordEdit())
        if values[name].clear:
            values[name] = PasswordEdit()
    return values


def _children(row: ChangeEntry, kind: str) -> list[ChangeEntry]:
    return list(ChangeEntry.select().where(ChangeEntry.parent == row.id, ChangeEntry.kind == kind)
                .order_by(ChangeEntry.id))


def _undo_delete(store: Store, row: ChangeEntry) -> None:
    values = _kept_values(store, row)
    if row.kind == "mailbox":
        values.pop("regarding_id", None)
        values["kind"] = MailboxKind.FORWARD
        services.create_forward_mailbox(store, MailboxDraft(**values))
    elif row.kind == "profile":
        created = services.create_profile(store, ProfileDraft(**values))
        _repoint(store, row, row.record_id, created.id)
    elif row.kind == "user":
        user, mailbox, _ = services.create_user(store, UserDraft(**values))
        _restore_mailbox(store, row, mailbox.id, {row.record_id: user.id})
    elif row.kind == "queue":
        queue, mailbox, _ = services.create_queue(store, QueueDraft(**values))
        _restore_mailbox(store, row, mailbox.id, {})
    else:
        raise UndoRefused(_cannot(row))


def _restore_mailbox(store: Store, row: ChangeEntry, mailbox_id: int, new_ids: dict[int, int]) -> None:
    """A recreated user's or queue's mailbox gets back the settings its delete entry kept."""
    for child in _children(row, "mailbox"):
        values = _kept_values(store, child)
        for name in ("kind", "regarding_id", "email", "name"):
            values.pop(name, None)  # the new record's own
        if values.get("owner_id") in new_ids:
            values["owner_id"] = new_ids[values["owner_id"]]
        base = services.get_mailbox(store, mailbox_id)
        services.update_mailbox(store, base, base.copy(**values), keep_secrets=True)


def _repoint(store: Store, row: ChangeEntry, old_id: int, new_id: int) -> None:
    """A recreated profile goes back to the mailboxes and the default it was cleared from, where
    nothing else was chosen since."""
    for child in _children(row, "mailbox"):
        box = Mailbox.get_or_none(Mailbox.id == child.record_id)
        if box is not None and box.profile_id is None:
            base = services.get_mailbox(store, box.id)
            services.update_mailbox(store, base, base.copy(profile_id=new_id), keep_secrets=True)
    for child in _children(row, "settings"):
        org = services.org_settings(store)
        if org.default_profile_id is None and any(n == "default_profile_id" for n, _, _ in _changes(child)):
            services.update_org_settings(store, org, OrgSettings(**{**org.__dict__, "default_profile_id": new_id}))


def describe_entry(entry_id: int) -> str:
    """One line about an entry, for a confirmation, in the admin's language (shown, never stored):
    "#12 changed mailbox 'Sales': Name: A → B"."""
    e = read_entry(entry_id)
    if e is None:
        return f"#{entry_id}"
    return f"#{e.id} {said(e.phrase)}" + (f": {e.summary}" if e.changes else "")


__all__ = ["UPDATES", "UndoRefused", "describe", "describe_entry"]
