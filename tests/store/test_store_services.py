"""Store services on a real SQLite file and a real PostgreSQL database."""

from __future__ import annotations

import threading

import pytest
from support.builders import forward_draft, imap_profile, user

from mailbox_tui.domain.findings import RuleViolation
from mailbox_tui.domain.options import ApprovalStatus, MailboxKind, TestStatus
from mailbox_tui.domain.records import PasswordEdit, QueueDraft, UserDraft
from mailbox_tui.store import services
from mailbox_tui.store.database import ConflictError, StoreError
from mailbox_tui.store.models import AppUser, Mailbox, MailboxAlert, Queue


def test_u2_creating_a_user_creates_its_mailbox_with_org_defaults(store):
    profile = imap_profile(store)
    org = services.org_settings(store)
    services.update_org_settings(store, org, services.OrgSettings(**{
        **org.__dict__, "default_profile_id": profile.id, "default_incoming": 2, "default_outgoing": 2}))
    alice, mailbox = user(store)
    row = Mailbox.get_by_id(mailbox.id)
    assert row.kind == MailboxKind.USER
    assert (row.name, row.email, row.owner_id, row.regarding_user_id) == ("Alice Berg", "alice@example.com",
                                                                          alice.id, alice.id)
    assert (row.profile_id, row.incoming, row.outgoing, row.act) == (profile.id, 2, 2, 2)
    assert row.approval == ApprovalStatus.PENDING  # the organisation requires approval by default


def test_org_defaults_of_server_side_sync_need_a_default_profile(store):
    org = services.org_settings(store)
    with pytest.raises(RuleViolation) as err:
        services.update_org_settings(store, org, services.OrgSettings(**{**org.__dict__, "default_incoming": 2}))
    assert [f.rule for f in err.value.findings] == ["M11"]
    assert services.org_settings(store).default_incoming == 0


def test_u1_duplicate_user_email_refused_case_insensitively_and_nothing_written(store):
    user(store)
    with pytest.raises(RuleViolation) as err:
        services.create_user(store, UserDraft(full_name="Other", email="ALICE@example.com"))
    assert [f.rule for f in err.value.findings] == ["U1"]
    assert AppUser.select().count() == 1 and Mailbox.select().count() == 1


def test_forward_mailbox_created_with_encrypted_password(store):
    profile = imap_profile(store)
    alice, _ = user(store)
    created = services.create_forward_mailbox(store, forward_draft(alice.id, profile.id))
    row = Mailbox.get_by_id(created.id)
    assert row.kind == MailboxKind.FORWARD and row.regarding_user_id is None
    assert row.password_enc and "s3cret-forward" not in row.password_enc
    assert services.mailbox_password(store, created.id) == "s3cret-forward"
    assert created.password.stored and created.password.new is None


def test_forward_mailbox_with_rule_errors_writes_nothing(store):
    profile = imap_profile(store)
    alice, _ = user(store)
    bad = forward_draft(alice.id, profile.id, outgoing=2, email="")
    with pytest.raises(RuleViolation) as err:
        services.create_forward_mailbox(store, bad)
    assert {f.rule for f in err.value.findings} >= {"M3", "M13"}
    assert Mailbox.select().where(Mailbox.kind == MailboxKind.FORWARD).count() == 0


def test_m4_mailbox_email_edit_updates_the_user_in_the_same_transaction(store):
    alice, mailbox = user(store)
    services.update_mailbox(store, mailbox, mailbox.copy(email="Alice.Berg@Example.com"))
    assert AppUser.get_by_id(alice.id).email == "Alice.Berg@example.com"  # M3: domain lowercased
    assert Mailbox.get_by_id(mailbox.id).email_key == "alice.berg@example.com"


def test_m4_user_email_edit_updates_its_mailbox_and_m18_resets_approval(store):
    alice, mailbox = user(store)
    services.set_approval(store, [mailbox.id], True)
    services.update_user(store, alice, UserDraft("Alice Berg", "a.berg@example.com", 0, alice.id, alice.version))
    row = Mailbox.get_by_id(mailbox.id)
    assert row.email == "a.berg@example.com"
    assert row.approval == ApprovalStatus.PENDING


def test_m4_mailbox_email_taken_by_another_user_refused(store):
    user(store)
    _, bob_box = user(store, "Bob Dahl", "bob@example.com")
    with pytest.raises(RuleViolation) as err:
        services.update_mailbox(store, bob_box, bob_box.copy(email="alice@example.com"))
    assert err.value.findings[0].rule == "U1"
    assert Mailbox.get_by_id(bob_box.id).email == "bob@example.com"


