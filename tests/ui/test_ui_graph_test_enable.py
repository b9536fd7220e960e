"""F6 on an Exchange Online mailbox (issue 23): Test & Enable through Microsoft Graph from the form, asking
first whether to send a test message (n, the focused choice, sends nothing)."""

from __future__ import annotations

import pytest
from mailtest.mail_builders import user_mailbox
from support.graph import graph_profile
from support.ui import settle, wait_for

from mailbox_tui.domain.options import TestStatus
from mailbox_tui.store import services
from mailbox_tui.store.database import Store
from mailbox_tui.ui.app import MailboxApp
from mailbox_tui.ui.dialogs.confirm import ConfirmDialog
from mailbox_tui.ui.screens.mailbox_form import MailboxFormScreen

S = TestStatus.SUCCESS


@pytest.fixture
def graph_org(sqlite_url, graph):
    store = Store(sqlite_url)
    profile = graph_profile(store, graph)
    box = user_mailbox(store, profile.id, "alice@example.com", name="Alice Online", allow_credentials=False, act=1)
    yield store, box
    store.close()


@pytest.mark.parametrize("answer, sent", [("n", 0), ("y", 1)])
async def test_f6_asks_before_sending_a_test_message(graph_org, graph, answer, sent):
    store, box = graph_org
    app = MailboxApp(store, acting="alice@example.com")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        form = app.screen
        assert isinstance(form, MailboxFormScreen) and form.base.id == box.id
        await pilot.press("f6")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmDialog)
        assert "send a test message from alice@example.com to itself" in app.screen.question
        await pilot.press(answer)
        await wait_for(lambda: form.test_run is None and services.get_mailbox(store, box.id).test_completed_on)
        await settle(pilot)
        results = str(form.query_one("#results").render())
        assert "Appointments, Contacts, and Tasks Status: Success" in results or "Success" in results
    d = services.get_mailbox(store, box.id)
    assert (d.incoming_status, d.outgoing_status, d.act_status) == (S, S, S)
    assert len(graph.server.sent) == sent
