"""Opening a database from a URL, the schema version and its migrations, and the Store."""

from __future__ import annotations

import logging
import os
import re
import shutil
import sqlite3
import sys
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import unquote, urlsplit

import peewee

from ..i18n import say, say_n
from .crypto import TEAM_HINT, KeyChoice, KeyRing, choose_keys
from .errors import ConflictError, KeyMismatchError, StoreError  # (the store's errors, imported from here too)
from .migrations import SCHEMA_VERSION, Upgrade, migrate, schema_version
from .models import Meta, database

log = logging.getLogger(__name__)

DB_ENV = "MAILBOX_TUI_DB"
SQLITE_HEADER = b"SQLite format 3\x00"
BUSY_MS = 5000  # how long any statement waits for SQLite's lock
WRITE_WAIT_S = 5.0  # how long a write transaction waits for another writer (the CLI waits longer, and says so)


def is_database_error(exc: BaseException) -> bool:
    """peewee's errors, and the drivers' own (bulk inserts use their cursors directly). psycopg is
    only looked for once something imported it: importing it costs 80 ms at every start."""
    if isinstance(exc, (peewee.DatabaseError, sqlite3.Error)):
        return True
    psycopg = sys.modules.get("psycopg")
    return psycopg is not None and isinstance(exc, psycopg.Error)


def _is_integrity_error(exc: BaseException) -> bool:
    if isinstance(exc, (peewee.IntegrityError, sqlite3.IntegrityError)):
        return True
    psycopg = sys.modules.get("psycopg")
    return psycopg is not None and isinstance(exc, psycopg.IntegrityError)


def default_db_path() -> Path:
    from platformdirs import user_data_dir

    return Path(user_data_dir("mailbox-tui")) / "mailboxes.db"


def default_url() -> str:
    return os.environ.get(DB_ENV) or f"sqlite:///{default_db_path()}"


