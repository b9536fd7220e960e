"""Test & Enable for many mailboxes: bounded concurrency, a deadline, cancellation, progress.

Threads: the thread that calls `TestRunner.run` plans (reads), writes results and reports
progress; it is the only one that touches the database. Worker threads only run probes, so
the same code is correct on SQLite and PostgreSQL, from the CLI or from a Textual thread worker.

Bounds: at most `concurrency` probes at once, and at most a per-host limit on any one host
(the profile's Maximum Concurrent Connections, capped by `per_host_limit` and `concurrency`).
The profile's timeout bounds each whole probe; `deadline` bounds the whole run. At the deadline
or on cancel, the probes still running are ended at once (limits.Abort), and the probe threads
are daemons: nothing keeps the process alive after the run is over.

A result is written only for the configuration it tested: the mailbox's and its profile's
versions as planned. A mailbox changed meanwhile gets nothing written and is reported as
not run, because the configuration changed during the test.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass, field, replace
from queue import SimpleQueue

import peewee

from ..i18n import N_
from ..domain.options import IncomingMethod, MailboxKind, TestStatus
from ..store import services
from ..store.database import is_unreachable
from ..domain.lifecycle import MANUAL
from ..store.models import Mailbox, utcnow
from .limits import Abort
from .plan import MailboxOutcome, MailboxTestPlan, Planner
from .oauth import TokenCache
from .probes import Endpoint, ProbeResult, probe

log = logging.getLogger(__name__)

DEFAULT_CONCURRENCY = 32
BATCH_SIZE = 50  # results written per transaction
FLUSH_SECONDS = 1.0  # and at least this often, so a slow run shows its results
# Why a mailbox was not run or not recorded: English in --json and logs, shown with i18n.shown().
CANCELLED, DEADLINE, DELETED = N_("cancelled"), N_("deadline reached"), N_("mailbox no longer exists")
DEADLINE_GRACE = 1.0  # seconds a probe's cut timeout runs past the run's deadline (see _bounded)
CHANGED = N_("the configuration changed during the test")
CLAIM_LOST = N_("another watch took it over (this one's claim had expired): its result was not recorded")
UNREACHABLE = N_("the database could not be reached: its result was not recorded")
UNREACHABLE_PLAN = N_("the database could not be reached: not tested")
RECORD_RETRY_S = 30.0  # how long a run's end waits for the database to take results it could not record


@dataclass(frozen=True)
class Progress:
    done: int
    total: int
    successes: int
    failures: int
    outcome: MailboxOutcome | None = None  # the mailbox that just finished; None for the first call


@dataclass(frozen=True)
class NotRun:
    """A mailbox the run wrote nothing for, and why."""

    mailbox_id: int
    reason: str  # CANCELLED, DEADLINE, DELETED, CHANGED, CLAIM_LOST or UNREACHABLE(_PLAN)
    name: str = ""
    email: str = ""

    @property
    def label(self) -> str:
        """The mailbox as an admin knows it: its name and address."""
        if not self.name and not self.email:
            return f"mailbox #{self.mailbox_id}"
        return f"{self.name} <{self.email}>" if self.email else self.name

    def as_dict(self) -> dict:
        return {"id": self.mailbox_id, "name": self.name, "email": self.email, "reason": self.reason}


@dataclass
class RunReport:
    total: int
    outcomes: list[MailboxOutcome] = field(default_factory=list)
    not_run: list[NotRun] = field(default_factory=list)
    cancelled: bool = False
    deadline_reached: bool = False
    elapsed: float = 0.0

    @property
    def failures(self) -> int:
        return sum(1 for o in self.outcomes if o.failed)

    @property
    def successes(self) -> int:
        return sum(1 for o in self.outcomes if o.tested and not o.failed)

    @property
    def untested(self) -> int:
        """Mailboxes reached whose every direction was Not Run (nothing to test, or a rule stopped it)."""
        return sum(1 for o in self.outcomes if not o.tested)

    @property
    def ok(self) -> bool:
        return not self.failures and not self.not_run and not self.untested

    def as_dict(self) -> dict:
        return {
            "total": self.total, "tested": len(self.outcomes), "succeeded": self.successes,
            "failed": self.failures, "not_run_count": self.untested + len(self.not_run),
            "cancelled": self.cancelled, "deadline_reached": self.deadline_reached,
            "elapsed": round(self.elapsed, 3),
            "not_run": [n.as_dict() for n in self.not_run],
            "mailboxes": [o.as_dict() for o in self.outcomes],
        }


@dataclass
class _Job:
    plan: MailboxTestPlan
    direction: str
    endpoint: Endpoint
    host: str


@dataclass
class _Open:
    plan: MailboxTestPlan
    results: dict[str, ProbeResult] = field(default_factory=dict)
    remaining: int = 0


class _ProbeThreads:
    """Up to `size` daemon threads running probes under the run's Abort.

    Daemons, unlike a ThreadPoolExecutor's threads (joined at exit): a probe stuck where no bound
    reaches it (a DNS lookup) never keeps the process alive once the run has returned."""

    def __init__(self, size: int, abort: Abort):
        self.size, self.abort = size, abort
        self._jobs: SimpleQueue = SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._idle = threading.Semaphore(0)  # one count per thread waiting for a job

    def submit(self, fn, *args) -> Future:
        future: Future = Future()
        self._jobs.put((future, fn, args))
        if not self._idle.acquire(blocking=False) and len(self._threads) < self.size:
            thread = threading.Thread(target=self._work, name=f"mailtest-{len(self._threads)}", daemon=True)
            self._threads.append(thread)
            thread.start()
        return future

    def _work(self) -> None:
        while (job := self._jobs.get()) is not None:
            future, fn, args = job
            if not future.set_running_or_notify_cancel():
                continue
            try:
                with self.abort.applies():
                    result = fn(*args)
            except BaseException as exc:  # noqa: BLE001 - handed to the run's thread
                future.set_exception(exc)
            else:
                future.set_result(result)
            self._idle.release()

    def shutdown(self) -> None:
        """Idle threads end now; a busy one ends when its probe does (the Abort ends it soon)."""
        for _ in self._threads:
            self._jobs.put(None)


class TestRunner:
    """Runs Test & Enable over mailboxes and writes what it finds. One run per instance."""

    __test__ = False  # not a pytest class

    def __init__(self, store, *, concurrency: int = DEFAULT_CONCURRENCY, per_host_limit: int | None = None,
                 deadline: float | None = None, cancel: threading.Event | None = None,
                 on_progress: Callable[[Progress], None] | None = None, batch_size: int = BATCH_SIZE,
                 probe_fn: Callable[..., ProbeResult] = probe, send_test_message: bool = False,
                 trigger: str = MANUAL, clock: Callable[[], object] = utcnow, held_by: str | None = None):
        self.store = store
        self.concurrency = max(1, int(concurrency))
        self.per_host_limit = per_host_limit
        self.deadline = deadline
        self.cancel = cancel or threading.Event()
        self.on_progress = on_progress
        self.batch_size = max(1, batch_size)
        self.probe_fn = probe_fn
        self.send_test_message = send_test_message  # Exchange: one real message to each mailbox itself
        self._host_limits: dict[str, int] = {}
        self.trigger = trigger  # MANUAL (an admin's Test & Enable) or RETRY (due retries): domain/lifecycle.py
        self.clock = clock  # naive UTC now: when a result happened, and the next attempt counts from it
        self.held_by = held_by  # a watch's host id: results are written only for the mailboxes it still holds

    # ---------------------------------------------------------------- the run

    def run(self, mailbox_ids: Iterable[int]) -> RunReport:
        ids = list(dict.fromkeys(int(i) for i in mailbox_ids))
        report = RunReport(total=len(ids))
        started = time.monotonic()
        stop_at = started + self.deadline if self.deadline else None
        opened_here = self.store.db.is_closed()  # a Textual worker thread has no connection yet
        abort = Abort()
        threads = _ProbeThreads(self.concurrency, abort)
        self._report, self._batch, self._last_flush = report, [], time.monotonic()
        self._unrecorded: list[MailboxOutcome] = []  # finished, not yet recorded (the database went away)
        open_plans: dict[int, _Open] = {}
        tokens = TokenCache()  # OAuth tokens for this run only (P14)
        try:
            first, later = self._phases(ids)
            queue: deque[int] = deque(first)
            waiting: deque[_Job] = deque()
            in_flight: dict[Future, _Job] = {}
            busy: Counter[str] = Counter()
            planner = Planner(self.store, tokens, self.send_test_message, self.clock)
            lookahead = max(4 * self.concurrency, 64)
            self._emit(None)
            while True:
                reason = self._stop_reason(stop_at)
                if reason:
                    break
                # Start what the bounds allow; plan more mailboxes while jobs are few.
                while len(in_flight) < self.concurrency and not self._stop_reason(stop_at):
                    job = self._take_startable(waiting, busy)
                    if job is not None:
                        future = threads.submit(self.probe_fn, self._bounded(job.endpoint, stop_at),
                                                job.plan.checks[job.direction].credentials)
                        in_flight[future] = job
                        busy[job.host] += 1
                        continue
                    if not queue or len(waiting) >= lookahead:
                        break
                    self._plan_next(planner, queue.popleft(), waiting, open_plans)
                if not queue and not waiting and not in_flight:
                    if later:  # forward-mailbox users, now that the forward mailboxes have results
                        self._flush()
                        planner = Planner(self.store, tokens, self.send_test_message, self.clock)
                        queue.extend(later)
                        later = []
                        continue
                    break
                if in_flight:
                    timeout = 0.2 if stop_at is None else max(0.0, min(0.2, stop_at - time.monotonic()))
                    done, _ = wait(in_flight, timeout=timeout, return_when=FIRST_COMPLETED)
                    for future in done:
                        job = in_flight.pop(future)
                        busy[job.host] -= 1
                        self._probe_done(job, future.result(), open_plans)
                if len(self._batch) >= self.batch_size or time.monotonic() - self._last_flush >= FLUSH_SECONDS:
                    self._flush()
            reason = self._stop_reason(stop_at)
            if reason:
                abort.fire(reason)  # the probes still running end now, not at their timeouts
                report.cancelled = reason == CANCELLED
                report.deadline_reached = reason == DEADLINE
                unfinished = list(dict.fromkeys(list(open_plans) + list(queue) + list(later)))
                report.not_run += self._not_run(unfinished, reason, open_plans)
                log.warning("Test & Enable stopped (%s): %s mailbox(es) not tested", reason, len(unfinished))
        finally:
            abort.fire(abort.reason or "stopped")
            try:
                self._flush()
                self._give_up()
            finally:
                threads.shutdown()
                report.elapsed = time.monotonic() - started
                if opened_here and not self.store.db.is_closed():
                    self.store.db.close()
        log.info("Test & Enable: %s mailbox(es), %s succeeded, %s failed, %s not run, in %.1f s",
                 report.total, report.successes, report.failures, len(report.not_run), report.elapsed)
        return report

    # ---------------------------------------------------------------- helpers

    def _stop_reason(self, stop_at: float | None) -> str:
        if self.cancel.is_set():
            return CANCELLED
        if stop_at is not None and time.monotonic() >= stop_at:
            return DEADLINE
        return ""

    @staticmethod
    def _bounded(endpoint: Endpoint, stop_at: float | None) -> Endpoint:
        """No probe outlives the deadline by much: its timeout is cut to the time left, plus a
        grace. The run's own stop ends it at the deadline and reports it Not Run ("deadline
        reached"); the grace keeps the probe's timeout from firing a moment earlier and calling
        the mailbox a Failure for a run that simply ran out of time."""
        if stop_at is None:
            return endpoint
        left = max(1.0, stop_at - time.monotonic()) + DEADLINE_GRACE
        return endpoint if endpoint.timeout <= left else replace(endpoint, timeout=left)

    def _phases(self, ids: list[int]) -> tuple[list[int], list[int]]:
        """Mailboxes whose incoming is Forward Mailbox wait for the run's forward mailboxes."""
        if not ids:
            return [], []
        forward, dependent = set(), set()
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            for row in (Mailbox.select(Mailbox.id, Mailbox.kind, Mailbox.incoming)
                        .where(Mailbox.id.in_(chunk)).tuples()):
                if row[1] == MailboxKind.FORWARD:
                    forward.add(row[0])
                elif row[2] == IncomingMethod.FORWARD_MAILBOX:
                    dependent.add(row[0])
        if not forward or not dependent:
            return ids, []
        return [i for i in ids if i not in dependent], [i for i in ids if i in dependent]

    def _host_limit(self, host: str, plan: MailboxTestPlan) -> int:
        limit = min(plan.connection_limit, self.per_host_limit or self.concurrency, self.concurrency)
        self._host_limits[host] = min(self._host_limits.get(host, limit), limit)
        return self._host_limits[host]

    def _take_startable(self, waiting: deque[_Job], busy: Counter) -> _Job | None:
        for index, job in enumerate(waiting):
            if busy[job.host] < self._host_limits[job.host]:
                del waiting[index]
                return job
        return None

    def _plan_next(self, planner: Planner, mailbox_id: int, waiting: deque[_Job],
                   open_plans: dict[int, _Open]) -> None:
        try:
            plan = planner.plan(mailbox_id)
        except services.NotFound:
            self._report.not_run.append(NotRun(mailbox_id, DELETED))
            return
        except Exception as error:  # the database went away: this one is not tested, the run goes on
            if not is_unreachable(error):
                raise
            log.warning("mailbox %s: not tested: the database can't be reached", mailbox_id)
            self._report.not_run.append(NotRun(mailbox_id, UNREACHABLE_PLAN))
            return
        probes = plan.probes
        if not probes:
            self._finish(plan.conclude({}, self.clock()))
            return
        open_plans[mailbox_id] = _Open(plan, remaining=len(probes))
        for check in probes:
            host = check.endpoint.host.strip().lower()
            self._host_limit(host, plan)
            waiting.append(_Job(plan, check.direction, check.endpoint, host))

    def _probe_done(self, job: _Job, result: ProbeResult, open_plans: dict[int, _Open]) -> None:
        entry = open_plans[job.plan.mailbox_id]
        entry.results[job.direction] = result
        entry.remaining -= 1
        if entry.remaining == 0:
            del open_plans[job.plan.mailbox_id]
            self._finish(entry.plan.conclude(entry.results, self.clock()))

    def _finish(self, outcome: MailboxOutcome) -> None:
        self._report.outcomes.append(outcome)
        self._batch.append(outcome)
        statuses = ", ".join(f"{name.removesuffix('_status')} {TestStatus.label_of(code)}"
                             for name, code in outcome.statuses.items())
        log.info("mailbox %s %r: %s", outcome.mailbox_id, outcome.name, statuses)
        for alert in outcome.alerts:
            log.warning("mailbox %s %r: %s at %s: %s", outcome.mailbox_id, outcome.name, alert.level,
                        alert.step, alert.message)
        self._emit(outcome)
        if len(self._batch) >= self.batch_size:
            self._flush()

    def _emit(self, outcome: MailboxOutcome | None) -> None:
        if self.on_progress is None:
            return
        r = self._report
        try:
            self.on_progress(Progress(len(r.outcomes), r.total, r.successes, r.failures, outcome))
        except Exception:
            log.exception("the progress callback failed")

    def _not_run(self, ids: list[int], reason: str, open_plans: dict[int, _Open]) -> list[NotRun]:
        """The mailboxes not tested, named as the admin knows them."""
        names = {i: (entry.plan.name, entry.plan.email) for i, entry in open_plans.items()}
        unnamed = [i for i in ids if i not in names]
        for start in range(0, len(unnamed), 500):
            rows = (Mailbox.select(Mailbox.id, Mailbox.name, Mailbox.email)
                    .where(Mailbox.id.in_(unnamed[start:start + 500])).tuples())
            names.update((row[0], (row[1], row[2])) for row in rows)
        return [NotRun(i, reason, *names.get(i, ("", ""))) for i in ids]

    def _flush(self) -> None:
        """Write finished results, one transaction per batch. A mailbox deleted meanwhile, or changed
        since it was planned, gets nothing written: it is reported as not run, with the reason. While
        the database can't be reached, results wait and go with the next batch (see _give_up)."""
        batch, self._batch = self._unrecorded + self._batch, []
        self._unrecorded = []
        self._last_flush = time.monotonic()
        if not batch:
            return
        refused: list[tuple[MailboxOutcome, str]] = []
        try:
            with self.store.transaction():
                for outcome in batch:
                    try:
                        written = services.record_test_results(
                            self.store, outcome.mailbox_id, outcome.statuses, outcome.alerts, outcome.completed_on,
                            tested_version=outcome.version, tested_profile=outcome.profile_version,
                            causes=outcome.causes, messages=outcome.messages, trigger=self.trigger,
                            held_by=self.held_by)
                    except (services.NotFound, peewee.IntegrityError):  # deleted; its savepoint rolled back
                        written = None
                    except services.ClaimLost:
                        refused.append((outcome, CLAIM_LOST))
                        continue
                    if not written:
                        refused.append((outcome, DELETED if written is None else CHANGED))
        except Exception as error:
            if not is_unreachable(error):
                raise
            log.warning("%s result(s) not recorded yet: the database can't be reached", len(batch))
            self._unrecorded = batch
            return
        for outcome, reason in refused:
            log.warning("mailbox %s %r: nothing recorded: %s", outcome.mailbox_id, outcome.name, reason)
            self._report.outcomes.remove(outcome)
            self._report.not_run.append(NotRun(outcome.mailbox_id, reason, outcome.name, outcome.email))

    def _give_up(self) -> None:
        """At the end of a run: results still not recorded are tried again for RECORD_RETRY_S (the server
        may be restarting), then named as not recorded, so the admin knows which to test again."""
        end = time.monotonic() + RECORD_RETRY_S
        while self._unrecorded and time.monotonic() < end and not self.cancel.is_set():
            time.sleep(1.0)
            self._flush()
        for outcome in self._unrecorded:
            self._report.outcomes.remove(outcome)
            self._report.not_run.append(NotRun(outcome.mailbox_id, UNREACHABLE, outcome.name, outcome.email))
        if self._unrecorded:
            log.error("%s result(s) not recorded: the database could not be reached", len(self._unrecorded))
        self._unrecorded = []


def run_tests(store, mailbox_ids: Iterable[int], **options) -> RunReport:
    """Test & Enable these mailboxes now (see TestRunner for the options)."""
    return TestRunner(store, **options).run(mailbox_ids)


run_tests.__test__ = False
