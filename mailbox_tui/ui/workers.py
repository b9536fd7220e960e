"""Every thread worker of the app, and the one place their failures reach the admin.

One style (after Harlequin): `@work(thread=True, exit_on_error=False)` methods that post
Messages to the screen that asked and close their thread's database connection. A worker that
raises ends in ERROR, and `on_worker_state_changed` says so in one sentence; the details go to the
log. The workers are the App's own because Worker.StateChanged goes only to the node that ran the
worker (it does not bubble): so one handler sees every failure.

Groups decide what typing waits for (ui/terminal/input_queue.py): "rows" is foreground, so the key after a
filter acts on the rows it asked for; "test-enable" and "connection" run in the background."""

from __future__ import annotations

import logging
import threading
import time

from textual import work
from textual.worker import Worker, WorkerState, get_current_worker

from ..domain.findings import RuleViolation
from ..store.database import StoreError, describe_db_error, is_database_error, is_unreachable
from .. import i18n
from ..i18n import N_
from .db_trouble import GuardsDatabase, said_error
from .messages import CertificateFetched, ConnectionChecked, RowsLoaded, TestFinished, TestProgress

log = logging.getLogger(__name__)
REPEAT_QUIET_S = 15.0  # the same failure within this long is not said again (it is logged each time)

# What each worker does, as the admin would say it: "<what> failed: <why>".
WHAT = {
    "load_rows": N_("Loading the list"),
    "run_test_enable": N_("Test & Enable"),
    "test_connection": N_("Test Connection"),
    "fetch_certificate": N_("Fetching the server's certificate"),
    "undo_in_background": N_("Undo"),
    "import_file": N_("Import"),
}


def failure_reason(error: BaseException | None, url: str) -> str:
    """Why, in the admin's terms and language; never a password (store messages carry none, the URL is
    masked)."""
    if isinstance(error, (StoreError, RuleViolation)):
        return said_error(error)
    if error is not None and is_database_error(error):
        return i18n.said(describe_db_error(error, url))
    name = type(error).__name__ if error is not None else "error"
    return i18n._("unexpected {name}; the details are in the log (--log FILE).").format(name=name)


class Workers(GuardsDatabase):
    """Mixed into the App: its thread workers and their one failure handler."""

    # -- the workers (each runs in its own thread, with its own database connection)
    @work(thread=True, exclusive=True, group="database-probe", exit_on_error=False)
    def probe_database(self) -> None:
        """One cheap statement on a fresh connection; the app hears only of success."""
        try:
            self.store.db.execute_sql("SELECT 1")
        except Exception as error:  # noqa: BLE001 - still unreachable (or worse): the next probe tries again
            log.info("the database is still unreachable: %s", type(error).__name__)
            return
        finally:
            self.store.db.close()
        self.call_from_thread(self.database_reachable)  # (ui/db_trouble.py)

    def follow_changes(self, stop) -> None:
        """Other admins' changes as they commit (store/changes.py): the app hears of each burst, until
        `stop` is set (the app is leaving). A daemon thread of its own, not a Textual worker: it never
        completes, and what waits for the app's workers (the input queue, a test) must not wait for it."""
        from ..store.changes import watch

        def follow() -> None:
            try:
                for _ in watch(self.store, stop):
                    if stop.is_set():
                        return
                    self.call_from_thread(self.changes_seen)  # (ui/live_changes.py)
            except RuntimeError:  # the app stopped running meanwhile
                return
            except Exception:  # noqa: BLE001 - never the app's end: F5 still reads a list again
                log.exception("following the database's changes stopped")

        threading.Thread(target=follow, name="database-changes", daemon=True).start()

    @work(thread=True, exclusive=True, group="rows", exit_on_error=False)
    def load_rows(self, screen, view: str, text: str, sort: str, descending: bool) -> None:
        """A list's rows for a view, filter and sort: a filter keystroke never waits for SQL."""
        try:
            rows = screen.query_rows(view, text, sort, descending)
        finally:
            self.store.db.close()
        if not get_current_worker().is_cancelled:
            screen.post_message(RowsLoaded(*rows))

    @work(thread=True, group="test-enable", exit_on_error=False)
    def run_test_enable(self, run) -> None:
        """A Test & Enable run (ui/testing.py): progress and the end go to the screen that started it."""
        from ..mailtest.runner import TestRunner

        owner, report = run.owner, None
        try:
            runner = TestRunner(self.store, cancel=run.cancel, send_test_message=run.send_test_message,
                                on_progress=lambda progress: owner.post_message(TestProgress(progress)))
            report = runner.run(run.mailbox_ids)
        finally:
            self.store.db.close()
            owner.post_message(TestFinished(report))  # None: it failed, and the handler below says why

    @work(thread=True, exclusive=True, group="connection", exit_on_error=False)
    def test_connection(self, dialog, profile_id: int) -> None:
        """Test Connection of a profile, and the profile as it was tested (a pin applies to that version)."""
        from ..mailtest.connection import test_connection
        from ..store import services

        try:
            profile = services.get_profile(self.store, profile_id)
            checks = test_connection(self.store, profile_id)
        finally:
            self.store.db.close()
        dialog.post_message(ConnectionChecked(profile, checks))

    @work(thread=True, exclusive=True, group="connection", exit_on_error=False)
    def fetch_certificate(self, dialog, direction: str, endpoint) -> None:
        """The certificate a server presents, for the admin to compare before pinning it."""
        from ..mailtest.connection import certificate_of

        dialog.post_message(CertificateFetched(direction, certificate_of(endpoint)))

    @work(thread=True, exclusive=True, group="undo", exit_on_error=False)
    def undo_in_background(self, entry_ids: list[int], done: str) -> None:
        """An undo that may take seconds (a whole import): keys wait for it, the screen does not."""
        from ..store.undo import undo_many

        try:
            undo_many(self.store, entry_ids)
        finally:
            self.store.db.close()
        self.call_from_thread(self.undo_finished, done)

    @work(thread=True, exclusive=True, group="import", exit_on_error=False)
    def import_file(self, path) -> None:
        """An import (`mailbox-tui import`): every row judged, then all written in one transaction or
        nothing. Keys wait for it, as for an undo: what they do next may depend on its records."""
        from ..store.exchange import import_document, open_source
        from ..store.exchange.read import carries_passwords

        try:
            with open_source(path) as source:
                if not self.store.key_ok and carries_passwords(source):
                    raise StoreError(i18n.say("this file carries passwords, and {reason} Nothing was written.",
                                              reason=self.store.key_message))
                report = import_document(self.store, source, source=source.name)
        finally:
            self.store.db.close()
        self.call_from_thread(self.import_finished, path, report)  # (ui/commands.py)

    # -- the one failure handler
    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state != WorkerState.ERROR:
            return
        worker = event.worker
        what = WHAT.get(worker.name, N_("A background task"))
        if is_unreachable(worker.error) and worker.name == "load_rows":
            self.database_unreachable(worker.error)  # the title says so; the list is read again once it answers
            return
        log.error("%s failed (worker %s)", what, worker.name, exc_info=worker.error)
        message = i18n._("{what} failed: {reason}").format(what=i18n.shown(what),
                                                           reason=failure_reason(worker.error, self.store.url))
        said = getattr(self, "_last_failure", None)
        now = time.monotonic()
        if said is not None and said[0] == message and now - said[1] < REPEAT_QUIET_S:
            return  # the same failure again (a list read again after another admin's change): said once
        self._last_failure = (message, now)
        self.notify(message, severity="error", timeout=15, markup=False)
