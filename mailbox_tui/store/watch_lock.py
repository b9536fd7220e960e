"""One `mailbox-tui watch` per SQLite database: an exclusive lock on a file beside it (issue 24 item 4).

`mailboxes.db.watch` is locked with flock(2) for as long as the watch runs, and says which process holds it
(its pid and host). The kernel drops the lock when the process ends, however it ends (a crash, `kill -9`), so
a stale file never blocks the next watch: it simply takes the lock and writes itself in.
"""

from __future__ import annotations

import fcntl
import os
import socket
from pathlib import Path

from ..i18n import say
from .errors import StoreError


class WatchRunning(StoreError):
    """Another watch holds this database's lock."""


def lock_path(database_file: str | Path) -> Path:
    path = Path(database_file)
    return path.with_name(f"{path.name}.watch")


class WatchLock:
    """The lock of one SQLite database's watch; `acquire()` or WatchRunning naming the holder."""

    def __init__(self, database_file: str | Path):
        self.database_file = Path(database_file)
        self.path = lock_path(database_file)
        self._fd: int | None = None

    def acquire(self) -> WatchLock:
        try:
            mode = self.database_file.stat().st_mode & 0o666
        except OSError:
            mode = 0o600
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, mode)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read(fd)
            os.close(fd)
            raise WatchRunning(say(
                "another mailbox-tui watch is running on this database ({holder}; it holds {path}): one "
                "watch runs per SQLite database. Stop that one first, or use PostgreSQL, where several share "
                "the work.", holder=holder, path=str(self.path))) from None
        except BaseException:
            os.close(fd)
            raise
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()} on host {socket.gethostname()}\n".encode(), 0)
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            os.ftruncate(self._fd, 0)  # nobody holds it now; the file stays (unlinking it would race a new holder)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> WatchLock:
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


def _read(fd: int) -> str:
    try:
        said = os.pread(fd, 200, 0).decode("utf-8", "replace").strip()
    except OSError:
        said = ""
    return said if said.startswith("pid ") else "a process that has not said which yet"
