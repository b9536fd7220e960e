"""The schema version and its migrations: an upgrade keeps every record and every reference.

Each migration takes the database from version N-1 to N; all the steps an upgrade needs run in one
transaction (all or none). Around them:

- SQLite: a copy of the database as it was is kept beside it first (`mailboxes.db.schema3.bak`, made
  with SQLite's backup API), and foreign keys are off while the steps run, as SQLite's documented
  procedure for schema changes says: with them on, a table rebuilt by a step would fire
  `ON DELETE SET NULL` on every reference to it when its old copy is dropped. (Releases with schema
  8 did that to every mailbox's server profile when they upgraded a schema 3 or 4 database.)
- Before the upgrade commits it is checked that no table has fewer rows, no reference column fewer
  references, and `PRAGMA foreign_key_check` finds no more dangling references than before. An
  upgrade that would lose anything is rolled back with a sentence, and the database stays as it was.
- Columns are added with ALTER TABLE … ADD COLUMN, a NOT NULL one with its default as the column's
  DEFAULT: no table is rebuilt.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import peewee
from peewee import fn

from ..i18n import say
from .errors import StoreError
from .history_search import create_history_search
from .models import ALL_MODELS, EmailServerProfile, Mailbox, Meta, OrganizationSettings

log = logging.getLogger(__name__)

SCHEMA_VERSION = 10


# Each migration takes the database from version N-1 to N. Never change what one does to a database once
# it has shipped; how it does it may be mended (migrations 4 and 5 rebuilt the profile table: see above).
def _migrate_1(db: peewee.Database) -> None:
    db.create_tables(ALL_MODELS)
    OrganizationSettings.get_or_create(id=1)


def _migrate_2(db: peewee.Database) -> None:
    from .rekey import rekey_natural_keys  # natural keys: NFC, then str.lower()
    rekey_natural_keys(db)


def _migrate_3(db: peewee.Database) -> None:
    from .filter_index import create_filter_indexes  # trigram indexes for the lists' filter
    create_filter_indexes(db)


def _sql_literal(db: peewee.Database, field: peewee.Field) -> str:
    """The field's default as an SQL literal, for a column's DEFAULT clause."""
    default = field.default() if callable(field.default) else field.default
    value = field.db_value(default)
    if isinstance(value, bool):
        return ("TRUE" if value else "FALSE") if isinstance(db, peewee.PostgresqlDatabase) else str(int(value))
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    raise TypeError(f"no SQL literal for the default of {field.column_name}: {value!r}")


def _add_missing_columns(db: peewee.Database, *fields: peewee.Field) -> None:
    """ALTER TABLE … ADD COLUMN for each model field its table lacks. A database created at this
    release already has them: migration 1 creates the tables from today's models.

    A NOT NULL column is added with its default as the column's DEFAULT, which SQLite's ADD COLUMN
    accepts: peewee's migrator would instead add it nullable and then rebuild the whole table to make it
    NOT NULL, and dropping the old table set every reference to it to NULL."""
    from playhouse.migrate import SchemaMigrator, migrate as run

    migrator = SchemaMigrator.from_database(db)
    for field in fields:
        table = field.model._meta.table_name
        if field.column_name in {c.name for c in db.get_columns(table)}:
            continue
        column = field.clone()
        not_null = not field.null and field.default is not None
        if not_null:
            column.constraints = [*(field.constraints or []), peewee.SQL(f"DEFAULT {_sql_literal(db, field)}")]
        run(migrator.alter_add_column(table, field.column_name, column, allow_not_null=not_null))


def _migrate_4(db: peewee.Database) -> None:
    """Two Dynamics fields: the profile's Move Undelivered Emails (P12, default No) and the mailbox's
    Process Email From (M19, none)."""
    _add_missing_columns(db, EmailServerProfile.move_undelivered, Mailbox.process_after)


def _migrate_oauth(db: peewee.Database) -> None:
    """The profile's OAuth settings (P14): Client ID, Client Secret, client certificate, Tenant ID, service
    account key, Scope, Token Endpoint. Self-contained (adds only the columns missing), so it can take any
    number in the sequence."""
    from ..domain.fields import PROFILE_FIELDS
    from ..domain.oauth import OAUTH_FIELDS

    declared = {f.name: f for f in PROFILE_FIELDS}
    _add_missing_columns(db, *(EmailServerProfile._meta.fields[declared[name].model_column] for name in OAUTH_FIELDS))


def _migrate_history(db: peewee.Database) -> None:
    """The change history (issue 13; none before it), and as 8 its batch index: creates only what is missing."""
    from .history import create_history_tables

    create_history_tables(db)


def _migrate_lifecycle(db: peewee.Database) -> None:
    """Issue 24: the mailbox's lifecycle fields (retries, the next attempt, the last error; defaults: none yet)
    and the profile's retry settings (10 retries, 5 minutes apart), then the index that finds the due retries."""
    from ..domain.fields import LIFECYCLE_FIELDS

    _add_missing_columns(db, *(Mailbox._meta.fields[name] for name in LIFECYCLE_FIELDS),
                         EmailServerProfile.transient_retries, EmailServerProfile.retry_interval_minutes)
    _create_indexes(db, Mailbox)  # IF NOT EXISTS: a new database has it from migration 1


