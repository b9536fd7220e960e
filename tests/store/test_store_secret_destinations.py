"""P15 (issue 21, item 3): a stored secret never follows a changed destination silently.

A save that would send a stored password or client secret to a server or token endpoint it did not go
to before, without the same change entering it again, clears it, unless the caller keeps it (the form
asks the admin). Undo puts a secret back with the servers it was entered for. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from support.builders import forward_draft, imap_profile, user

from mailbox_tui.domain.options import AuthMethod
from mailbox_tui.domain.records import PasswordEdit
from mailbox_tui.domain.secret_destinations import host_of
from mailbox_tui.store import services
from mailbox_tui.store.history_read import record_history
from mailbox_tui.store.models import EmailServerProfile, Mailbox
from mailbox_tui.store.undo import undo

OWN = dict(auth_method=AuthMethod.PROFILE_CREDENTIALS, username="sync@example.com",
           password=PasswordEdit(new="profile-pass-1"))


def _stored(model, record_id: int, column: str = "password_enc") -> str | None:
    return getattr(model.get_by_id(record_id), column)


def _p15(findings) -> list[str]:
    return [f.message for f in findings if f.rule == "P15"]


# ---------------------------------------------------------------- a profile's own secrets


def test_a_new_incoming_host_clears_the_profiles_stored_password(store):
    profile = imap_profile(store, **OWN)
    moved = profile.copy(incoming_location="imap.attacker.example")
    [message] = _p15(services.validate_profile(store, moved))
    assert "imap.attacker.example" in message and "imap.example.com" in message
    saved = services.update_profile(store, profile, moved)
    assert not saved.password.stored and _stored(EmailServerProfile, profile.id) is None
    # what history says of it: "cleared", never the secret
    entry = record_history("profile", profile.id)[0]
    assert ("password", "cleared") in [(c.field, c.new) for c in entry.changes], entry.changes


def test_the_admin_may_keep_the_password_for_the_new_host(store):
    profile = imap_profile(store, **OWN)
    token = _stored(EmailServerProfile, profile.id)
    services.update_profile(store, profile, profile.copy(incoming_location="imap.new.example"), keep_secrets=True)
    assert _stored(EmailServerProfile, profile.id) == token


def test_entering_the_password_again_with_the_change_keeps_the_new_one(store):
    profile = imap_profile(store, **OWN)
    moved = profile.copy(incoming_location="imap.new.example", password=PasswordEdit(stored=True, new="again-2"))
    assert not _p15(services.validate_profile(store, moved))
    services.update_profile(store, profile, moved)
    username, password = services.profile_credentials(store, EmailServerProfile.get_by_id(profile.id), False)
    assert password == "again-2"


@pytest.mark.parametrize("change", [
    dict(incoming_port=143, incoming_tls=2),  # same host, another port: the same destination
    dict(incoming_location="IMAP.Example.COM."),  # the same host, spelled otherwise
    dict(timeout_seconds=90, name="Renamed"),
])
def test_a_change_that_sends_nothing_anywhere_new_keeps_the_password(store, change):
    profile = imap_profile(store, **OWN)
    token = _stored(EmailServerProfile, profile.id)
    changed = profile.copy(**change)
    assert not _p15(services.validate_profile(store, changed))
    services.update_profile(store, profile, changed)
    assert _stored(EmailServerProfile, profile.id) == token


def test_same_settings_for_outgoing_sends_the_password_to_the_outgoing_host_too(store):
    profile = imap_profile(store, **OWN, use_same_settings_for_outgoing=False,
                           outgoing_auth_method=AuthMethod.USER_OR_QUEUE_CREDENTIALS)
    assert _stored(EmailServerProfile, profile.id) is not None
    same = profile.copy(use_same_settings_for_outgoing=True)
    [message] = _p15(services.validate_profile(store, same))
    assert "smtp.example.com" in message
    services.update_profile(store, profile, same)
    assert _stored(EmailServerProfile, profile.id) is None


def _oauth_profile(store, **changes):
    return imap_profile(store, auth_method=AuthMethod.OAUTH, oauth_client_id="app-id",
                        oauth_client_secret=PasswordEdit(new="client-secret-value"),
                        oauth_tenant_id="contoso.onmicrosoft.com", **changes)


@pytest.mark.parametrize("change", [dict(oauth_tenant_id="fabrikam.onmicrosoft.com"),
                                    dict(oauth_token_endpoint="https://login.attacker.example/token")])
def test_a_new_tenant_or_token_endpoint_clears_the_client_secret(store, change):
    profile = _oauth_profile(store)
    moved = profile.copy(**change)
    [message] = _p15(services.validate_profile(store, moved))
    assert "client secret" in message and "token endpoint" in message
    services.update_profile(store, profile, moved)
    assert _stored(EmailServerProfile, profile.id, "oauth_client_secret_enc") is None


def test_a_new_mail_host_does_not_clear_the_client_secret_it_never_reaches(store):
    profile = _oauth_profile(store)
    token = _stored(EmailServerProfile, profile.id, "oauth_client_secret_enc")
    services.update_profile(store, profile, profile.copy(incoming_location="imap.new.example"))
    assert _stored(EmailServerProfile, profile.id, "oauth_client_secret_enc") == token


# ---------------------------------------------------------------- its mailboxes' passwords


def _mailboxes_with_passwords(store):
    profile = imap_profile(store)
    alice, _ = user(store)
    first = services.create_forward_mailbox(store, forward_draft(alice.id, profile.id))
    second = services.create_forward_mailbox(store, forward_draft(alice.id, profile.id, name="Second",
                                                                  email="second@example.com"))
    return profile, [first, second]


def test_a_profiles_new_host_clears_its_mailboxes_passwords_and_undo_puts_them_back(store):
    profile, boxes = _mailboxes_with_passwords(store)
    moved = profile.copy(outgoing_location="smtp.attacker.example")
    [message] = _p15(services.validate_profile(store, moved))
    assert "2 mailboxes" in message and "smtp.attacker.example" in message
    services.update_profile(store, profile, moved)
    assert [_stored(Mailbox, b.id) for b in boxes] == [None, None]
    undo(store, record_history("profile", profile.id)[0].id)
    assert [services.mailbox_password(store, b.id) for b in boxes] == ["s3cret-forward"] * 2
    assert EmailServerProfile.get_by_id(profile.id).outgoing_location == "smtp.example.com"


def test_kept_mailbox_passwords_stay_when_the_admin_says_so(store):
    profile, boxes = _mailboxes_with_passwords(store)
    tokens = [_stored(Mailbox, b.id) for b in boxes]
    services.update_profile(store, profile, profile.copy(incoming_location="imap.new.example"), keep_secrets=True)
    assert [_stored(Mailbox, b.id) for b in boxes] == tokens


def test_a_mailbox_moved_to_a_profile_with_other_servers_loses_its_password(store):
    profile, [box, _] = _mailboxes_with_passwords(store)
    other = imap_profile(store, name="Elsewhere", incoming_location="imap.elsewhere.example")
    twin = imap_profile(store, name="Twin")  # the same servers under another name
    moved = box.copy(profile_id=other.id)
    [message] = _p15(services.validate_mailbox(store, moved))
    assert "imap.elsewhere.example" in message
    assert not _p15(services.validate_mailbox(store, box.copy(profile_id=twin.id)))
    token = _stored(Mailbox, box.id)
    saved = services.update_mailbox(store, box, box.copy(profile_id=twin.id))
    assert _stored(Mailbox, box.id) == token
    saved = services.update_mailbox(store, saved, saved.copy(profile_id=other.id))
    assert _stored(Mailbox, box.id) is None and not saved.password.stored


def test_a_mailbox_moved_with_its_password_entered_again_keeps_the_new_one(store):
    profile, [box, _] = _mailboxes_with_passwords(store)
    other = imap_profile(store, name="Elsewhere", incoming_location="imap.elsewhere.example")
    moved = box.copy(profile_id=other.id, password=PasswordEdit(stored=True, new="typed-again"))
    assert not _p15(services.validate_mailbox(store, moved))
    services.update_mailbox(store, box, moved)
    assert services.mailbox_password(store, box.id) == "typed-again"
    kept = services.get_mailbox(store, box.id)
    services.update_mailbox(store, kept, kept.copy(profile_id=profile.id), keep_secrets=True)
    assert services.mailbox_password(store, box.id) == "typed-again"


# ---------------------------------------------------------------- the host a location names


hosts = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?){0,3}",
                      fullmatch=True)


@given(hosts, st.sampled_from(["", ".", " "]), st.booleans())
def test_a_host_is_the_same_however_it_is_spelled(host, tail, upper):
    spelled = (host.upper() if upper else host) + tail
    assert host_of(spelled) == host_of(host) == host
    assert host_of(f"https://{spelled.strip()}/EWS/Exchange.asmx") == host


@given(st.text(max_size=60))
def test_host_of_never_raises(text):
    assert isinstance(host_of(text), str)
