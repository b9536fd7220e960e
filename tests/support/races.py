"""Races between real processes on PostgreSQL, forced rather than hoped for.

A test holds a lock (a save's open transaction, or a row locked by hand) and lets it go only once
PostgreSQL shows the other process waiting on it (pg_stat_activity): never a sleep that guesses."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import psycopg


def cli(*args) -> subprocess.Popen:
    """`mailbox-tui ARGS` in a process of its own, with this test's environment (its key)."""
    exe = Path(sys.executable).with_name("mailbox-tui")
    command = [str(exe)] if exe.exists() else [sys.executable, "-m", "mailbox_tui"]
    return subprocess.Popen([*command, *map(str, args)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=os.environ.copy(), stdin=subprocess.DEVNULL)


class Observer:
    """A plain connection of its own (a second Store in this process would take over the models)."""

    def __init__(self, url: str):
        self.con = psycopg.connect(url, autocommit=True)

    def waiting(self, known: set[int]) -> int:
        """How many other connections to this database (not `known`) wait on a lock."""
        rows = self.con.execute("SELECT pid, wait_event_type FROM pg_stat_activity WHERE datname = current_database() "
                                "AND pid <> pg_backend_pid()").fetchall()
        return sum(1 for pid, event in rows if pid not in known and event == "Lock")

    def waits(self, pid: int) -> bool:
        """Whether the connection `pid` waits on a lock now."""
        row = self.con.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchone()
        return row is not None and row[0] == "Lock"

    def row_locked(self, table: str, row_id: int) -> bool:
        try:
            with self.con.transaction():
                found = self.con.execute(f'SELECT id FROM "{table}" WHERE id = %s FOR UPDATE NOWAIT',
                                         (row_id,)).fetchall()
            return not found  # gone: the other took it and committed
        except psycopg.errors.LockNotAvailable:
            return True

    def close(self) -> None:
        self.con.close()


class RowHold:
    """A row locked (FOR UPDATE) on a connection of its own until `release()`."""

    def __init__(self, url: str, table: str, row_id: int):
        self.con = psycopg.connect(url)
        self.con.execute(f'SELECT id FROM "{table}" WHERE id = %s FOR UPDATE', (row_id,))

    def release(self) -> None:
        self.con.commit()
        self.con.close()


def until(predicate, timeout: float = 60.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)