def _create_indexes(db: peewee.Database, model: type[peewee.Model]) -> None:
    """The indexes the model declares whose columns the table has now (IF NOT EXISTS). An index on a column a later
    migration adds waits for it: SQLite would take the unknown "column" for a string and index that constant, and
    the file reads as malformed once the column exists."""
    columns = {c.name for c in db.get_columns(model._meta.table_name)}
    for index in model._meta.fields_to_index():
        parts = getattr(index, "_expressions", [])
        if all(isinstance(p, peewee.Field) and p.column_name in columns for p in parts):
            db.execute(model._schema._create_index(index, safe=True))


def _migrate_mailbox_indexes(db: peewee.Database) -> None:
    """Issue 24: the watch's columns (when a mailbox is next due, the host testing it: `_migrate_watch`), then the
    indexes the model declares and the database lacks (the Mailboxes views' mailboxes with a last error, for
    "Disabled by failures"; the watch's due mailboxes). IF NOT EXISTS: a new database has them from migration 1."""
    _migrate_watch(db)
    _create_indexes(db, Mailbox)


def _migrate_watch(db: peewee.Database) -> None:
    """`mailbox-tui watch` (issue 24 item 4): its columns, and every mailbox it has work for due at once: one with a
    retry scheduled (at the retry's time) or a direction enabled (polled as soon as a watch runs)."""
    from ..domain.fields import WATCH_FIELDS

    _add_missing_columns(db, *(Mailbox._meta.fields[name] for name in WATCH_FIELDS))
    m = Mailbox
    (m.update(next_processing=fn.COALESCE(m.next_test_attempt, m.last_attempted_on, m.test_completed_on, m.created_on))
     .where(m.next_processing.is_null(), m.next_test_attempt.is_null(False) | (m.enabled_incoming == True)  # noqa: E712
            | (m.enabled_outgoing == True) | (m.enabled_act == True))  # noqa: E712
     .execute())


MIGRATIONS: dict[int, Callable[[peewee.Database], None]] = {
    1: _migrate_1, 2: _migrate_2, 3: _migrate_3, 4: _migrate_4, 5: _migrate_oauth, 6: _migrate_history,
    7: create_history_search,  # the History filter's index
    8: _migrate_history,  # the batch index
    9: _migrate_lifecycle,
    10: _migrate_mailbox_indexes,
}


def schema_version(db: peewee.Database) -> int:
    if not db.table_exists(Meta._meta.table_name):
        return 0
    row = Meta.get_or_none(Meta.key == "schema_version")
    if row is None:
        return 0
    try:
        return int(row.value)
    except ValueError:
        raise StoreError(say("This database's schema version is {value}, not a number: it is damaged "
                             "or was not written by mailbox-tui. Nothing was changed.",
                             value=repr(row.value[:40]))) from None


# ------------------------------------------------------------------------------------ what it holds
def _models() -> list[type[peewee.Model]]:
    from .history import HISTORY_MODELS

    return [*ALL_MODELS, *HISTORY_MODELS]


