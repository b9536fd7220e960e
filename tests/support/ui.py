"""A small, fixed organisation for driving the app, a way to wait for it to settle, and the few ways tests
type into it and read it."""

from __future__ import annotations

from mailbox_tui.domain.options import AuthMethod, ServerType, TlsMode
from mailbox_tui.domain.records import OrgSettings, PasswordEdit, ProfileDraft, QueueDraft
from mailbox_tui.store import services

from support.builders import forward_draft, imap_profile, user


def seed_small_org(store) -> dict:
    """Two profiles, three users with mailboxes, a queue and a forward mailbox; no timestamps shown."""
    imap = imap_profile(store)
    pop = services.create_profile(store, ProfileDraft(
        name="Branch POP3", server_type=ServerType.POP3_SMTP, incoming_location="pop.example.com",
        outgoing_location="smtp.example.com", incoming_tls=TlsMode.IMPLICIT, outgoing_tls=TlsMode.STARTTLS,
        auth_method=AuthMethod.USER_OR_QUEUE_CREDENTIALS))
    exchange = services.create_profile(store, ProfileDraft(
        name="Exchange Online", server_type=ServerType.EXCHANGE_ONLINE_HYBRID,
        incoming_location="https://graph.microsoft.com",
        outgoing_location="https://graph.microsoft.com", auth_method=AuthMethod.OAUTH,
        oauth_client_id="3d9f1c2e-8a47-4b6d-b0e5-6f2a9c81d4e7", oauth_tenant_id="example.onmicrosoft.com",
        oauth_client_secret=PasswordEdit(new="seed-client-secret")))
    org = services.org_settings(store)
    services.update_org_settings(store, org, OrgSettings(**{**org.__dict__, "default_profile_id": imap.id}))
    alice, alice_box = user(store, "Alice Berg", "alice@example.com")
    bob, bob_box = user(store, "Bob Dahl", "bob@example.com")
    _, carol_box = user(store, "Carol Eriksen", "carol@example.com")
    queue, queue_box, _ = services.create_queue(store, QueueDraft(name="Support", email="support@example.com",
                                                                  owner_id=alice.id))
    forward = services.create_forward_mailbox(store, forward_draft(alice.id, imap.id))
    bob_box = services.update_mailbox(store, bob_box, bob_box.copy(
        allow_credentials=True, username="bob@example.com", password=PasswordEdit(new="bob-secret-pw")))
    return {"imap": imap, "pop": pop, "exchange": exchange, "alice": alice, "alice_box": alice_box, "bob": bob, "bob_box": bob_box,
            "carol_box": carol_box, "queue": queue, "queue_box": queue_box, "forward": forward}


async def settle(pilot) -> None:
    """Let workers finish and the screen catch up."""
    await pilot.pause()
    # Not the worker that follows other admins' changes: it runs until the app ends. (An empty list
    # would mean every worker to wait_for_complete.)
    running = [w for w in pilot.app.workers if w.group != "changes"]
    if running:
        await pilot.app.workers.wait_for_complete(running)
    await pilot.pause()


async def go(pilot, *keys: str) -> None:
    """Let the app settle, press these keys (a page's digit, say), and let it settle again."""
    await settle(pilot)
    await pilot.press(*keys)
    await settle(pilot)


async def type_text(pilot, text: str) -> None:
    """Type `text` into the focused field a key at a time, as an admin does."""
    for ch in text:
        await pilot.press("space" if ch == " " else ch)


async def tab_to(pilot, field_id: str, limit: int = 30) -> None:
    """Tab until the field with this id has the focus; fail, naming where the focus is, after `limit` tabs."""
    for _ in range(limit):
        if pilot.app.focused is not None and pilot.app.focused.id == field_id:
            return
        await pilot.press("tab")
    raise AssertionError(f"never reached {field_id}; at {pilot.app.focused}")


def field_message(app, field: str) -> str:
    """What the form says under a field ("" when nothing)."""
    return str(app.screen.query_one(f"#msg-{field}").render())


def notices(app, severity: str | None = None) -> list[str]:
    """What the app's notifications say (of one severity: "error"), oldest first. The one place tests read
    Textual's list of them (a private name)."""
    return [str(n.message) for n in app._notifications if severity is None or n.severity == severity]


async def wait_for(predicate, timeout: float = 30.0) -> None:
    """Until `predicate()` holds (a background worker's result), or fail after `timeout` seconds."""
    import asyncio

    async def loop():
        while not predicate():
            await asyncio.sleep(0.05)

    await asyncio.wait_for(loop(), timeout)


async def form_built_ahead(pilot, laid_out: bool = True):
    """The admin reads the Mailboxes list, typing nothing: the mailbox form is built ahead (and, with
    `laid_out`, laid out hidden) meanwhile. The form."""
    from mailbox_tui.ui.screens.mailbox_form import MailboxFormScreen

    app = pilot.app
    await settle(pilot)
    await wait_for(lambda: app.is_screen_installed(MailboxFormScreen.INSTALLED_AS), timeout=10)
    await settle(pilot)
    form = app.get_screen(MailboxFormScreen.INSTALLED_AS)
    if laid_out:
        await wait_for(lambda: form.laid_out_ahead, timeout=10)
        await settle(pilot)
    return form


async def open_test_connection(pilot):
    """From the Mailboxes page: the first profile's form, then F8; the Test Connection dialog, once its
    checks have run."""
    from mailbox_tui.ui.dialogs.connection import ConnectionDialog

    await go(pilot, "2", "enter")
    await pilot.press("f8")
    await pilot.pause()
    dialog = pilot.app.screen
    assert isinstance(dialog, ConnectionDialog)
    await wait_for(lambda: dialog.checks)
    await pilot.pause()
    return dialog


async def open_imap_profile(pilot, imap):
    """From the Mailboxes page: the seeded Corporate IMAP profile's form (Profiles page, second row)."""
    from mailbox_tui.ui.screens.profiles import ProfileFormScreen

    await go(pilot, "2")
    await pilot.press("down", "enter")  # Branch POP3, Corporate IMAP, Exchange Online
    await settle(pilot)
    form = pilot.app.screen
    assert isinstance(form, ProfileFormScreen) and form.base.id == imap.id
    return form


def screen_strips(app) -> list:
    """The screen as it is drawn (the app's current one, or the screen given), every layer (notifications,
    dialogs) included: each line a Strip of Segments. The one place tests read Textual's compositor (a
    private name) to see the screen."""
    screen = app.screen if hasattr(app, "screen_stack") else app
    return screen._compositor.render_strips()


def screen_lines(app) -> list[str]:
    """The screen's text, a line per row."""
    return ["".join(segment.text for segment in strip) for strip in screen_strips(app)]


def screen_text(app) -> str:
    """The screen's text, rows joined by line breaks."""
    return "\n".join(screen_lines(app))
