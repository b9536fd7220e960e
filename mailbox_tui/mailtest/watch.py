"""`mailbox-tui watch`: re-test what is due, round after round, until told to stop (issue 24 item 4).

Each round claims a batch of due mailboxes (store/watch_claims.py: retries whose time has come, enabled
mailboxes whose poll is due) and tests them with the TestRunner that `mailbox-tui test` uses, with its bounds
(connections at once, each server's Maximum Concurrent Connections, each probe's timeout) and trigger WATCH
(domain/lifecycle.py: a retry when one is scheduled, else a poll). The runner records each result only while
this watch still holds the mailbox, which releases it; what was not recorded is released after the round. A
round ends before its claims could expire (the runner's deadline), so no other watch takes over a mailbox
this one is still testing.

When nothing is due, a watch asks once per tick (one indexed query) and sleeps. `stop` (SIGTERM, SIGINT) ends
the probes running at once, records what finished, releases the rest, and returns. A database that can't be
reached is waited for (said once, and once when it is back); a mail server that vanished is a transient
failure like any other.

One thread: the one calling `run` reads and writes the database; probe threads only probe (see runner.py).
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from ..domain.lifecycle import WATCH
from ..domain.options import TestStatus
from ..i18n import N_, _, ngettext, said, shown
from ..store import watch_claims
from ..store.database import Store, is_unreachable
from ..store.models import utcnow
from .runner import DEFAULT_CONCURRENCY, RunReport, TestRunner

log = logging.getLogger(__name__)

TICK_S = 5.0  # how often an idle watch looks for due mailboxes
DEADLINE_SHARE = 0.8  # a round ends by this share of the claim timeout: claims are released before they expire


@dataclass(frozen=True)
class WatchSettings:
    concurrency: int = DEFAULT_CONCURRENCY
    per_host_limit: int | None = None
    batch: int | None = None  # mailboxes claimed per round; default 4 × concurrency
    tick: float = TICK_S
    claim_timeout: float = watch_claims.CLAIM_TIMEOUT_S

    @property
    def batch_size(self) -> int:
        return self.batch or 4 * self.concurrency


@dataclass
class WatchSummary:
    rounds: int = 0
    tested: int = 0
    succeeded: int = 0
    failed: int = 0
    not_recorded: int = 0
    released: int = 0  # claims left by an earlier watch, released at start (SQLite)
    left_claimed: int = 0  # claims it could not release at the end (the database was away): they expire


class Watcher:
    """Runs rounds until `stop` is set. `say` hears one line per result: text, or with `json_lines` one JSON object
    per line (control characters escaped, as JSON does); `note` hears what the watch says about itself."""

    def __init__(self, store: Store, host_id: str, *, stop: threading.Event | None = None,
                 settings: WatchSettings = WatchSettings(), clock: Callable[[], datetime] = utcnow,
                 say: Callable[[str], None] = print, note: Callable[[str], None] | None = None,
                 json_lines: bool = False):
        self.store, self.host_id, self.settings, self.clock, self.write_line = store, host_id, settings, clock, say
        self.note, self.json_lines = note or say, json_lines
        self.stop = stop or threading.Event()
        self.summary = WatchSummary()
        self._unreachable = False
        self._unreleased: set[int] = set()  # claimed, not recorded, and not released yet (the database was away)

    def run(self) -> WatchSummary:
        if not self.store.is_postgres:  # the watch lock is held: whoever claimed these is gone
            self.summary.released = self._database(lambda: watch_claims.release_all(self.store)) or 0
            if self.summary.released:
                n = self.summary.released
                one, many = ("released {n} mailbox an earlier watch left claimed",
                             "released {n} mailboxes an earlier watch left claimed")
                self.note(Line((one if n == 1 else many).format(n=n), ngettext(one, many, n).format(n=n)))
        while not self.stop.is_set():
            if not self.round():
                self.stop.wait(self.settings.tick)
        self._release()
        self.summary.left_claimed = len(self._unreleased)
        return self.summary

    def round(self) -> int:
        """Claim and test one batch; how many mailboxes it claimed (0: nothing due, or the database is away)."""
        now = self.clock()
        timeout = self.settings.claim_timeout
        self._release()
        if not self._database(lambda: watch_claims.any_due(now, timeout)):
            return 0
        claimed = self._database(lambda: watch_claims.claim(self.store, self.host_id, now,
                                                             self.settings.batch_size, timeout))
        if not claimed:
            return 0
        ids = [c.mailbox_id for c in claimed]
        retries = {c.mailbox_id for c in claimed if c.retry}
        try:
            report = TestRunner(self.store, concurrency=self.settings.concurrency,
                                per_host_limit=self.settings.per_host_limit, cancel=self.stop, trigger=WATCH,
                                clock=self.clock, held_by=self.host_id,
                                deadline=max(1.0, timeout * DEADLINE_SHARE)).run(ids)
        finally:
            self._unreleased.update(ids)
            self._release()
        self._tell(report, retries)
        return len(ids)

    # ---------------------------------------------------------------- helpers

    def _release(self) -> None:
        """Give back what this watch claimed and did not record (recording released the rest)."""
        if self._unreleased and self._database(lambda: watch_claims.release(self.store, self._unreleased,
                                                                            self.host_id)) is not None:
            self._unreleased.clear()

    def _database(self, step: Callable[[], object]):
        """`step`'s answer; None while the database can't be reached (said once, and once when it is back)."""
        try:
            answer = step()
        except Exception as error:
            if not is_unreachable(error):
                raise
            if not self._unreachable:
                self._unreachable = True
                self.note(Line(_UNREACHABLE, shown(_UNREACHABLE)))
                log.warning("watch: the database can't be reached: %s", error)
            return None
        if self._unreachable:
            self._unreachable = False
            self.note(Line(_BACK, shown(_BACK)))
        return answer

    def _tell(self, report: RunReport, retries: set[int]) -> None:
        s = self.summary
        s.rounds += 1
        stamp = f"{self.clock():%Y-%m-%d %H:%M:%S}"
        for o in sorted(report.outcomes, key=lambda o: o.mailbox_id):
            s.tested += 1
            s.failed += o.failed
            s.succeeded += o.tested and not o.failed
            status = TestStatus(TestStatus.FAILURE if o.failed else TestStatus.SUCCESS if o.tested
                                else TestStatus.NOT_RUN)
            result = status.label
            kind = N_("retry") if o.mailbox_id in retries else N_("poll")
            if self.json_lines:
                self.write_line(json.dumps({"at": stamp, "event": "result", "result": result, "trigger": kind,
                                     "mailbox": o.as_dict()}, ensure_ascii=False, default=str))
            else:
                self.write_line(Line(f"{stamp} {result} ({kind}) {o.name} <{o.email}>: {_directions(o, str)}",
                              f"{stamp} {status.shown_label} ({shown(kind)}) {o.name} <{o.email}>: "
                              f"{_directions(o, shown)}"))
        for n in report.not_run:
            s.not_recorded += 1
            if self.json_lines:
                self.write_line(json.dumps({"at": stamp, "event": "not_run", **n.as_dict()}, ensure_ascii=False))
            else:
                self.write_line(Line(f"{stamp} Not Run {n.label}: {n.reason}", f"{stamp} "
                              f"{TestStatus(TestStatus.NOT_RUN).shown_label} {n.label}: {shown(n.reason)}"))


_UNREACHABLE = N_("the database can't be reached: waiting for it (mailboxes claimed and not recorded are taken "
                  "over by other watches once their claims expire)")
_BACK = N_("the database is back")


class Line(str):
    """A line the watch says: English (the log's), and `shown`, the same in the admin's language."""

    shown: str

    def __new__(cls, english: str, in_language: str):
        line = super().__new__(cls, english)
        line.shown = in_language
        return line


def _directions(outcome, words: Callable[[str], str]) -> str:
    """incoming Success, outgoing Failure at authentication (permanent: credentials refused); `words`: str for
    English, i18n.shown for the admin's language."""
    parts = []
    for c in outcome.checks.values():
        status = words(TestStatus.label_of(c.status))
        if c.status == TestStatus.FAILURE and c.cause:
            if words is str:
                parts.append(f"{c.direction} {status} at {c.step} ({c.cause.kind}: {c.cause.label})")
            else:
                parts.append(_("{direction} {status} at {step} ({kind}: {cause})").format(
                    direction=words(c.direction), status=status, step=said(c.step), kind=words(c.cause.kind),
                    cause=words(c.cause.label)))
        else:
            parts.append(f"{words(c.direction)} {status}")
    return ", ".join(parts)