def test_m17_changing_profile_or_credentials_returns_results_to_not_run(store):
    profile = imap_profile(store)
    alice, _ = user(store)
    box = services.create_forward_mailbox(store, forward_draft(alice.id, profile.id))
    services.record_test_results(store, box.id, {"incoming_status": TestStatus.SUCCESS}, [])
    tested = services.get_mailbox(store, box.id)
    assert tested.incoming_status == TestStatus.SUCCESS and tested.enabled_incoming
    services.update_mailbox(store, tested, tested.copy(password=PasswordEdit(stored=True, new="changed")))
    after = services.get_mailbox(store, box.id)
    assert after.incoming_status == TestStatus.NOT_RUN and not after.enabled_incoming
    assert services.mailbox_password(store, box.id) == "changed"


def test_m17_renaming_keeps_test_results(store):
    profile = imap_profile(store)
    alice, _ = user(store)
    box = services.create_forward_mailbox(store, forward_draft(alice.id, profile.id))
    services.record_test_results(store, box.id, {"incoming_status": TestStatus.SUCCESS}, [])
    tested = services.get_mailbox(store, box.id)
    services.update_mailbox(store, tested, tested.copy(name="Collector"))
    assert services.get_mailbox(store, box.id).incoming_status == TestStatus.SUCCESS


def test_m18_no_reset_when_org_does_not_require_approval(store):
    org = services.org_settings(store)
    services.update_org_settings(store, org, services.OrgSettings(**{**org.__dict__, "approval_required_users": False}))
    alice, mailbox = user(store)
    services.set_approval(store, [mailbox.id], True)
    box = services.get_mailbox(store, mailbox.id)
    services.update_mailbox(store, box, box.copy(email="alice2@example.com"))
    assert services.get_mailbox(store, mailbox.id).approval == ApprovalStatus.APPROVED


def test_a1_approve_and_reject_email(store):
    _, a = user(store)
    _, b = user(store, "Bob Dahl", "bob@example.com")
    assert services.set_approval(store, [a.id], True) == 1
    assert services.set_approval(store, [b.id], False) == 1
    assert Mailbox.get_by_id(a.id).approval == ApprovalStatus.APPROVED
    assert Mailbox.get_by_id(b.id).approval == ApprovalStatus.REJECTED


def test_q2_queue_mailbox_owned_by_queue_owner_and_follows_owner_change(store):
    alice, _ = user(store)
    bob, _ = user(store, "Bob Dahl", "bob@example.com")
    queue, box, _ = services.create_queue(store, QueueDraft(name="Support", email="support@example.com",
                                                            owner_id=alice.id))
    assert Mailbox.get_by_id(box.id).owner_id == alice.id
    services.update_queue(store, queue, QueueDraft("Support", "support@example.com", bob.id, 0, 0, 0, queue.id,
                                                   queue.version))
    assert Mailbox.get_by_id(box.id).owner_id == bob.id


def test_deleting_user_deletes_its_mailbox(store):
    alice, box = user(store)
    services.delete_user(store, alice.id)
    assert not Mailbox.select().where(Mailbox.id == box.id).exists()


def test_deleting_user_who_owns_a_queue_is_refused_with_the_fix(store):
    alice, _ = user(store)
    services.create_queue(store, QueueDraft(name="Support", owner_id=alice.id))
    with pytest.raises(StoreError, match="another owner"):
        services.delete_user(store, alice.id)
    assert AppUser.select().count() == 1


def test_deleting_queue_deletes_its_mailbox(store):
    alice, _ = user(store)
    queue, box, _ = services.create_queue(store, QueueDraft(name="Support", owner_id=alice.id))
    services.delete_queue(store, queue.id)
    assert not Queue.select().exists() and not Mailbox.select().where(Mailbox.id == box.id).exists()


def test_only_forward_mailboxes_can_be_deleted_directly(store):
    profile = imap_profile(store)
    alice, own = user(store)
    with pytest.raises(StoreError, match="user mailbox"):
        services.delete_mailbox(store, own.id)
    fwd = services.create_forward_mailbox(store, forward_draft(alice.id, profile.id))
    services.record_test_results(store, fwd.id, {"incoming_status": TestStatus.FAILURE},
                                 [services.AlertDraft("error", "connect", "refused")])
    services.delete_mailbox(store, fwd.id)
    assert not Mailbox.select().where(Mailbox.id == fwd.id).exists()
    assert MailboxAlert.select().count() == 0


def test_p11_deleting_profile_clears_it_from_mailboxes_and_says_how_many(store):
    profile = imap_profile(store)
    alice, _ = user(store)
    box = services.create_forward_mailbox(store, forward_draft(alice.id, profile.id))
    assert services.profile_usage(profile.id) == 1
    assert services.delete_profile(store, profile.id) == 1
    assert Mailbox.get_by_id(box.id).profile_id is None


