"""No markup error and no raw control character is possible from outside text (issue 21, item 1):
hypothesis sends random markup and control characters through the alert, certificate, history,
form and notification paths of one running app (Pilot), and each example must be shown as
written, on the lines it was given, with nothing in it a terminal would obey."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import threading
from datetime import datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.ui import seed_small_org, settle

from mailbox_tui.domain.findings import Finding, Severity
from mailbox_tui.domain.outside_text import visible
from mailbox_tui.store.database import Store
from mailbox_tui.ui.app import MailboxApp

PIECES = st.sampled_from(["[", "]", "[/]", "[b]", "[/b]", "[/b", "[link=https://evil.example]", "[on black]",
                          "[black on black]", "[@click=app.quit]", "\\[", "\\", "$x", "\x1b", "\x1b]52;c;Y3Vy\x07",
                          "\x1b[2J", "\x9b", "\x85", "\x00", "\x07", "\x08", "\r", "\n", "\t", "\x7f", "ü", "漢"])
OUTSIDE = st.lists(st.one_of(PIECES, st.text(max_size=8)), min_size=1, max_size=10).map("".join)
EXAMPLES = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                           HealthCheck.too_slow])


def raw_controls(text: str) -> list[str]:
    return [c for c in text if (ord(c) < 0x20 and c != "\n") or 0x7F <= ord(c) <= 0x9F]


def drawn(widget) -> str:
    return str(widget.render())


class LiveApp:
    """The real app under Pilot in a thread of its own, so a (synchronous) hypothesis test can drive
    it example after example: `run(fn)` runs `await fn(pilot)` on the app's loop."""

    def __init__(self, app: MailboxApp) -> None:
        self.app = app
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.failure: BaseException | None = None
        self.thread = threading.Thread(target=self._thread, daemon=True)

    def _thread(self) -> None:
        try:
            self.loop.run_until_complete(self._main())
        except BaseException as exc:  # noqa: BLE001 - the test reports it
            self.failure = exc
            self.ready.set()

    async def _main(self) -> None:
        self.stop = asyncio.Event()
        async with self.app.run_test(size=(100, 40), notifications=True) as pilot:
            self.pilot = pilot
            self.context = contextvars.copy_context()  # the active app, as a Pilot test has it
            await settle(pilot)
            self.ready.set()
            await self.stop.wait()

    def start(self) -> LiveApp:
        self.thread.start()
        assert self.ready.wait(60) and self.failure is None, self.failure
        return self

    def run(self, fn):
        done: concurrent.futures.Future = concurrent.futures.Future()

        def start() -> None:
            task = self.loop.create_task(fn(self.pilot), context=self.context.copy())
            task.add_done_callback(lambda t: done.set_exception(t.exception()) if t.exception()
                                   else done.set_result(t.result()))

        self.loop.call_soon_threadsafe(start)
        result = done.result(timeout=60)
        assert self.app.return_code is None, f"the app ended: {self.app.return_code} {self.failure}"
        return result

    def close(self) -> None:
        if self.thread.is_alive():
            self.loop.call_soon_threadsafe(self.stop.set)
            self.thread.join(30)


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    import os

    from cryptography.fernet import Fernet

    os.environ.setdefault("MAILBOX_TUI_KEY", Fernet.generate_key().decode())
    store = Store(f"sqlite:///{tmp_path_factory.mktemp('properties') / 'mailboxes.db'}")
    store.seeded = seed_small_org(store)
    live = LiveApp(MailboxApp(store, acting="alice@example.com")).start()
    yield live
    live.close()
    store.close()
    assert live.failure is None, live.failure


@EXAMPLES
@given(message=OUTSIDE, step=OUTSIDE)
def test_any_alert_is_shown_as_written_on_its_own_line(live, message, step):
    from mailbox_tui.store.models import MailboxAlert
    from mailbox_tui.store import services

    box = live.app.store.seeded["bob_box"]

    async def show(pilot):
        from mailbox_tui.ui.screens.mailbox_form import MailboxFormScreen

        MailboxAlert.delete().where(MailboxAlert.mailbox == box.id).execute()
        MailboxAlert.create(mailbox=box.id, level="error", step=step[:32], message=message,
                            created_on=datetime(2026, 1, 2, 3, 4))
        form = pilot.app.screen
        if not isinstance(form, MailboxFormScreen):
            pilot.app.screen.open_mailbox(box.id) if hasattr(pilot.app.screen, "open_mailbox") else None
            await settle(pilot)
            form = pilot.app.screen
        form.fill(services.get_mailbox(pilot.app.store, box.id))
        await pilot.pause()
        return drawn(form.query_one("#alerts"))

    text = live.run(show)
    assert raw_controls(text) == []
    assert text.splitlines()[1] == f"2026-01-02 03:04 error   {visible(step[:32]) + ': ' if step[:32] else ''}" \
                                   f"{visible(message)}"
    assert len(text.splitlines()) == 2


