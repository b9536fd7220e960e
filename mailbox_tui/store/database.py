"""Opening a database from a URL, the schema version and its migrations, and the Store."""

from __future__ import annotations

import logging
import os
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import unquote, urlsplit

import peewee
from playhouse.db_url import connect as connect_url

from .crypto import KeyRing, load_keyring
from .models import ALL_MODELS, Meta, OrganizationSettings, database

log = logging.getLogger(__name__)

DB_ENV = "MAILBOX_TUI_DB"
SCHEMA_VERSION = 2


class StoreError(Exception):
    """A problem an admin can act on; the message says what it is."""


class ConflictError(StoreError):
    """Someone else saved the record since it was read."""

    def __init__(self, record: str, changed: list[str]):
        self.record = record
        self.changed = changed
        what = ", ".join(changed) if changed else "its state"
        super().__init__(f"{record} was changed by someone else since you opened it ({what}).")


def default_db_path() -> Path:
    from platformdirs import user_data_dir

    return Path(user_data_dir("mailbox-tui")) / "mailboxes.db"


def default_url() -> str:
    return os.environ.get(DB_ENV) or f"sqlite:///{default_db_path()}"


def describe_url(url: str) -> str:
    """The URL without any password, for headers and messages."""
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return parts._replace(netloc=netloc).geturl()
    return url


def make_database(url: str) -> peewee.Database:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme in ("sqlite", ""):
        path = unquote(url[len("sqlite:///"):]) if scheme else url
        if not path:
            raise StoreError("An SQLite URL names a file: sqlite:///path/to/mailboxes.db")
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        return peewee.SqliteDatabase(
            path,
            pragmas={"journal_mode": "wal", "foreign_keys": 1, "busy_timeout": 5000, "synchronous": "normal"},
            lock_type="IMMEDIATE",
        )
    if scheme in ("postgres", "postgresql", "psycopg3"):
        return connect_url(url.replace(f"{parts.scheme}://", "postgresql://", 1))
    raise StoreError(f"Unsupported database URL {describe_url(url)!r}: use sqlite:///PATH or postgresql://…")


# Each migration takes the database from version N-1 to N. Never edit one that has shipped.
def _migrate_1(db: peewee.Database) -> None:
    db.create_tables(ALL_MODELS)
    OrganizationSettings.get_or_create(id=1)


def _migrate_2(db: peewee.Database) -> None:
    from .rekey import rekey_natural_keys  # natural keys: NFC, then str.lower()

    rekey_natural_keys(db)


MIGRATIONS = {1: _migrate_1, 2: _migrate_2}


def schema_version(db: peewee.Database) -> int:
    if not db.table_exists(Meta._meta.table_name):
        return 0
    row = Meta.get_or_none(Meta.key == "schema_version")
    return int(row.value) if row else 0


def migrate(db: peewee.Database) -> int:
    """Bring the schema up to SCHEMA_VERSION, one transaction per step. Returns the version."""
    current = schema_version(db)
    if current > SCHEMA_VERSION:
        raise StoreError(
            f"This database has schema version {current}, newer than this mailbox-tui knows "
            f"({SCHEMA_VERSION}): upgrade mailbox-tui."
        )
    for target in range(current + 1, SCHEMA_VERSION + 1):
        with db.atomic():
            MIGRATIONS[target](db)
            Meta.insert(key="schema_version", value=str(target)).on_conflict(
                conflict_target=[Meta.key], update={Meta.value: str(target)}
            ).execute()
        log.info("database migrated to schema version %s", target)
    return SCHEMA_VERSION


class Store:
    """One open database and the key that protects its secrets."""

    def __init__(self, url: str | None = None, keyring: KeyRing | None = None, key_path: Path | None = None):
        self.url = url or default_url()
        self.db = make_database(self.url)
        database.initialize(self.db)
        try:
            self.db.connect(reuse_if_open=True)
            migrate(self.db)
        except peewee.OperationalError as exc:
            self.db.close()
            raise StoreError(f"Can't open database {describe_url(self.url)}: {exc}") from None
        self.keyring = keyring or load_keyring(key_path)
        self.key_ok = self._check_key()

    @property
    def is_postgres(self) -> bool:
        return isinstance(self.db, peewee.PostgresqlDatabase)

    def _check_key(self) -> bool:
        with self.db.atomic():
            row = Meta.get_or_none(Meta.key == "key_check")
            if row is None:
                Meta.create(key="key_check", value=self.keyring.key_check())
                return True
        if self.keyring.matches(row.value):
            return True
        log.warning("the encryption key does not match this database: stored passwords can't be read")
        return False

    @property
    def key_message(self) -> str:
        if self.key_ok:
            return ""
        return (f"The encryption key ({self.keyring.source}) does not match this database: stored passwords "
                "can't be read. Records still open; re-enter passwords, or use the right key.")

    @contextmanager
    def transaction(self):
        with self.db.atomic() as txn:
            yield txn

    def close(self) -> None:
        if not self.db.is_closed():
            self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