def holdings(db: peewee.Database) -> dict[str, int]:
    """Rows per table and references per reference column, for every table of ours the database has."""
    tables = set(db.get_tables())
    counts: dict[str, int] = {}
    for model in _models():
        table = model._meta.table_name
        if table not in tables:
            continue
        columns = {c.name for c in db.get_columns(table)}
        counted = ["COUNT(*)"] + [f'COUNT("{f.column_name}")' for f in model._meta.refs if f.column_name in columns]
        names = [table] + [f"{table}.{f.column_name}" for f in model._meta.refs if f.column_name in columns]
        row = db.execute_sql(f'SELECT {", ".join(counted)} FROM "{table}"').fetchone()
        counts.update(zip(names, row))
    return counts


def _dangling(db: peewee.Database) -> int:
    """Minus the references to no record (SQLite, whose foreign keys are off while the steps run): more of
    them counts as a loss. Checked once before and once after the steps: it reads every reference."""
    if not isinstance(db, peewee.SqliteDatabase):
        return 0  # PostgreSQL keeps its foreign keys on throughout
    return -len(db.execute_sql("PRAGMA foreign_key_check").fetchall())


def _refuse_losses(before: dict[str, int], after: dict[str, int], found: int) -> None:
    lost = {name: (n, after.get(name, 0)) for name, n in before.items() if after.get(name, 0) < n}
    if lost:
        shown = ", ".join(f"{name} {abs(was)} → {abs(now)}" for name, (was, now) in sorted(lost.items()))
        raise StoreError(say("The upgrade from schema {found} to {version} would lose data ({lost}), so it was "
                             "undone: the database is as it was. Please report this with the log (--log).",
                             found=found, version=SCHEMA_VERSION, lost=shown))


# ------------------------------------------------------------------------------------ the copy kept
def backup_path(file: Path, version: int) -> Path:
    """Where the copy of a database at `version` goes: beside it, never over an earlier copy."""
    first = file.with_name(f"{file.name}.schema{version}.bak")
    candidate, n = first, 1
    while candidate.exists():
        n += 1
        candidate = file.with_name(f"{file.name}.schema{version}-{n}.bak")
    return candidate


def back_up(db: peewee.SqliteDatabase, file: Path, version: int) -> Path:
    """A consistent copy of the database by SQLite's backup API, readable only as the database is."""
    target, created = backup_path(file, version), False
    try:
        mode = file.stat().st_mode & 0o666
        os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode))
        created = True
        copy = sqlite3.connect(target)
        try:
            db.connection().backup(copy)
        finally:
            copy.close()
    except (OSError, sqlite3.Error) as exc:
        if created:  # never a file someone else made meanwhile
            target.unlink(missing_ok=True)
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise StoreError(say("This database has schema {found} and needs an upgrade to {version}, but a copy "
                             "of it could not be kept first at {path} ({error}): nothing was changed. Free some space "
                             "or make the folder writable, and open it again.", found=version, version=SCHEMA_VERSION,
                             path=str(target), error=why)) from None
    return target


# ------------------------------------------------------------------------------------ the upgrade
def _foreign_keys(db: peewee.Database, on: bool) -> None:
    db.execute_sql(f"PRAGMA foreign_keys = {int(on)}")
    if bool(db.execute_sql("PRAGMA foreign_keys").fetchone()[0]) != on:  # ignored inside a transaction
        raise StoreError(say("Can't switch SQLite's foreign keys for the upgrade (a transaction is open): nothing "
                             "was changed."))


UPGRADE_LOCK = 0x6D61696C626F78  # PostgreSQL advisory lock held while the schema changes ("mailbox")
UPGRADE_WAIT_S = 300  # how long a second process waits for another one's upgrade


def _newer(current: int) -> StoreError:
    return StoreError(say("This database has schema version {found}, newer than this mailbox-tui knows "
                          "({version}): upgrade mailbox-tui.", found=current, version=SCHEMA_VERSION))


