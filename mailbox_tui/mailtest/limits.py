"""Bounds on one probe: its whole duration and the bytes it reads, whatever the server does.

A socket timeout bounds each read, not a probe: a server that sends one byte a second never
trips it. So each probe gets a `Budget`: a deadline kept by one watchdog thread, which shuts
the probe's connection down when it passes (a blocked read then returns at once, in any
thread, TLS or not), and a count of the bytes read, which stops a server that floods.

A run (the CLI's --deadline, the app's cancel) ends every probe it started through an `Abort`.
"""

from __future__ import annotations

import heapq
import itertools
import socket
import threading
import time
from contextlib import contextmanager

READ_LIMIT = 256 * 1024  # bytes one probe reads at most: a real greeting, login and INBOX take a few KB


class ProbeLimit(Exception):
    """A bound was reached (see the budget's flags for which). Not an OSError: smtplib would report
    it as a disconnection."""


class Budget:
    """The time and bytes one probe may still use."""

    def __init__(self, timeout: float, read_limit: int = READ_LIMIT):
        self.timeout = timeout
        self.deadline = time.monotonic() + timeout
        self.read_limit = read_limit
        self.bytes_read = 0
        self.expired = False  # the whole probe took longer than its timeout
        self.aborted = ""  # why the run ended this probe (cancelled, deadline reached)
        self.overflowed = False  # the server sent more than read_limit bytes
        self._lock = threading.Lock()
        self._watched: list[socket.socket] = []  # duplicates of the probe's sockets, to shut down
        self._closed = False

    # -- time

    def left(self) -> float:
        """Seconds left, for a socket timeout (never 0: that would make the socket non-blocking)."""
        return max(0.001, self.deadline - time.monotonic())

    @property
    def stopped(self) -> bool:
        return self.expired or bool(self.aborted)

    def watch(self, sock: socket.socket) -> None:
        """Shut `sock` down when the budget runs out. A duplicate is kept: a TLS wrap replaces the
        Python object but not the connection, and shutting the duplicate down ends both."""
        with self._lock:
            if self._closed:
                return
            dup = sock.dup()
            self._watched.append(dup)
            if self.stopped:
                _shutdown(dup)

    def expire(self, aborted: str = "") -> None:
        with self._lock:
            if self._closed or self.stopped:
                return
            if aborted:
                self.aborted = aborted
            else:
                self.expired = True
            for dup in self._watched:
                _shutdown(dup)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            watched, self._watched = self._watched, []
        for dup in watched:
            dup.close()

    # -- bytes

    def allow(self, size: int | None) -> int:
        """How many bytes the next read may ask for: one more than is left, so an excess shows."""
        left = self.read_limit - self.bytes_read
        if left < 0:
            raise ProbeLimit(f"more than {self.read_limit} bytes")
        return left + 1 if size is None or size < 0 else min(size, left + 1)

    def count(self, size: int) -> None:
        self.bytes_read += size
        if self.bytes_read > self.read_limit:
            self.overflowed = True
            raise ProbeLimit(f"more than {self.read_limit} bytes")


def _shutdown(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # not connected yet, or already closed by the server


class BoundedReader:
    """The file a protocol library reads the server from, counting against a budget."""

    def __init__(self, raw, budget: Budget):
        self._raw = raw
        self._budget = budget

    def readline(self, size: int | None = -1) -> bytes:
        return self._checked(self._raw.readline(self._budget.allow(size)))

    def read(self, size: int | None = -1) -> bytes:
        return self._checked(self._raw.read(self._budget.allow(size)))

    def _checked(self, data: bytes) -> bytes:
        self._budget.count(len(data))
        if self._budget.stopped:  # cut short by the shutdown: half a line must not pass for a whole one
            raise ProbeLimit("stopped")
        return data

    def close(self) -> None:
        self._raw.close()

    def __getattr__(self, name):
        return getattr(self._raw, name)


class BoundedFile:
    """Mixin for imaplib/poplib/smtplib classes: every `self.file` they open reads through a budget."""

    budget: Budget

    @property
    def file(self):
        return self.__dict__.get("_bounded_file")

    @file.setter
    def file(self, raw) -> None:
        self.__dict__["_bounded_file"] = None if raw is None else BoundedReader(raw, self.budget)


# ---------------------------------------------------------------- the watchdog


class _Watchdog:
    """One daemon thread that expires budgets at their deadlines."""

    def __init__(self):
        self._heap: list[tuple[float, int, Budget]] = []
        self._order = itertools.count()
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None

    def add(self, budget: Budget) -> None:
        with self._wake:
            heapq.heappush(self._heap, (budget.deadline, next(self._order), budget))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="probe-watchdog", daemon=True)
                self._thread.start()
            self._wake.notify()

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._heap:
                    self._wake.wait()
                deadline, _, budget = self._heap[0]
                wait = deadline - time.monotonic()
                if wait > 0:
                    self._wake.wait(wait)
                    continue
                heapq.heappop(self._heap)
            if not budget._closed:
                budget.expire()


_WATCHDOG = _Watchdog()


# ---------------------------------------------------------------- ending a run's probes at once


class Abort:
    """Ends, at once, every probe started under it (`with abort.applies():`) that is still running."""

    def __init__(self):
        self._lock = threading.Lock()
        self._budgets: set[Budget] = set()
        self.reason = ""

    @contextmanager
    def applies(self):
        previous = getattr(_current, "abort", None)
        _current.abort = self
        try:
            yield self
        finally:
            _current.abort = previous

    def fire(self, reason: str) -> None:
        with self._lock:
            self.reason = reason
            budgets = list(self._budgets)
        for budget in budgets:
            budget.expire(aborted=reason)

    def _add(self, budget: Budget) -> None:
        with self._lock:
            self._budgets.add(budget)
            reason = self.reason
        if reason:
            budget.expire(aborted=reason)

    def _remove(self, budget: Budget) -> None:
        with self._lock:
            self._budgets.discard(budget)


_current = threading.local()


@contextmanager
def budget_for(timeout: float, read_limit: int = READ_LIMIT):
    """A budget for one probe in this thread: watched for its deadline and by the run's Abort."""
    budget = Budget(timeout, read_limit)
    abort: Abort | None = getattr(_current, "abort", None)
    _WATCHDOG.add(budget)
    if abort is not None:
        abort._add(budget)
    try:
        yield budget
    finally:
        if abort is not None:
            abort._remove(budget)
        budget.close()
