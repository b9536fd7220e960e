"""`mailbox-tui rotate-key`: every secret re-encrypted under a new key, in one transaction.

No key the database may still need is ever deleted:
- the new key is written (exclusively, fsynced) to `<key file>.new` inside the write transaction,
  before anything is re-encrypted, and the key-check value changes in that same transaction;
- after the commit, the database is proven to read under the new key alone, and only then is
  `.new` renamed over the key file (the old key's only copy, no longer needed);
- a `.new` left behind is removed only by a later rotation holding the write lock, and only when it
  does not read the database (a rotation that died before its commit); one that does read it is
  the database's key, and opening the database finishes the rename (`crypto.choose_keys`).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from cryptography.fernet import Fernet

from ..i18n import say, say_n
from .crypto import KeyFileError, KeyRing, SecretUnreadable, fsync_folder, key_reads, pending_key_path, read_key_file
from .crypto import retired_key_path, write_key_file
from .database import Store, StoreError
from ..domain.fields import MAILBOX_FIELDS, PROFILE_FIELDS, secret_fields
from .history import ROTATE_KEY, ChangeSecret, record_event
from .models import EmailServerProfile, Mailbox, Meta

log = logging.getLogger(__name__)

# Every encrypted column, as declared (passwords and the OAuth secrets of P14).
SECRET_COLUMNS = (
    (Mailbox, "mailbox", tuple(f.model_column for f in secret_fields(MAILBOX_FIELDS))),
    (EmailServerProfile, "server profile", tuple(f.model_column for f in secret_fields(PROFILE_FIELDS))),
    (ChangeSecret, "change history's", ("old_enc", "new_enc")),  # what undo restores
)


def rotate_key(store: Store, new_key_path: Path | None = None) -> tuple[int, Path]:
    """Re-encrypt under a fresh key. Returns (secrets rotated, where the new key is)."""
    if not store.key_ok:
        raise StoreError(say("The current key does not match this database: rotating would lose every password."))
    from_env = store.keyring.source == "environment"
    if from_env:
        if new_key_path is None:
            raise KeyFileError(say("The key comes from $MAILBOX_TUI_KEY: give --out PATH for the new key file, "
                                   "then put its contents in MAILBOX_TUI_KEY."))
        final = pending = Path(new_key_path)
        if os.path.lexists(pending):
            raise KeyFileError(say("{path} already exists: give --out a new file name for the new key. "
                                   "Nothing was changed.", path=str(pending)))
    else:
        if new_key_path is not None:
            raise KeyFileError(say("--out is for a key kept in $MAILBOX_TUI_KEY; this database's key is the file "
                                   "{path}, which rotate-key replaces itself. Nothing was changed.",
                                   path=store.keyring.source))
        final = Path(store.keyring.source)
        pending = pending_key_path(final)
    new_key = Fernet.generate_key()
    rotating = KeyRing([new_key] + store.keyring.keys, store.keyring.source)
    created = False
    try:
        with store.transaction():
            current = _lock_key_check(store)
            if current is None or not store.keyring.matches(current):
                raise StoreError(say("This database's key changed as rotate-key started (another rotate-key?): "
                                     "nothing was changed. Run it again."))
            if not from_env:
                _remove_dead_pending(pending, current)
            write_key_file(pending, [new_key], like=None if from_env else final)
            created = True
            Meta.update(value=KeyRing([new_key], "new").key_check()).where(Meta.key == "key_check").execute()
            count = _reencrypt(rotating)
            record_event(store, "key", ROTATE_KEY)  # one entry, no values
    except BaseException:
        if created:
            _discard_pending(store, pending, new_key)
        raise
    _prove(store, new_key, pending)
    if pending != final:
        try:
            os.replace(pending, final)
        except FileNotFoundError:  # a mailbox-tui that opened the database meanwhile finished the rename
            if not _holds(final, new_key):
                raise
        fsync_folder(final.parent)
    store.keyring.replace_keys([new_key])
    log.info("rotated the key: %s secrets re-encrypted", count)
    return count, final


def _lock_key_check(store: Store) -> str | None:
    """The key-check value, locked until commit (SQLite's write transaction already excludes others)."""
    query = Meta.select(Meta.value).where(Meta.key == "key_check")
    if store.is_postgres:
        query = query.for_update()
    row = query.first()
    return row.value if row else None


def _remove_dead_pending(pending: Path, key_check: str) -> None:
    """A `.new` seen while we hold the write lock was left by a rotation that never committed, unless it
    reads the database (then it is the database's key and must stay)."""
    if not os.path.lexists(pending):
        return
    try:
        keys = read_key_file(pending)
    except KeyFileError:
        if not (pending.is_file() and pending.stat().st_size == 0):
            raise
        keys = []  # created, then killed before its key was written: it holds nothing
    if any(key_reads(k, key_check) for k in keys):
        raise StoreError(say("{path} holds this database's key (an earlier rotation was not finished): nothing was "
                             "changed. Finish it first: {command}", path=str(pending),
                             command=" ".join(("mv", str(pending), str(pending.with_name(pending.name[:-4]))))))
    pending.unlink()
    log.info("removed %s, left by a key rotation that never committed", pending)


def _reencrypt(rotating: KeyRing) -> int:
    count, unreadable = 0, []
    for model, label, columns in SECRET_COLUMNS:
        for column in columns:
            field = getattr(model, column)
            last = 0
            while True:
                page = list(model.select(model.id, model.name, field)
                            .where(model.id > last, field.is_null(False)).order_by(model.id).limit(1000))
                if not page:
                    break
                for row in page:
                    try:
                        token = rotating.rotate(getattr(row, column))
                    except SecretUnreadable:
                        unreadable.append(f"{label} {row.name!r}")
                        continue
                    model.update({field: token}).where(model.id == row.id).execute()
                    count += model is not ChangeSecret  # the count is of the records' own passwords
                last = page[-1].id
    if unreadable:
        shown = ", ".join(unreadable[:5]) + (", …" if len(unreadable) > 5 else "")
        raise StoreError(say_n("{n} stored password can't be read with the current key ({records}): "
                               "rotating would make it unreadable for good. Nothing was changed. Re-enter or clear "
                               "it (mailbox-tui check lists it), then rotate again.",
                               "{n} stored passwords can't be read with the current key ({records}): "
                               "rotating would make them unreadable for good. Nothing was changed. Re-enter or clear "
                               "them (mailbox-tui check lists them), then rotate again.",
                               len(unreadable), records=shown))
    return count


def _discard_pending(store: Store, pending: Path, new_key: bytes) -> None:
    """The transaction failed: remove the new key, unless the database might be under it after all
    (a commit whose answer was lost), or we cannot tell."""
    try:
        current = Meta.select(Meta.value).where(Meta.key == "key_check").first()
    except Exception:  # the database is gone: keep the key; opening the database next time decides
        log.warning("rotation failed and the database can't be read: keeping %s", pending)
        return
    if current is not None and not key_reads(new_key, current.value):
        pending.unlink(missing_ok=True)
    else:
        log.warning("rotation failed after the database took the new key: keeping %s", pending)


def _prove(store: Store, new_key: bytes, pending: Path) -> None:
    """After the commit, before the old key's file is replaced: every secret reads under the new key alone."""
    proof = KeyRing([new_key], "new")
    row = Meta.select(Meta.value).where(Meta.key == "key_check").first()
    bad = 0 if row is not None and proof.matches(row.value) else 1
    for model, _label, columns in SECRET_COLUMNS:
        for column in columns:
            field = getattr(model, column)
            last = 0
            while True:
                page = list(model.select(model.id, field).where(model.id > last, field.is_null(False))
                            .order_by(model.id).limit(1000))
                if not page:
                    break
                for r in page:
                    try:
                        proof.decrypt(getattr(r, column))
                    except SecretUnreadable:
                        bad += 1
                last = page[-1].id
    if bad:
        if store.keyring.source != "environment":
            retired = retired_key_path(Path(store.keyring.source))
            if not os.path.lexists(retired):
                write_key_file(retired, store.keyring.keys)
        raise StoreError(say_n("The database was re-encrypted, but {n} value does not read under the new key: both "
                               "keys are kept ({path} and the old one in {source}, or its .old copy). Keep both files "
                               "and run mailbox-tui check.",
                               "The database was re-encrypted, but {n} values do not read under the new key: both "
                               "keys are kept ({path} and the old one in {source}, or its .old copy). Keep both files "
                               "and run mailbox-tui check.", bad, path=str(pending), source=store.keyring.source))


def _holds(path: Path, key: bytes) -> bool:
    try:
        return key in read_key_file(path)
    except KeyFileError:
        return False