def test_apply_default_settings_refuses_all_when_one_mailbox_would_break_a_rule(store):
    profile = imap_profile(store)
    _, box = user(store)  # ACT by server-side sync on an IMAP profile (M15)
    org = services.org_settings(store)
    services.update_org_settings(store, org, services.OrgSettings(**{**org.__dict__, "default_profile_id": profile.id,
                                                                     "default_incoming": 2, "default_act": 1}))
    findings = services.preview_default_settings(store, [box.id])[0].findings
    assert [f.rule for f in findings if f.is_error] == ["M15"]
    # Its missing credentials are a warning, as for every user's mailbox on every path (issue 22, item 5)
    assert [(f.rule, f.severity.value) for f in findings if not f.is_error] == [("M10", "warning")]
    with pytest.raises(RuleViolation):
        services.apply_default_settings(store, [box.id])
    assert Mailbox.get_by_id(box.id).profile_id is None


def test_apply_default_settings_previews_then_writes(store):
    profile = imap_profile(store)
    _, box = user(store)
    box = services.update_mailbox(store, box, box.copy(allow_credentials=True, username="alice",
                                                       password=PasswordEdit(new="pw")))
    org = services.org_settings(store)
    services.update_org_settings(store, org, services.OrgSettings(**{**org.__dict__, "default_profile_id": profile.id,
                                                                     "default_incoming": 2, "default_outgoing": 0}))
    preview = services.preview_default_settings(store, [box.id])
    assert [c[0] for c in preview[0].changes] == ["profile_id", "incoming"]
    assert Mailbox.get_by_id(box.id).profile_id is None  # a preview writes nothing
    assert services.apply_default_settings(store, [box.id]) == 1
    row = Mailbox.get_by_id(box.id)
    assert (row.profile_id, row.incoming, row.outgoing) == (profile.id, 2, 0)


def test_conflict_between_two_connections_names_the_changed_fields(store):
    profile = imap_profile(store)
    alice, _ = user(store)
    box = services.create_forward_mailbox(store, forward_draft(alice.id, profile.id))
    mine = services.get_mailbox(store, box.id)
    errors = []

    def other_admin():  # another thread: its own database connection
        try:
            theirs = services.get_mailbox(store, box.id)
            services.update_mailbox(store, theirs, theirs.copy(name="Renamed by Bob"))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            store.db.close()

    worker = threading.Thread(target=other_admin)
    worker.start()
    worker.join()
    assert not errors
    with pytest.raises(ConflictError) as err:
        services.update_mailbox(store, mine, mine.copy(username="mine@example.com"))
    assert err.value.changed == ["name"]
    row = Mailbox.get_by_id(box.id)
    assert (row.name, row.username) == ("Renamed by Bob", "forward@example.com")  # never a silent overwrite


def test_alerts_are_history(store):
    profile = imap_profile(store)
    alice, _ = user(store)
    box = services.create_forward_mailbox(store, forward_draft(alice.id, profile.id))
    services.record_test_results(store, box.id, {"incoming_status": TestStatus.FAILURE},
                                 [services.AlertDraft("error", "authentication", "login rejected")])
    services.record_test_results(store, box.id, {"incoming_status": TestStatus.SUCCESS}, [])
    assert MailboxAlert.select().where(MailboxAlert.mailbox == box.id).count() == 1
    assert services.get_mailbox(store, box.id).enabled_incoming


# ---------------------------------------------------------------- issue 12: hostile values on every save


PIN = "ab" * 32


def _snapshot():
    """Every stored row of the four record tables, to prove a refused save wrote nothing."""
    from mailbox_tui.store.models import EmailServerProfile

    return [list(model.select().order_by(model.id).tuples()) for model in (EmailServerProfile, AppUser, Queue, Mailbox)]


@pytest.mark.parametrize("pin", ["-", "x", "ab" * 31])
def test_p13_profile_save_with_a_pin_that_is_not_a_sha256_is_refused(store, pin):
    profile = imap_profile(store)
    before = _snapshot()
    with pytest.raises(RuleViolation) as err:
        services.update_profile(store, profile, profile.copy(incoming_cert_sha256=pin))
    assert [(f.rule, f.field) for f in err.value.findings] == [("P13", "incoming_cert_sha256")]
    with pytest.raises(RuleViolation):
        imap_profile(store, name="Other", outgoing_cert_sha256=pin)
    assert _snapshot() == before


def test_p13_pin_with_colons_and_spaces_is_stored_as_64_hex_digits(store):
    from mailbox_tui.store.models import EmailServerProfile

    typed = " ".join(":".join(PIN[i:i + 2].upper() for i in range(j, j + 16, 2)) for j in range(0, 64, 16))
    profile = imap_profile(store, incoming_cert_sha256=typed)
    assert EmailServerProfile.get_by_id(profile.id).incoming_cert_sha256 == PIN


