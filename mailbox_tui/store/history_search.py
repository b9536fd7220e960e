"""The History page's `/` filter at a million entries: its trigram index (schema migration 7).

The filter means what it always meant (history_read._query): the text is a case-insensitive
substring of an entry's record key, admin, action or kind, LIKE's wildcards typed by the admin
taken literally. The index only decides which entries are looked at; the same LIKE condition
still decides which of them match, so the index may find more, never fewer.

- SQLite: an FTS5 table `change_entry_text` over those four columns of change_entry (external
  content: no copy of the text; trigram tokenizer, case folded; detail=none: no positions, and
  columnsize=0: no row sizes, which together halve its size and the time to write it, measured).
  A filter of three characters or more asks it for the entries holding every trigram of the text,
  newest first, and stops at the page's end (FTS5 hands its rows out by descending rowid). No
  trigger keeps it: the recorder (history.py) adds each batch of entries it writes with one
  INSERT … SELECT, in the same transaction as the entries (an import's 200,000 entries cost one
  statement, not 200,000 trigger runs). Entries are never deleted or changed in these columns,
  so nothing else is needed.
- PostgreSQL: one GIN index (pg_trgm) over the four columns; the planner uses it for the ILIKE
  conditions by itself, and PostgreSQL keeps it.
- Shorter filters search only the newest entries (history_read.SHORT_FILTER_SCAN, and the page
  says so), newest first, stopping at the page's end. A database where the index could not be
  built (an SQLite without the trigram tokenizer, or a PostgreSQL role that may not create pg_trgm:
  migration 7 logs which, and what a database owner can run) scans all entries for longer ones.

Part of a migration: never change what it creates once shipped; a later change is a new migration.
"""

from __future__ import annotations

import logging
import sqlite3
import weakref

import peewee

log = logging.getLogger(__name__)

TABLE = "change_entry_text"  # SQLite's FTS5 table (not "<table>_filter": models.bulk_insert would manage that)
PG_INDEX = "change_entry_text_trgm"
COLUMNS = ("record_key", "admin", "action", "kind")
TRIGRAM = 3  # the index finds substrings of at least this many characters; shorter ones scan
MAX_TRIGRAMS = 24  # a long filter asks for its first 24 distinct trigrams: still every match, maybe more

_READY: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_PG_STATEMENT = (f'CREATE INDEX IF NOT EXISTS "{PG_INDEX}" ON "change_entry" USING gin '
                 f'({", ".join(f"{c} gin_trgm_ops" for c in COLUMNS)})')


# ---------------------------------------------------------------- migration 7

def create_history_search(db: peewee.Database) -> None:
    """Migration 7: the filter's index, built in bulk for the entries already there."""
    if isinstance(db, peewee.PostgresqlDatabase):
        try:
            with db.atomic():  # a savepoint: a refusal leaves the migration's transaction usable
                db.execute_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        except peewee.DatabaseError as exc:
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            log.warning("PostgreSQL did not let mailbox-tui create the extension pg_trgm (%s): the History "
                        "filter scans the entries, which is slower at a million entries. A database owner or "
                        "superuser can add the index at any time: CREATE EXTENSION pg_trgm; %s", reason,
                        _PG_STATEMENT)
            _READY[db] = False
            return
        db.execute_sql(_PG_STATEMENT)
        _READY[db] = True
        return
    try:
        with db.atomic():  # a savepoint: a refusal leaves the migration's transaction as it was
            _create_fts(db)
    except peewee.OperationalError as exc:
        log.warning("this SQLite (%s) can't build the History filter's index (%s): the filter scans the entries",
                    sqlite3.sqlite_version, exc)
        _READY[db] = False
        return
    _READY[db] = True


def _create_fts(db: peewee.Database) -> None:
    db.execute_sql(f'CREATE VIRTUAL TABLE IF NOT EXISTS "{TABLE}" USING fts5({", ".join(COLUMNS)}, '
                   "content='change_entry', content_rowid='id', tokenize='trigram case_sensitive 0', detail=none, "
                   "columnsize=0)")
    # No merging of its segments as it is written (FTS5's automerge): a fifth less time in an import's
    # write, the same filter times at a million entries; FTS5 still merges a level of 16 (crisismerge).
    db.execute_sql(f"INSERT INTO \"{TABLE}\" (\"{TABLE}\", rank) VALUES ('automerge', 0)")
    db.execute_sql(f"INSERT INTO \"{TABLE}\" (\"{TABLE}\") VALUES ('rebuild')")  # the entries already there


def ready(db: peewee.Database) -> bool:
    """Whether this database has the History filter's index (looked up once per connection's database)."""
    found = _READY.get(db)
    if found is None:
        if isinstance(db, peewee.PostgresqlDatabase):
            sql, args = "SELECT 1 FROM pg_indexes WHERE indexname = %s", (PG_INDEX,)
        else:
            sql, args = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (TABLE,)
        found = _READY[db] = db.execute_sql(sql, args).fetchone() is not None
        if not found:
            log.info("no index for the History filter in this database: it scans the entries")
    return found


# ---------------------------------------------------------------- the recorder's part

def index_entries(db, first: int, last: int | None = None) -> None:
    """SQLite: add the entries with ids first..last (last None: every id from first) to the index,
    in one statement, in the caller's transaction. They must be new (the writer holds SQLite's write
    lock, so ids above the largest before its insert are its own). PostgreSQL keeps its index itself."""
    db = db.obj if isinstance(db, peewee.DatabaseProxy) else db
    if isinstance(db, peewee.PostgresqlDatabase) or not ready(db):
        return
    cols = ", ".join(f'"{c}"' for c in COLUMNS)
    where, args = ("id >= ?", (first,)) if last is None else ("id BETWEEN ? AND ?", (first, last))
    db.execute_sql(f'INSERT INTO "{TABLE}" (rowid, {cols}) SELECT id, {cols} FROM "change_entry" WHERE {where}',
                   args)


# ---------------------------------------------------------------- the reader's part

def fts_query(text: str) -> str | None:
    """The FTS5 query for entries holding every trigram of `text` (each one quoted: FTS5's syntax,
    `"`, `*`, NEAR, AND, `^`, `-`, … is taken as text); None when the index can't help."""
    if len(text) < TRIGRAM or "\x00" in text:
        return None
    trigrams = list(dict.fromkeys(text[i:i + TRIGRAM] for i in range(len(text) - TRIGRAM + 1)))
    return " AND ".join('"' + t.replace('"', '""') + '"' for t in trigrams[:MAX_TRIGRAMS])


def sqlite_source(db, text: str):
    """SQLite: the FTS5 table restricted to entries that may match `text`, as (table, its rowid, the
    MATCH condition); None when the index can't help (no index, text too short)."""
    db = db.obj if isinstance(db, peewee.DatabaseProxy) else db
    if isinstance(db, peewee.PostgresqlDatabase) or not ready(db):
        return None
    query = fts_query(text)
    if query is None:
        return None
    table = peewee.Table(TABLE, ("rowid",))
    return table, table.rowid, peewee.SQL(f'"{TABLE}" MATCH ?', [query])