def describe_url(url: str) -> str:
    """The URL without any password, for headers and messages."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return re.sub(r"(://[^/@:]*:)[^@/]*@", r"\1***@", url)
    if password:
        netloc = parts.netloc.replace(f":{password}@", ":***@")
        return parts._replace(netloc=netloc).geturl()
    return url


def sqlite_path(url: str) -> str | None:
    """The file an SQLite URL names (':memory:' included); None for other databases."""
    try:
        scheme = urlsplit(url).scheme.lower()
    except ValueError:
        return None
    if scheme == "":
        return url
    if scheme != "sqlite":
        return None
    if not url.lower().startswith("sqlite:///"):
        raise StoreError(say("An SQLite URL names a file: sqlite:///relative/path.db or sqlite:////absolute/path.db"))
    return unquote(url[len("sqlite:///"):])


class _SqliteDatabase(peewee.SqliteDatabase):
    """SQLite whose write transactions say when they wait for another writer."""

    on_wait: Callable[[], None] | None = None
    write_wait_s: float = WRITE_WAIT_S

    def _busy(self, ms: int) -> None:
        self.cursor().execute(f"PRAGMA busy_timeout = {int(ms)}")

    def begin(self, lock_type=None):
        lock_type = lock_type or self._lock_type
        if (lock_type or "").upper() not in ("IMMEDIATE", "EXCLUSIVE"):
            return super().begin(lock_type)
        try:
            self._busy(50)
            try:
                return super().begin(lock_type)
            except peewee.OperationalError as exc:
                if "locked" not in str(exc) and "busy" not in str(exc):
                    raise
            if self.on_wait is not None:
                self.on_wait()
            log.info("waiting for another writer")
            self._busy(self.write_wait_s * 1000)
            return super().begin(lock_type)
        finally:
            self._busy(BUSY_MS)


def make_database(url: str, make_folder: bool = False, must_exist: bool = False) -> peewee.Database:
    """A database for a URL. An SQLite file is checked first: nothing is created where the admin did
    not ask (only the default file's folder is made), and a file that is not SQLite is left alone."""
    path = sqlite_path(url)
    if path is not None:
        if not path:
            raise StoreError(say("An SQLite URL names a file: sqlite:///path/to/mailboxes.db"))
        if path != ":memory:":
            _check_sqlite_file(Path(path), make_folder, must_exist)
        return _SqliteDatabase(
            path,
            pragmas={"journal_mode": "wal", "foreign_keys": 1, "busy_timeout": BUSY_MS, "synchronous": "normal"},
            lock_type="IMMEDIATE",
        )
    try:
        scheme = urlsplit(url).scheme
        if scheme.lower() in ("postgres", "postgresql", "psycopg3"):
            from playhouse.db_url import parse  # (imports every playhouse backend: only here)

            params = parse(url.replace(f"{scheme}://", "postgresql://", 1))
            # A network that drops packets would hold a connection attempt for the kernel's ~2 minutes:
            # 10 s, then "can't be reached" (the URL's own ?connect_timeout= wins).
            params.setdefault("connect_timeout", CONNECT_TIMEOUT_S)
            return _postgres_class()(params.pop("database"), **params)
    except ValueError as exc:
        raise StoreError(say("Can't read the database URL {url}: {error}.", url=repr(describe_url(url)),
                             error=str(exc))) from None
    raise StoreError(say("Unsupported database URL {url}: use sqlite:///PATH or postgresql://…",
                         url=repr(describe_url(url))))


# What psycopg says when the server went away (restarted, or the network broke) under a connection.
CONNECTION_LOST = ("terminating connection", "the connection is closed", "server closed the connection",
                   "connection is lost", "consuming input failed", "could not receive data", "ssl syscall",
                   "connection already closed", "server conn crashed")
UNREACHABLE = CONNECTION_LOST + ("connection refused", "could not connect", "connection failed",
                                 "the database system is starting up", "the database system is shutting down",
                                 "no route to host", "timeout expired")


CONNECT_TIMEOUT_S = 10
SAVE_LOCK_WAIT_S = 1.0  # a form's save waits this long for a record another transaction holds (PostgreSQL)


def is_unreachable(exc: BaseException) -> bool:
    """Whether `exc` says the database server can't be reached now (restarting, or the network is down):
    a driver's error, or the StoreError a write made of one."""
    if not (is_database_error(exc) or isinstance(exc, (StoreError, peewee.InterfaceError))):
        return False
    low = str(exc).lower()
    return "can't be reached" in low or any(fragment in low for fragment in UNREACHABLE)


def _postgres_class():
    """PostgreSQL whose statements outside a transaction reconnect once when the server went away (a
    restart): a read after a restart just works. Inside a transaction nothing is retried silently: the
    write fails with a sentence, changing nothing, and the next one starts on a new connection."""
    from playhouse.shortcuts import ReconnectMixin

    class _PostgresqlDatabase(ReconnectMixin, peewee.PostgresqlDatabase):
        reconnect_errors = tuple((error, fragment) for error in (peewee.OperationalError, peewee.InterfaceError)
                                 for fragment in CONNECTION_LOST)

    return _PostgresqlDatabase


def _check_sqlite_file(file: Path, make_folder: bool, must_exist: bool) -> None:
    try:
        str(file).encode("utf-8")
    except UnicodeEncodeError:
        shown = str(file).encode("utf-8", "backslashreplace").decode("ascii", "backslashreplace")
        raise StoreError(say("The database file name {name} is not valid UTF-8, which SQLite needs: "
                             "rename it or give another --db.", name=shown)) from None
    if file.is_dir():
        raise StoreError(say("{path} is a folder, not a database file: give the path of a .db file.", path=str(file)))
    if not file.exists():
        if must_exist:
            raise StoreError(say("There is no database at {path}: nothing was created. `mailbox-tui import FILE` "
                                 "or `mailbox-tui demo` creates one; or check --db.", path=str(file)))
        if make_folder:
            file.parent.mkdir(parents=True, exist_ok=True)
        elif not file.parent.is_dir():
            raise StoreError(say("There is no folder {folder} for the database file {name}: create it first, or "
                                 "check --db (sqlite:////absolute/path.db has four slashes).",
                                 folder=str(file.parent.resolve()), name=file.name))
        return
    try:
        with file.open("rb") as fh:
            head = fh.read(len(SQLITE_HEADER))
    except OSError as exc:
        raise StoreError(say("Can't read the database file {path}: {error}.", path=str(file),
                             error=exc.strerror)) from None
    if head and head != SQLITE_HEADER:
        raise StoreError(say("{path} is not an SQLite database (it is some other file): nothing was changed. "
                             "Give --db a mailbox-tui database, or a new file name.", path=str(file)))
    if head:
        _refuse_foreign_tables(_sqlite_tables(file), f"sqlite:///{file}")


def _sqlite_tables(file: Path) -> list[str]:
    """The tables of an SQLite file, read without changing it (opening it normally would switch it to
    WAL mode first). Empty when it can't be read this way: the normal opening then says why."""
    try:
        con = sqlite3.connect(f"{file.absolute().as_uri()}?mode=ro", uri=True, timeout=1)
    except sqlite3.Error:
        return []
    try:
        return [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")]
    except sqlite3.Error:
        return []
    finally:
        con.close()


def describe_db_error(exc: BaseException, url: str) -> str:
    """What went wrong with the database, in the admin's terms."""
    text = str(exc).strip()
    low = text.lower()
    where = describe_url(url)
    if "readonly" in low or "read-only" in low:
        return say("The database {where} is read-only (its file, folder or file system can't be written): "
                   "nothing was written.", where=where)
    if "disk is full" in low or "no space" in low or ("disk i/o error" in low and _nearly_full(url)):
        return say("The disk holding the database {where} is full: nothing was written. Free some space and try "
                   "again.", where=where)
    if any(fragment in low for fragment in UNREACHABLE):
        return say("The database server {where} can't be reached (it may be restarting, or the network is down): "
                   "this was not done, and nothing was saved. Try again in a moment.", where=where)
    if "lock timeout" in low:  # PostgreSQL: a save's lock_timeout (Store.transaction) ran out
        return say("Another admin's long operation (an undo or an import) holds this record until it finishes: "
                   "nothing was saved. Try again in a moment.")
    if "locked" in low or "busy" in low:
        return say("Another program is writing to the database {where} (for example an import) and did not "
                   "finish in time: nothing was written. Try again when it is done.", where=where)
    if "malformed" in low or "not a database" in low:
        return say("The database {where} is damaged or is not a database ({error}): nothing was changed.",
                   where=where, error=text)
    if "unable to open database file" in low:
        return say("Can't open the database {where}: SQLite can't open the file, or create its -wal and -shm "
                   "files beside it (is the folder or the file system read-only?).", where=where)
    return say("Database {where}: {error}", where=where, error=text)


def _nearly_full(url: str) -> bool:
    """SQLite reports a full disk as an I/O error when it cannot even grow its -shm file."""
    try:
        path = sqlite_path(url)
        return path not in (None, "", ":memory:") and shutil.disk_usage(Path(path).parent).free < (1 << 20)
    except (OSError, StoreError):
        return False


def _original_error(exc: BaseException) -> BaseException:
    """SQLite rolls a transaction back by itself on some errors (a full disk, for one); the ROLLBACK
    that follows then fails with "cannot rollback", hiding the real cause. Find that cause."""
    seen = exc
    while seen.__context__ is not None and any(
            s in str(seen) for s in ("cannot rollback", "no such savepoint", "no transaction is active")):
        seen = seen.__context__
    return seen


def _refuse_foreign(db: peewee.Database, url: str) -> None:
    _refuse_foreign_tables(db.get_tables(), url)


def _refuse_foreign_tables(tables: list[str], url: str) -> None:
    """A database that holds other tables and not ours is someone else's: never add ours to it."""
    tables = [t for t in tables if not t.startswith("sqlite_")]
    if tables and Meta._meta.table_name not in tables:
        shown = ", ".join(tables[:5]) + (", …" if len(tables) > 5 else "")
        raise StoreError(say_n("{url} is not a mailbox-tui database: it already holds {n} other table "
                               "({tables}). Nothing was changed; give --db a new file or a mailbox-tui database.",
                               "{url} is not a mailbox-tui database: it already holds {n} other tables "
                               "({tables}). Nothing was changed; give --db a new file or a mailbox-tui database.",
                               len(tables), url=describe_url(url), tables=shown))


class Store:
    """One open database and the key that protects its secrets.

    `create=False` (for commands that only read) refuses a missing SQLite file instead of creating one.
    `on_wait` is called when a write has to wait for another writer, `on_upgrade_wait` with a sentence when
    opening has to wait for another process's upgrade of the schema."""

    def __init__(self, url: str | None = None, keyring: KeyRing | None = None, key_path: Path | None = None,
                 *, create: bool = True, on_wait: Callable[[], None] | None = None,
                 write_wait_s: float = WRITE_WAIT_S, on_upgrade_wait: Callable[[str], None] | None = None):
        explicit = url is not None or bool(os.environ.get(DB_ENV))
        self.url = url or default_url()
        self.key_notes: list[str] = []
        self.upgrade = Upgrade(SCHEMA_VERSION)  # what opening did to the schema
        self.actor = ""  # the acting admin's email: who the change history says made a change
        self._guarded_txn = None
        self.db = make_database(self.url, make_folder=not explicit, must_exist=not create)
        if isinstance(self.db, _SqliteDatabase):
            self.db.on_wait, self.db.write_wait_s = on_wait, write_wait_s
        database.initialize(self.db)
        try:
            self.db.connect(reuse_if_open=True)
            _refuse_foreign(self.db, self.url)
            file = sqlite_path(self.url)
            self.upgrade = migrate(self.db, Path(file) if file not in (None, "", ":memory:") else None,
                                         on_upgrade_wait)
            choice = self._choose_keys(keyring, key_path)
        except BaseException as exc:
            self.close()
            if is_database_error(exc):
                raise StoreError(describe_db_error(_original_error(exc), self.url)) from None
            raise
        self.keyring = choice.keyring
        self.key_ok = choice.ok
        self._key_problem = choice.problem
        self.key_notes = choice.notes
        if not self.key_ok:
            log.warning("the encryption key does not match this database: stored passwords can't be read")

    @property
    def upgrade_notes(self) -> list[str]:
        """A sentence for the admin when opening upgraded the schema, naming the copy kept of the old one."""
        return [self.upgrade.note] if self.upgrade.note else []

    @property
    def is_postgres(self) -> bool:
        return isinstance(self.db, peewee.PostgresqlDatabase)

    # -- the key
    def _read_key_check(self, lock: bool = False) -> str | None:
        """The key-check value. Reading takes no write lock; `lock` (in a write transaction, PostgreSQL)
        holds the row until commit, so a rotation cannot change the key under a writer."""
        query = Meta.select(Meta.value).where(Meta.key == "key_check")
        if lock and self.is_postgres:
            query = query.for_update("FOR SHARE")
        row = query.first()
        return row.value if row else None

    def _choose_keys(self, keyring: KeyRing | None, key_path: Path | None) -> KeyChoice:
        key_check = self._read_key_check()
        if keyring is not None:
            ok = key_check is None or keyring.matching_first(key_check)
            choice = KeyChoice(keyring, ok, "" if ok else say("The encryption key ({source}) does not match this "
                                                              "database. {advice}", source=keyring.source,
                                                              advice=TEAM_HINT))
        else:
            choice = choose_keys(key_path, key_check)
        if key_check is None:
            with self.transaction():  # first open: write the key check (a racing first open may win)
                Meta.insert(key="key_check", value=choice.keyring.key_check()).on_conflict_ignore().execute()
            key_check = self._read_key_check()
            choice.ok = key_check is not None and choice.keyring.matching_first(key_check)
            if not choice.ok:
                choice.problem = say("The encryption key ({source}) does not match this database. {advice}",
                                     source=choice.keyring.source, advice=TEAM_HINT)
        choice.keyring.before_encrypt = self._before_encrypt
        return choice

    def _before_encrypt(self) -> None:
        """Every secret is encrypted through here: refuse a key that does not read the database.

        Checked once per transaction, against the key-check value as it is now, so a key rotated by
        another process since this session opened is noticed: if the key file now holds the new key,
        it is loaded and used; otherwise the write is refused."""
        txn = self.db._state.transactions[0] if self.db.transaction_depth() else None
        if txn is not None and txn is self._guarded_txn:
            return
        key_check = self._read_key_check(lock=True)
        if key_check is None or not self.keyring.matches(key_check):
            self._reload_key(key_check)
        if txn is not None:
            self._guarded_txn = txn

    def _reload_key(self, key_check: str | None) -> None:
        if key_check is not None and self.keyring.source != "environment":
            # The key file may hold the right key by now: after a rotation by another mailbox-tui, or
            # because the admin copied the team's key into place.
            try:
                choice = choose_keys(Path(self.keyring.source), key_check)
            except Exception as exc:  # a key file problem: the write is refused below
                log.warning("could not reload the key: %s", exc)
                choice = None
            if choice is not None and choice.ok:
                self.keyring.replace_keys(choice.keyring.keys)
                self.key_ok, self._key_problem = True, ""
                log.info("the key file now holds the database's key (rotated by another mailbox-tui?): using it")
                return
        if self.key_ok:
            where = "$MAILBOX_TUI_KEY" if self.keyring.source == "environment" else self.keyring.source
            raise KeyMismatchError(say(
                "The encryption key of this database was changed (mailbox-tui rotate-key) since this session "
                "started, and {where} does not hold the new key: nothing was saved. Restart mailbox-tui with "
                "the new key.", where=where))
        raise KeyMismatchError(say("{reason} Nothing was saved: a password stored with this key could not be read "
                                   "by anyone using the database's key.", reason=self._key_problem))

    @property
    def key_message(self) -> str:
        if self.key_ok:
            return ""
        return say("{reason} Records still open; stored passwords can't be read and a new one can't be saved "
                   "until the right key is used.", reason=self._key_problem)

    # -- transactions
    @contextmanager
    def transaction(self, lock_wait_s: float | None = None):
        """A write transaction (SQLite takes the write lock up front). Database failures become one
        StoreError that names the real cause (never "cannot rollback"). `lock_wait_s`: on PostgreSQL, how
        long an outermost transaction waits for a row another one holds (an undo or an import holds its
        records until it commits) before it gives up, saving nothing."""
        outermost = not self.db.transaction_depth()
        try:
            with self.db.atomic() as txn:
                if lock_wait_s is not None and outermost and self.is_postgres:
                    self.db.execute_sql(f"SET LOCAL lock_timeout = '{max(1, int(lock_wait_s * 1000))}ms'")
                yield txn
        except Exception as exc:
            if not is_database_error(exc):
                raise
            original = _original_error(exc)
            if _is_integrity_error(original):
                raise original
            if is_database_error(original):
                raise StoreError(describe_db_error(original, self.url)) from None
            raise original from None  # the body's own error (say a RuleViolation) whose rollback then failed

    @contextmanager
    def reading(self):
        """One consistent snapshot for a reader (export, check). Takes no write lock."""
        if self.db.transaction_depth():
            yield
            return
        if self.is_postgres:
            txn = self.db.transaction(isolation_level="REPEATABLE READ, READ ONLY")
        else:
            txn = self.db.transaction(lock_type="DEFERRED")
        try:
            with txn:
                yield
        except Exception as exc:
            if not is_database_error(exc):
                raise
            raise StoreError(describe_db_error(_original_error(exc), self.url)) from None

    def close(self) -> None:
        if not self.db.is_closed():
            self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
