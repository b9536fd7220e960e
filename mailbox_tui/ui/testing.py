"""Test & Enable from the app: a background run with live progress that can be cancelled."""

from __future__ import annotations

import threading
import time

from textual.widget import Widget

from ..mailtest.runner import CHANGED


class TestRun:
    """One run: which mailboxes, its cancel switch and the last progress. The App's
    `run_test_enable` thread worker runs it; progress and the end arrive at `owner` as messages."""

    __test__ = False

    def __init__(self, owner: Widget, mailbox_ids: list[int], send_test_message: bool = False) -> None:
        self.owner, self.mailbox_ids = owner, mailbox_ids
        self.send_test_message = send_test_message  # Exchange: one real message to each mailbox itself
        self.cancel = threading.Event()
        self.last = None
        self.started = time.monotonic()

    def start(self) -> None:
        self.owner.app.run_test_enable(self)

    def status(self) -> str:
        p = self.last
        if p is None:
            return f"Testing {len(self.mailbox_ids)} mailbox(es)… (x cancels)"
        verb = "Cancelling" if self.cancel.is_set() else "Testing"
        return f"{verb}: {p.done}/{p.total} · {p.successes} succeeded · {p.failures} failed (x cancels)"


def summary(report) -> str:
    text = f"Test & Enable: {report.successes} succeeded, {report.failures} failed"
    if report.not_run:
        text += f", {len(report.not_run)} not run"
        changed = [n.label for n in report.not_run if n.reason == CHANGED]
        if changed:  # nothing was recorded for them: say why, or the admin would expect results
            text += f" ({', '.join(changed[:3])}{' …' if len(changed) > 3 else ''}: {CHANGED})"
    if report.cancelled:
        text += " (cancelled)"
    if report.deadline_reached:
        text += " (deadline reached)"
    return text + f" in {report.elapsed:.1f} s."