def test_m20_mailbox_password_with_crlf_is_refused_on_save(store):
    profile = imap_profile(store)
    alice, _ = user(store)
    box = services.create_forward_mailbox(store, forward_draft(alice.id, profile.id))
    before = _snapshot()
    with pytest.raises(RuleViolation) as err:
        services.update_mailbox(store, box, box.copy(password=PasswordEdit(stored=True, new="x\r\nX1 DELETE INBOX")))
    assert [(f.rule, f.field) for f in err.value.findings] == [("M20", "password")]
    assert "DELETE" not in str(err.value)
    assert _snapshot() == before
    assert services.mailbox_password(store, box.id) == "s3cret-forward"


def test_m20_user_name_with_crlf_is_refused_for_mailbox_and_profile(store):
    from mailbox_tui.domain.options import AuthMethod

    profile = imap_profile(store)
    alice, _ = user(store)
    with pytest.raises(RuleViolation) as err:
        services.create_forward_mailbox(store, forward_draft(alice.id, profile.id, username="u\r\nDELE 1"))
    assert [f.rule for f in err.value.findings] == ["M20"]
    with pytest.raises(RuleViolation) as err:
        imap_profile(store, name="Shared", auth_method=AuthMethod.PROFILE_CREDENTIALS, username="u\nDELE 1",
                     password=PasswordEdit(new="pw"))
    assert [f.rule for f in err.value.findings] == ["M20"]
    assert Mailbox.select().where(Mailbox.kind == MailboxKind.FORWARD).count() == 0


def test_r1_setting_an_unknown_status_is_refused(store):
    _, box = user(store)
    with pytest.raises(RuleViolation) as err:
        services.set_mailbox_state(store, [box.id], 7)
    assert [f.rule for f in err.value.findings] == ["R1"]
    assert Mailbox.get_by_id(box.id).state == 0


@pytest.mark.parametrize("changes, rule", [({"state": 7}, "R1"), ({"state": -5}, "R1"), ({"approval": 42}, "A1")])
def test_r1_a1_mailbox_save_with_a_code_outside_its_option_set_is_refused(store, changes, rule):
    _, box = user(store)
    with pytest.raises(RuleViolation) as err:
        services.update_mailbox(store, box, box.copy(**changes))
    assert [f.rule for f in err.value.findings] == [rule]


def test_natural_keys_strasse_and_strasse_with_eszett_are_two_users(store):
    user(store, "Hans Strasse", "strasse@example.com")
    user(store, "Hans Straße", "straße@example.com")
    assert AppUser.select().count() == 2
    with pytest.raises(RuleViolation) as err:
        services.create_user(store, UserDraft(full_name="Other", email="STRASSE@example.com"))
    assert [f.rule for f in err.value.findings] == ["U1"]


def test_natural_keys_queue_names_in_nfc_and_nfd_are_one_queue(store):
    import unicodedata

    alice, _ = user(store)
    services.create_queue(store, QueueDraft(name=unicodedata.normalize("NFC", "Café"), owner_id=alice.id))
    with pytest.raises(RuleViolation) as err:
        services.create_queue(store, QueueDraft(name=unicodedata.normalize("NFD", "CAFÉ"), owner_id=alice.id))
    assert [(f.rule, f.field) for f in err.value.findings] == [("Q1", "name")]
    assert Queue.select().count() == 1


def test_natural_keys_profile_names_in_nfc_and_nfd_are_one_profile(store):
    import unicodedata

    imap_profile(store, name=unicodedata.normalize("NFC", "Zürich IMAP"))
    with pytest.raises(RuleViolation) as err:
        imap_profile(store, name=unicodedata.normalize("NFD", "Zürich IMAP"))
    assert [(f.rule, f.field) for f in err.value.findings] == [("P1", "name")]


def test_names_with_a_bidi_override_are_refused(store):
    alice, _ = user(store)
    with pytest.raises(RuleViolation) as err:
        services.create_queue(store, QueueDraft(name="Support\u202e", owner_id=alice.id))
    assert [f.rule for f in err.value.findings] == ["Q1"]
    with pytest.raises(RuleViolation):
        services.create_user(store, UserDraft(full_name="Bob\u200b", email="bob@example.com"))


def test_profile_credentials_and_pin_of_1_mb_are_refused_with_rule_findings(store):
    from mailbox_tui.domain.options import AuthMethod

    big = "a" * (1024 * 1024)
    with pytest.raises(RuleViolation) as err:
        imap_profile(store, name="Shared", auth_method=AuthMethod.PROFILE_CREDENTIALS, username=big,
                     password=PasswordEdit(new=big), incoming_cert_sha256=big)
    assert sorted((f.rule, f.field) for f in err.value.findings) == [
        ("P13", "incoming_cert_sha256"), ("P6", "password"), ("P6", "username")]
    assert len(str(err.value)) < 1000
