"""Rules that agree on screen (issue 25, "Contradictions on screen"), by keys in the real app:

- a profile switched to OAuth no longer shows "Credentials Specified by a User or Queue" as the
  outgoing method it follows (P7): the disabled field shows what a save stores;
- a new forward mailbox opens with messages only about what the admin must still fill in: no M10
  error the admin did not make.
"""

from __future__ import annotations

from support.ui import open_imap_profile, settle, tab_to
from textual.widgets import Select

from mailbox_tui.domain.options import AuthMethod, ServerType
from mailbox_tui.store import services
from mailbox_tui.store.models import EmailServerProfile


async def test_p7_the_outgoing_method_that_follows_incoming_shows_the_value_a_save_stores(app, ui_store):
    imap = ui_store.seeded["imap"]
    async with app.run_test(size=(80, 24)) as pilot:
        form = await open_imap_profile(pilot, imap)
        outgoing = form.query_one("#outgoing_auth_method", Select)
        assert outgoing.disabled and outgoing.value == AuthMethod.USER_OR_QUEUE_CREDENTIALS
        await tab_to(pilot, "auth_method")
        await pilot.press("enter", "end", "enter")  # the last choice for IMAP/SMTP: OAuth
        await settle(pilot)
        assert app.focused.value == AuthMethod.OAUTH
        assert outgoing.value == AuthMethod.OAUTH, "the follower still shows the old method"
        assert "P7" in str(form.query_one("#msg-outgoing_auth_method").render())
        await pilot.press("escape")  # leave without saving: the form asks
        await settle(pilot)
    stored = EmailServerProfile.get_by_id(imap.id)
    assert stored.outgoing_auth_method == AuthMethod.USER_OR_QUEUE_CREDENTIALS  # nothing was saved


async def test_a_new_forward_mailbox_asks_only_for_what_the_admin_must_fill_in(app, ui_store):
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("n")
        await settle(pilot)
        form = app.screen
        rules = sorted({(f.rule, f.field) for f in form.findings})
        assert "M10" not in {rule for rule, _ in rules}, rules
        # What is left is blank fields: a name, an address, and the credentials its profile uses.
        assert {field for _, field in rules} <= {"name", "email", "username", "password"}, rules
        assert form.query_one("#allow_credentials").value is True
        assert all(f.message and "required" in f.message.lower() for f in form.findings), form.findings


async def test_a_new_forward_mailbox_on_a_profile_that_does_not_use_its_credentials_asks_for_none(app, ui_store):
    exchange = ui_store.seeded["exchange"]
    assert exchange.server_type == ServerType.EXCHANGE_ONLINE_HYBRID and exchange.auth_method == AuthMethod.OAUTH
    org = services.org_settings(ui_store)
    services.update_org_settings(ui_store, org, services.OrgSettings(**{**org.__dict__,
                                                                       "default_profile_id": exchange.id}))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("n")
        await settle(pilot)
        form = app.screen
        assert form.query_one("#allow_credentials").value is False
        assert {f.field for f in form.findings} <= {"name", "email"}, form.findings
        assert all("required" in f.message for f in form.findings), form.findings
