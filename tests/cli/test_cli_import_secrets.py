"""P15 on imports (issue 21, item 3): a file that changes only a profile's server (or its tenant, or a
mailbox's profile) and leaves the secrets out no longer sends the stored secrets to the new host. The dry
run says so; the import clears them, unless --keep-secrets; a secret the file carries again is the one
kept. In-process for the store's side, and through the installed CLI on a real SQLite file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from support.builders import forward_draft, imap_profile, user

from mailbox_tui.domain.options import AuthMethod
from mailbox_tui.domain.records import PasswordEdit
from mailbox_tui.store import services
from mailbox_tui.store.database import Store
from mailbox_tui.store.exchange import import_document
from mailbox_tui.store.models import EmailServerProfile, Mailbox


def _seed(store):
    profile = imap_profile(store)
    own = imap_profile(store, name="Shared IMAP", auth_method=AuthMethod.PROFILE_CREDENTIALS,
                       username="sync@example.com", password=PasswordEdit(new="profile-pass-1"))
    alice, _ = user(store)
    box = services.create_forward_mailbox(store, forward_draft(alice.id, profile.id))
    return profile, own, box


def _profile_row(name: str, **columns) -> dict:
    return {"profiles": [{"name": name, **columns}]}


def _p15(report) -> list[str]:
    return [f.message for f in report.findings if f.rule == "P15"]


def test_a_dry_run_reports_every_secret_that_would_follow_a_new_host_and_writes_nothing(store):
    profile, own, box = _seed(store)
    doc = {"profiles": [{"name": "Corporate IMAP", "incomingserverlocation": "imap.attacker.example"},
                        {"name": "Shared IMAP", "outgoingserverlocation": "smtp.attacker.example"}]}
    report = import_document(store, doc, dry_run=True)
    said = _p15(report)
    assert len(said) == 2 and report.secrets_moved == 2 and not report.errors
    assert any("1 mailbox on this profile" in m and "imap.attacker.example" in m for m in said)
    assert any("stored password" in m and "smtp.attacker.example" in m for m in said)
    assert "--keep-secrets" in report.secrets_note
    assert EmailServerProfile.get_by_id(profile.id).incoming_location == "imap.example.com"
    assert services.mailbox_password(store, box.id) == "s3cret-forward"


def test_the_import_clears_them_and_keep_secrets_keeps_them(store):
    profile, own, box = _seed(store)
    import_document(store, _profile_row("Corporate IMAP", incomingserverlocation="imap.new.example"))
    assert EmailServerProfile.get_by_id(profile.id).incoming_location == "imap.new.example"
    assert Mailbox.get_by_id(box.id).password_enc is None
    report = import_document(store, _profile_row("Shared IMAP", incomingserverlocation="imap.new.example"),
                             keep_secrets=True)
    assert report.written and report.as_dict()["secrets"] == {"moved": 1, "kept": True}
    assert services.profile_credentials(store, EmailServerProfile.get_by_id(own.id), False)[1] == "profile-pass-1"


def test_a_secret_the_row_carries_again_is_the_one_stored(store):
    _, own, _ = _seed(store)
    report = import_document(store, _profile_row("Shared IMAP", incomingserverlocation="imap.new.example",
                                                 password="entered-again"))
    assert not _p15(report) and report.written
    assert services.profile_credentials(store, EmailServerProfile.get_by_id(own.id), False)[1] == "entered-again"


def test_a_mailbox_row_that_moves_it_to_other_servers_clears_its_password(store):
    profile, own, box = _seed(store)
    imap_profile(store, name="Elsewhere", incoming_location="imap.elsewhere.example")
    row = {"mailboxes": [{"name": "Forward collector", "isforwardmailbox": True,
                          "emailserverprofile": "Elsewhere"}]}
    dry = import_document(store, row, dry_run=True)
    [message] = _p15(dry)
    assert "imap.elsewhere.example" in message and not dry.errors
    assert services.mailbox_password(store, box.id) == "s3cret-forward"
    import_document(store, row)
    assert Mailbox.get_by_id(box.id).profile_id != profile.id and Mailbox.get_by_id(box.id).password_enc is None


def test_an_oauth_tenant_changed_by_a_file_clears_the_client_secret(store):
    oauth = imap_profile(store, name="Entra", auth_method=AuthMethod.OAUTH, oauth_client_id="app-id",
                         oauth_client_secret=PasswordEdit(new="client-secret-value"),
                         oauth_tenant_id="contoso.onmicrosoft.com")
    report = import_document(store, _profile_row("Entra", exchangeonlinetenantid="fabrikam.onmicrosoft.com"))
    assert report.written and len(_p15(report)) == 1
    assert EmailServerProfile.get_by_id(oauth.id).oauth_client_secret_enc is None


# ---------------------------------------------------------------- the command an admin runs


def cli(*args) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).with_name("mailbox-tui")
    command = [str(exe)] if exe.exists() else [sys.executable, "-m", "mailbox_tui"]
    return subprocess.run([*command, *map(str, args)], capture_output=True, text=True, env=os.environ.copy(),
                          timeout=120, stdin=subprocess.DEVNULL)


@pytest.fixture
def seeded_file(tmp_path):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    store = Store(url)
    try:
        _, _, box = _seed(store)
    finally:
        store.close()
    doc = tmp_path / "moved.json"
    doc.write_text(json.dumps(_profile_row("Corporate IMAP", incomingserverlocation="imap.attacker.example")))
    return url, doc, box.id


def _password_enc(url: str, box_id: int):
    store = Store(url)
    try:
        return Mailbox.get_by_id(box_id).password_enc
    finally:
        store.close()


def test_the_cli_dry_run_says_what_it_would_clear_and_keep_secrets_keeps_it(seeded_file):
    url, doc, box_id = seeded_file
    dry = cli("import", doc, "--db", url, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "P15" in dry.stdout and "imap.attacker.example" in dry.stdout and "--keep-secrets" in dry.stdout
    assert "s3cret" not in dry.stdout + dry.stderr
    kept = cli("import", doc, "--db", url, "--keep-secrets", "--json")
    assert kept.returncode == 0, kept.stderr
    assert json.loads(kept.stdout)["secrets"] == {"moved": 1, "kept": True}
    assert _password_enc(url, box_id) is not None


def test_the_cli_import_clears_by_default(seeded_file):
    url, doc, box_id = seeded_file
    done = cli("import", doc, "--db", url)
    assert done.returncode == 0, done.stderr
    assert "the import clears it." in done.stdout  # one row: its secret
    assert _password_enc(url, box_id) is None
