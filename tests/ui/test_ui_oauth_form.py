"""P14 on the profile form, by keys in the real app: choosing OAuth shows its fields (and only those),
a certificate pasted as a PEM keeps every line, and saving stores the secret encrypted, never shown."""

from __future__ import annotations

from support.oauth_profiles import client_certificate_pem
from support.ui import open_imap_profile, open_test_connection, settle, tab_to, type_text
from textual import events

from mailbox_tui.domain.oauth import OAUTH_FIELDS
from mailbox_tui.domain.options import AuthMethod
from mailbox_tui.store.models import EmailServerProfile


def visible(form, name: str) -> bool:
    return not form.query_one(f"#field-{name}").has_class("hidden")


async def test_p14_choosing_oauth_by_keys_shows_its_fields_and_a_pasted_certificate_is_saved(app, ui_store):
    imap = ui_store.seeded["imap"]
    pem = client_certificate_pem()
    async with app.run_test(size=(80, 24)) as pilot:
        form = await open_imap_profile(pilot, imap)
        assert not any(visible(form, n) for n in OAUTH_FIELDS)
        await tab_to(pilot, "auth_method")
        await pilot.press("enter", "end", "enter")  # the last choice for IMAP/SMTP: OAuth
        await settle(pilot)
        assert app.focused.value == AuthMethod.OAUTH
        assert visible(form, "oauth_client_id") and visible(form, "oauth_certificate")
        assert not visible(form, "oauth_service_account_key") and not visible(form, "password")
        assert "P14" in str(form.query_one("#msg-oauth_client_id").render())
        await tab_to(pilot, "oauth_client_id")
        await type_text(pilot, "3d9f1c2e-8a47-4b6d-b0e5-6f2a9c81d4e7")
        await tab_to(pilot, "oauth_certificate")
        app.focused.post_message(events.Paste(pem))  # a terminal's paste of the whole file
        await settle(pilot)
        assert app.focused.value == " ".join(line.strip() for line in pem.splitlines() if line.strip())  # once
        assert app.focused.password  # never shown
        await tab_to(pilot, "oauth_tenant_id")
        await type_text(pilot, "contoso.onmicrosoft.com")
        await pilot.press("ctrl+s")
        await settle(pilot)
        row = EmailServerProfile.get_by_id(imap.id)
        assert row.auth_method == AuthMethod.OAUTH and row.oauth_tenant_id == "contoso.onmicrosoft.com"
        assert ui_store.keyring.decrypt(row.oauth_certificate_enc) == pem
        assert "unsaved" not in str(form.query_one("#summary").render())
        assert form.query_one("#oauth_certificate").value == ""  # the stored secret is never put back
        assert "stored" in form.query_one("#oauth_certificate").placeholder


async def test_f8_on_an_oauth_profile_shows_the_tokens_expiry_scopes_and_identity_never_the_token(sqlite_url,
                                                                                                 oauth):
    from mailtest.mail_builders import server_profile, user_mailbox
    from support.oauth import APP_CLIENT_ID, APP_SECRET, TENANT_ID

    from mailbox_tui.domain.records import PasswordEdit
    from mailbox_tui.store.database import Store
    from mailbox_tui.ui.app import MailboxApp

    store = Store(sqlite_url)
    try:
        profile = server_profile(store, oauth.dovecot, oauth.smtp, auth_method=AuthMethod.OAUTH,
                                 oauth_client_id=APP_CLIENT_ID, oauth_tenant_id=TENANT_ID,
                                 oauth_client_secret=PasswordEdit(new=APP_SECRET),
                                 oauth_token_endpoint=oauth.token_url)
        user_mailbox(store, profile.id, allow_credentials=False)
        app = MailboxApp(store, acting="alice@example.com")
        async with app.run_test(size=(80, 24)) as pilot:
            dialog = await open_test_connection(pilot)
            text = str(dialog.query_one("#connection-text").render())
            assert text.count("✓") == 2 and "Signed in" in text
            assert "Token issued to the app" in text and "valid until" in text and "IMAP.AccessAsApp" in text
            assert "eyJ" not in text and APP_SECRET not in text
    finally:
        store.close()
