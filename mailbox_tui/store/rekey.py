"""Schema migration 2: natural keys compare after Unicode NFC, by str.lower().

Schema 1 stored `str.casefold()` keys, which merged straße@example.com with strasse@example.com
and kept a name in NFC apart from the same name in NFD. Every stored key is computed again.

Two records whose keys become equal (a queue or profile name stored once in NFC and once in
NFD) are both kept: the older (lower id) keeps the key, each newer one gets a key that no name
produces (its own plus a unit separator and its id), so the unique index holds. `mailbox-tui check`
reports such a record as a duplicate name (P1, Q1, U1) until an admin renames or deletes it.
"""

from __future__ import annotations

import logging
import unicodedata

import peewee

log = logging.getLogger(__name__)

# table, key column, the column it is computed from, unique, the column's length
KEY_COLUMNS = (
    ("app_user", "email_key", "email", True, 100),
    ("email_server_profile", "name_key", "name", True, 100),
    ("queue", "name_key", "name", True, 200),
    ("queue", "email_key", "email", False, 100),
    ("mailbox", "name_key", "name", False, 200),
    ("mailbox", "email_key", "email", False, 100),
)
DUPLICATE_MARK = "\x1f"  # a control character: no valid name contains it (M1, P1, Q1, U1)


def key_v2(text: str) -> str:
    """The key as schema 2 defines it (frozen here: a shipped migration never changes)."""
    return unicodedata.normalize("NFC", text.strip()).lower()


def rekey_natural_keys(db: peewee.Database) -> list[tuple[str, int]]:
    """Recompute every natural-key column. Returns (table, id) of the records that collided."""
    collided: list[tuple[str, int]] = []
    for table, key_column, source, unique, limit in KEY_COLUMNS:
        rows = db.execute_sql(f'SELECT id, "{source}", "{key_column}" FROM "{table}" ORDER BY id').fetchall()
        taken: set[str] = set()
        changes: list[tuple[str, int]] = []
        for row_id, value, old_key in rows:
            key = key_v2(value or "")[:limit]
            if unique and key in taken:
                suffix = f"{DUPLICATE_MARK}{row_id}"
                key = key[:limit - len(suffix)] + suffix
                collided.append((table, row_id))
            taken.add(key)
            if key != old_key:
                changes.append((key, row_id))
        if not changes:
            continue
        update = f'UPDATE "{table}" SET "{key_column}" = {db.param} WHERE id = {db.param}'
        cursor = db.cursor()
        if unique:  # first out of the way, so no row meets another's old key on its way
            cursor.executemany(update, [(f"{DUPLICATE_MARK}{DUPLICATE_MARK}{row_id}", row_id) for _, row_id in changes])
        cursor.executemany(update, changes)
    for table, row_id in collided:
        log.warning("schema 2: %s %s has the same natural key as an older record; check reports it", table, row_id)
    return collided