@EXAMPLES
@given(subject=OUTSIDE, issuer=OUTSIDE)
def test_any_certificate_subject_is_one_line_and_the_fingerprint_is_the_real_one(live, subject, issuer):
    from mailbox_tui.mailtest.probes import CertificateInfo, ProbeResult
    from mailbox_tui.ui.messages import CertificateFetched

    cert = CertificateInfo(subject, issuer, datetime(2026, 1, 1), datetime(2027, 1, 1), "ab" * 32)

    async def show(pilot):
        from mailbox_tui.ui.dialogs.connection import ConnectionDialog

        dialog = pilot.app.screen
        if not isinstance(dialog, ConnectionDialog):
            dialog = ConnectionDialog(pilot.app.store.seeded["imap"].id)
            await pilot.app.push_screen(dialog)
            await settle(pilot)
        dialog.post_message(CertificateFetched("incoming", ProbeResult("imap", "127.0.0.1", 993, 1, True, "TLS",
                                                                       "fetched", 0.1, certificate=cert)))
        await pilot.pause()
        await pilot.pause()
        return drawn(dialog.query_one("#connection-text"))

    lines = live.run(show).splitlines()
    assert raw_controls("\n".join(lines)) == []
    assert lines[1] == f"  subject {visible(subject)}" and lines[2] == f"  issuer  {visible(issuer)}"
    assert [line for line in lines if line.startswith("  SHA-256")] == ["  SHA-256 " + ":".join(["AB"] * 32)]
    assert len(lines) == 7


@EXAMPLES
@given(who=OUTSIDE, key=OUTSIDE, old=OUTSIDE, new=OUTSIDE)
def test_any_history_entry_is_shown_as_written_one_line_per_field(live, who, key, old, new):
    from mailbox_tui.store.history_read import Change, HistoryEntry
    from mailbox_tui.ui.screens.history import EntryScreen

    entry = HistoryEntry(7, datetime(2026, 1, 2, 3, 4, 5), who, who, key, "mailbox", key, 3, "update",
                         (Change("username", "User Name", old, new),), False, None, None, None)

    async def show(pilot):
        screen = EntryScreen(entry)
        await pilot.app.push_screen(screen)
        await pilot.pause()
        text = drawn(screen.query_one("#entry-text"))
        screen.dismiss(None)
        await pilot.pause()
        return text

    lines = live.run(show).splitlines()
    assert raw_controls("\n".join(lines)) == []
    assert len(lines) == 3 and lines[2] == f"  User Name: {visible(old) or '(none)'} → {visible(new) or '(none)'}"
    assert visible(who) in lines[0] and visible(key) in lines[1]


@EXAMPLES
@given(typed=OUTSIDE, message=OUTSIDE)
def test_any_field_value_message_and_notification_is_shown_as_written(live, typed, message):
    async def show(pilot):
        from mailbox_tui.ui.screens.mailbox_form import MailboxFormScreen
        from textual.widgets._toast import Toast

        while not hasattr(pilot.app.screen, "open_mailbox") and not isinstance(pilot.app.screen, MailboxFormScreen):
            pilot.app.pop_screen()
            await pilot.pause()
        if not isinstance(pilot.app.screen, MailboxFormScreen):
            pilot.app.screen.open_mailbox(pilot.app.store.seeded["bob_box"].id)
            await settle(pilot)
        form = pilot.app.screen
        box = form.query_one("#username")
        box.value = typed  # the form judges it: its messages may quote it
        await pilot.pause()
        field = next(f for f in form.query("Field") if f.field_name == "username")
        field.show([Finding("M20", "username", Severity.ERROR, message)], "")
        pilot.app.clear_notifications()
        pilot.app.notify(message, title=message)
        await pilot.pause()
        await pilot.pause()
        toasts = [drawn(t) for t in form.query(Toast)]
        return ("".join(s.text for s in box.render_line(0)), drawn(form.query_one("#msg-username")),
                drawn(form.query_one("#summary")), toasts)

    value, field_message, summary, toasts = live.run(show)
    for text in (value, field_message, summary, *toasts):
        assert raw_controls(text) == []
    assert field_message == f"✗ {visible(message)} (M20)"
    assert "\n" not in summary
    assert any(visible(message) in t for t in toasts)