@dataclass
class Upgrade:
    """What opening did to the schema: the version it found (0: a new database), the copy it kept."""

    found: int
    copy: Path | None = None

    @property
    def note(self) -> str:
        if not 0 < self.found < SCHEMA_VERSION:
            return ""
        if self.copy:
            return say("This database was upgraded from schema {found} to {version}; a copy of it as it was is kept "
                       "at {path}.", found=self.found, version=SCHEMA_VERSION, path=str(self.copy))
        return say("This database was upgraded from schema {found} to {version}.", found=self.found,
                   version=SCHEMA_VERSION)


def migrate(db: peewee.Database, backup_file: Path | None = None,
            on_wait: Callable[[str], None] | None = None) -> Upgrade:
    """Bring the schema up to SCHEMA_VERSION in one transaction, nothing lost (see the module's
    docstring), one process at a time. With `backup_file` (an SQLite database's own file), an existing
    database is copied beside itself first. `on_wait` hears it when another process is upgrading.
    Returns what it did."""
    current = schema_version(db)
    if current > SCHEMA_VERSION:
        raise _newer(current)
    if current == SCHEMA_VERSION:
        return Upgrade(current)
    if not isinstance(db, peewee.PostgresqlDatabase):
        return _migrate_steps(db, current, backup_file)
    with _upgrade_lock(db, on_wait):
        current = schema_version(db)  # another process may have upgraded it while we waited
        if current > SCHEMA_VERSION:
            raise _newer(current)
        try:
            return _migrate_steps(db, current, None) if current < SCHEMA_VERSION else Upgrade(current)
        except peewee.DatabaseError as exc:
            if "permission denied" not in str(exc) and "must be owner" not in str(exc):
                raise
            raise StoreError(say("This database has schema {found} and this mailbox-tui needs {version}, but "
                                 "this PostgreSQL role may not change its tables: nothing was changed. The database's "
                                 "owner must run `mailbox-tui upgrade` once.", found=current,
                                 version=SCHEMA_VERSION)) from None


class _upgrade_lock:
    """PostgreSQL's session advisory lock: one upgrade at a time; a second process says it waits."""

    def __init__(self, db: peewee.Database, on_wait: Callable[[str], None] | None):
        self.db, self.on_wait = db, on_wait

    def __enter__(self) -> None:
        if self.db.execute_sql("SELECT pg_try_advisory_lock(%s)", (UPGRADE_LOCK,)).fetchone()[0]:
            return
        message = say("another mailbox-tui is upgrading this database: waiting for it to finish…")
        log.info(message)
        if self.on_wait is not None:
            self.on_wait(message)
        self.db.execute_sql(f"SET statement_timeout = {UPGRADE_WAIT_S * 1000}")
        try:
            self.db.execute_sql("SELECT pg_advisory_lock(%s)", (UPGRADE_LOCK,))
        except peewee.OperationalError:
            raise StoreError(say("Another mailbox-tui has been upgrading this database for over {seconds} s: "
                                 "nothing was changed. Try again when it is done.", seconds=UPGRADE_WAIT_S)) from None
        finally:
            self.db.execute_sql("SET statement_timeout = 0")

    def __exit__(self, *exc) -> None:
        self.db.execute_sql("SELECT pg_advisory_unlock(%s)", (UPGRADE_LOCK,))


def _migrate_steps(db: peewee.Database, current: int, backup_file: Path | None) -> Upgrade:
    sqlite = isinstance(db, peewee.SqliteDatabase)
    done = Upgrade(current)
    if current > 0 and sqlite and backup_file is not None:
        done.copy = back_up(db, backup_file, current)
    if sqlite:
        _foreign_keys(db, False)
    try:
        with db.atomic():  # all the steps or none
            before = {**holdings(db), "dangling references": _dangling(db)}
            for target in range(current + 1, SCHEMA_VERSION + 1):
                if schema_version(db) >= target:  # another process did this step while we waited for the lock
                    continue
                MIGRATIONS[target](db)
                Meta.insert(key="schema_version", value=str(target)).on_conflict(
                    conflict_target=[Meta.key], update={Meta.value: str(target)}
                ).execute()
                log.info("database migrated to schema version %s", target)
            _refuse_losses(before, {**holdings(db), "dangling references": _dangling(db)}, current)
    finally:
        if sqlite:
            db.execute_sql("PRAGMA foreign_keys = 1")
    if done.note:
        log.info(done.note)
    return done
