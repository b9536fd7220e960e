"""Changes other admins make, seen as they happen (issue 22, item 4): each engine's own mechanism.

- PostgreSQL: every write that records history also sends `NOTIFY mailbox_tui_changes` in its own
  transaction (history._index), so a listener hears of it when, and only if, it commits. A listener
  holds a connection of its own (`LISTEN`), and reconnects when the server restarts.
- SQLite: `PRAGMA data_version` on a connection of the listener's own changes when another
  connection commits; it is read every POLL_S seconds (one cheap statement, no table read).

`watch(store, stop)` yields once per burst of changes (at most one a second), until `stop` is set.
It never raises for a database that can't be reached: it waits and tries again.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Iterator

from .change_channel import CHANNEL
from .database import Store, sqlite_path

log = logging.getLogger(__name__)

POLL_S = 0.5  # SQLite: how often data_version is read
QUIET_S = 1.0  # a burst of changes is one: at most one per this many seconds
RETRY_S = 2.0  # a listener that lost its connection tries again this often


def watch(store: Store, stop: threading.Event) -> Iterator[None]:
    """Yields when another connection committed a change; ends when `stop` is set."""
    source = _postgres(store, stop) if store.is_postgres else _sqlite(store, stop)
    last = 0.0
    for _ in source:
        wait = QUIET_S - (time.monotonic() - last)
        if wait > 0 and stop.wait(wait):
            return
        last = time.monotonic()
        yield


def _sqlite(store: Store, stop: threading.Event) -> Iterator[None]:
    path = sqlite_path(store.url)
    if not path or path == ":memory:":
        return
    con, seen = None, None
    try:
        while not stop.is_set():
            try:
                if con is None:
                    con = sqlite3.connect(path, timeout=1, check_same_thread=False)
                version = con.execute("PRAGMA data_version").fetchone()[0]
            except sqlite3.Error as error:
                log.info("watching for changes: %s", error)
                con, seen = None, None
                stop.wait(RETRY_S)
                continue
            if seen is not None and version != seen:
                yield
            seen = version
            stop.wait(POLL_S)
    finally:
        if con is not None:
            con.close()


def _postgres(store: Store, stop: threading.Event) -> Iterator[None]:
    import psycopg

    db, lost = store.db, False
    while not stop.is_set():
        try:
            with psycopg.connect(dbname=db.database, autocommit=True, **db.connect_params) as con:
                con.execute(f"LISTEN {CHANNEL}")
                if lost:  # what others wrote while it was not listening
                    lost = False
                    yield
                while not stop.is_set():
                    if any(True for _ in con.notifies(timeout=0.5, stop_after=1)):
                        yield
        except psycopg.Error as error:  # the server restarted or went away: listen again when it is back
            log.info("watching for changes: %s", str(error).strip().splitlines()[0] if str(error) else error)
            lost = True
            stop.wait(RETRY_S)
