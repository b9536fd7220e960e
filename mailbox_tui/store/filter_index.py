"""Schema migration 3: trigram indexes for the lists' filter, which looks for a substring as you type.

Part of a migration: never change what it creates once shipped; a later change is a new migration.
How the queries use these indexes: store/queries.py; how bulk inserts fill them: models.bulk_insert.
"""

from __future__ import annotations

import logging
import sqlite3

import peewee

log = logging.getLogger(__name__)

# (table, SQLite FTS5 table, the filter's columns, PostgreSQL: its expressions and index names)
_FILTER_INDEXES = (
    ("mailbox", "mailbox_filter", ("name_key", "email_key"),
     (("name_key", "mailbox_name_key_trgm"), ("email_key", "mailbox_email_key_trgm"))),
    ("app_user", "app_user_filter", ("full_name", "email_key"),
     (("lower(full_name)", "app_user_lower_full_name_trgm"), ("email_key", "app_user_email_key_trgm"))),
    ("queue", "queue_filter", ("name_key", "email_key"),
     (("name_key", "queue_name_key_trgm"), ("email_key", "queue_email_key_trgm"))),
)


def create_filter_indexes(db: peewee.Database) -> None:
    """Trigram indexes for the filter: on SQLite an FTS5 table per list (trigram tokenizer), holding
    the filtered columns of the table (external content: no copy of the text) and kept in step by
    triggers; on PostgreSQL pg_trgm GIN indexes. Without FTS5's trigram tokenizer, or without the
    right to create pg_trgm, a log line says so and filters scan the table as before. Also the order
    of the Users list, by lower-cased name, gets an index."""
    db.execute_sql('CREATE INDEX IF NOT EXISTS "app_user_lower_full_name_id" ON "app_user" (lower("full_name"), "id")')
    if isinstance(db, peewee.PostgresqlDatabase):
        _pg_trigram_indexes(db)
        return
    for table, fts, columns, _ in _FILTER_INDEXES:
        try:
            with db.atomic():  # a savepoint: a refusal leaves the migration's transaction as it was
                _sqlite_trigram_index(db, table, fts, columns)
        except peewee.OperationalError as exc:
            log.warning("this SQLite (%s) can't build the filter's index (%s): list filters scan the tables",
                        sqlite3.sqlite_version, exc)
            return


def _sqlite_trigram_index(db: peewee.Database, table: str, fts: str, columns: tuple[str, ...]) -> None:
    cols = ", ".join(columns)
    new = ", ".join(f"new.{c}" for c in columns)
    old = ", ".join(f"old.{c}" for c in columns)
    db.execute_sql(f"CREATE VIRTUAL TABLE IF NOT EXISTS {fts} USING fts5({cols}, content='{table}', "
                   "content_rowid='id', tokenize='trigram')")
    # A bulk insert drops this trigger for its batch and indexes the batch at once (models.bulk_insert).
    db.execute_sql(f"CREATE TRIGGER IF NOT EXISTS {fts}_insert AFTER INSERT ON {table} BEGIN "
                   f"INSERT INTO {fts} (rowid, {cols}) VALUES (new.id, {new}); END")
    db.execute_sql(f"CREATE TRIGGER IF NOT EXISTS {fts}_delete AFTER DELETE ON {table} BEGIN "
                   f"INSERT INTO {fts} ({fts}, rowid, {cols}) VALUES ('delete', old.id, {old}); END")
    db.execute_sql(f"CREATE TRIGGER IF NOT EXISTS {fts}_update AFTER UPDATE OF {cols} ON {table} BEGIN "
                   f"INSERT INTO {fts} ({fts}, rowid, {cols}) VALUES ('delete', old.id, {old}); "
                   f"INSERT INTO {fts} (rowid, {cols}) VALUES (new.id, {new}); END")
    db.execute_sql(f"INSERT INTO {fts} ({fts}) VALUES ('rebuild')")  # the rows already there


def _pg_trigram_indexes(db: peewee.Database) -> None:
    try:
        with db.atomic():  # a savepoint: a refusal leaves the migration's transaction usable
            db.execute_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except peewee.DatabaseError as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        statements = "; ".join(f"CREATE INDEX {name} ON {table} USING gin (({expr}) gin_trgm_ops)"
                               for table, _, _, indexes in _FILTER_INDEXES for expr, name in indexes)
        log.warning("PostgreSQL did not let mailbox-tui create the extension pg_trgm (%s): list filters scan "
                    "the tables, which is slower on large databases. A database owner or superuser can add the "
                    "index at any time: CREATE EXTENSION pg_trgm; %s", reason, statements)
        return
    for table, _, _, indexes in _FILTER_INDEXES:
        for expr, name in indexes:
            db.execute_sql(f'CREATE INDEX IF NOT EXISTS "{name}" ON "{table}" USING gin (({expr}) gin_trgm_ops)')
