"""Test & Enable from the app: a background run with live progress that can be cancelled."""

from __future__ import annotations

import threading
import time

from textual.widget import Widget

from ..i18n import _, ngettext, number, shown
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
            n = len(self.mailbox_ids)
            return ngettext("Testing {n} mailbox… (x cancels)", "Testing {n} mailboxes… (x cancels)", n).format(
                n=number(n))
        text = (_("Cancelling: {done}/{total} · {succeeded} succeeded · {failed} failed (x cancels)")
                if self.cancel.is_set() else
                _("Testing: {done}/{total} · {succeeded} succeeded · {failed} failed (x cancels)"))
        return text.format(done=number(p.done), total=number(p.total), succeeded=number(p.successes),
                           failed=number(p.failures))


def summary(report) -> str:
    text = _("Test & Enable: {succeeded} succeeded, {failed} failed").format(
        succeeded=number(report.successes), failed=number(report.failures))
    if report.not_run:
        text += _(", {n} not run").format(n=number(len(report.not_run)))
        changed = [n.label for n in report.not_run if n.reason == CHANGED]
        if changed:  # nothing was recorded for them: say why, or the admin would expect results
            text += f" ({', '.join(changed[:3])}{' …' if len(changed) > 3 else ''}: {shown(CHANGED)})"
    if report.cancelled:
        text += " " + _("(cancelled)")
    if report.deadline_reached:
        text += " " + _("(deadline reached)")
    seconds = f"{report.elapsed:.1f}"
    return text + " " + _("in {seconds} s.").format(seconds=seconds)
