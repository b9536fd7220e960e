"""`mailbox-tui history` and `mailbox-tui undo`, each in its own process (issue 13)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

PASSWORD = "Zq7-unique-pass-word-4412"


def run(*args, check=True) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, "-m", "mailbox_tui", *map(str, args)], capture_output=True,
                            text=True, env=os.environ.copy(), timeout=120, stdin=subprocess.DEVNULL)
    assert "Traceback" not in result.stderr, result.stderr
    if check:
        assert result.returncode == 0, result.stderr
    return result


def history(db, *args) -> list[dict]:
    return json.loads(run("history", "--db", db, "--json", *args).stdout)


@pytest.fixture
def db(tmp_path):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    doc = tmp_path / "org.json"
    doc.write_text(json.dumps({
        "profiles": [{"name": "Corporate IMAP", "servertype": 4, "incomingserverlocation": "imap.example.com",
                      "outgoingserverlocation": "smtp.example.com"}],
        "users": [{"fullname": "Alice Berg", "internalemailaddress": "alice@example.com"},
                  {"fullname": "Bob Dahl", "internalemailaddress": "bob@example.com"}],
        "mailboxes": [{"name": "Collector", "emailaddress": "collector@example.com", "owner": "alice@example.com",
                       "emailserverprofile": "Corporate IMAP", "incomingemaildeliverymethod": 2,
                       "outgoingemaildeliverymethod": 0, "actdeliverymethod": 2,
                       "allowemailconnectortousecredentials": True, "username": "collector@example.com",
                       "password": PASSWORD}]}))
    run("--as", "alice@example.com", "import", doc, "--db", url)
    return url


def test_history_lists_every_entry_newest_first_with_who_and_what(db):
    entries = history(db)
    # The import's own entry first, right above its records (issue 22 item 6), then they, newest first
    assert entries[0]["kind"] == "import" and entries[0]["record"] == "org.json"
    assert {e["batch"] for e in entries[1:]} == {entries[0]["id"]}
    assert [e["id"] for e in entries[1:]] == sorted((e["id"] for e in entries[1:]), reverse=True)
    assert {e["admin"] for e in entries} == {"alice@example.com"}
    assert {(e["kind"], e["record"]) for e in entries[1:]} >= {("user", "alice@example.com"),
                                                               ("mailbox", "Collector"),
                                                               ("profile", "Corporate IMAP")}
    text = run("history", "--db", db).stdout
    assert "alice@example.com" in text and "import" in text


def test_history_filters_by_record_admin_and_date(db, tmp_path):
    assert [e["record"] for e in history(db, "--record", "user:ALICE@example.com")] == ["alice@example.com"]
    assert history(db, "--admin", "bob@example.com") == []
    assert len(history(db, "--since", "today")) == len(history(db))
    assert history(db, "--since", "2999-01-01") == []
    assert len(history(db, "--limit", "2")) == 2


@pytest.mark.parametrize("args", [["--record", "planet:earth"], ["--record", "user:"], ["--since", "soon"],
                                  ["--limit", "0"], ["--record", "user:\x1b[2J"]])
def test_history_bad_arguments_are_usage_errors(db, args):
    result = run("history", "--db", db, *args, check=False)
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    assert "\x1b" not in result.stderr


def test_no_password_in_the_history_clear_or_encrypted(db, tmp_path):
    import sqlite3

    text = run("history", "--db", db).stdout + run("history", "--db", db, "--json").stdout
    con = sqlite3.connect(db.removeprefix("sqlite:///"))
    tokens = [r[0] for r in con.execute("select password_enc from mailbox where password_enc is not null")]
    con.close()
    assert tokens and PASSWORD not in text and not any(t in text for t in tokens)
    assert "Password: set" in text


def test_undo_through_the_cli_and_its_exit_codes(db):
    collector = history(db, "--record", "mailbox:Collector")[0]
    out = run("--as", "bob@example.com", "undo", str(collector["id"]), "--db", db)
    assert f"Undid entry #{collector['id']}" in out.stdout
    newest = history(db, "--limit", "1")[0]
    assert (newest["action"], newest["undoes"], newest["admin"]) == ("undo", collector["id"], "bob@example.com")
    assert history(db, "--admin", "bob@example.com")[0]["id"] == newest["id"]
    again = run("undo", str(collector["id"]), "--db", db, check=False)
    assert again.returncode == 1 and "already undone" in again.stderr
    assert run("undo", "12345", "--db", db, check=False).returncode == 1
    assert run("undo", "twelve", "--db", db, check=False).returncode == 2


@pytest.mark.postgres
def test_two_admins_on_postgresql_each_see_their_own_name(pg_database_url, tmp_path):
    for admin, name in (("alice@example.com", "Alice's"), ("bob@example.com", "Bob's")):
        doc = tmp_path / f"{name}.json"
        doc.write_text(json.dumps({"profiles": [{"name": name, "servertype": 4,
                                                 "incomingserverlocation": "imap.example.com",
                                                 "outgoingserverlocation": "smtp.example.com"}]}))
        run("--as", admin, "import", doc, "--db", pg_database_url)
    mine = {e["record"]: e["admin"] for e in history(pg_database_url) if e["kind"] == "profile"}
    assert mine == {"Alice's": "alice@example.com", "Bob's": "bob@example.com"}
    assert [e["record"] for e in history(pg_database_url, "--admin", "bob@example.com")
            if e["kind"] == "profile"] == ["Bob's"]


def test_undo_of_an_import_through_the_cli_says_what_it_did(db, tmp_path):
    event = next(e for e in history(db) if e["action"] == "import")
    out = run("--as", "bob@example.com", "undo", str(event["id"]), "--db", db)
    assert out.stdout.startswith(f"Undid import #{event['id']} as a whole (entry #")
    assert "2 users deleted, 3 mailboxes deleted, 1 profile deleted" in out.stdout
    assert PASSWORD not in out.stdout + out.stderr
    own = next(e for e in history(db) if e["kind"] == "import" and e["action"] == "undo")
    assert (own["undoes"], own["admin"]) == (event["id"], "bob@example.com")
    written = [e for e in history(db) if e["batch"] == own["id"]]
    assert {(e["kind"], e["action"], e["undoes"]) for e in written} == {
        ("user", "undo", event["id"]), ("mailbox", "undo", event["id"]), ("profile", "undo", event["id"])}
    assert len(written) == 6
    again = run("undo", str(event["id"]), "--db", db, check=False)
    assert again.returncode == 1 and "already undone" in again.stderr
    run("export", "--out", tmp_path / "after.json", "--db", db)
    left = json.loads((tmp_path / "after.json").read_text())
    assert not left.get("users") and not left.get("mailboxes") and not left.get("profiles")


def test_undo_of_an_import_refused_through_the_cli_changes_nothing(db, tmp_path):
    event = next(e for e in history(db) if e["action"] == "import")
    doc = tmp_path / "rename.json"
    doc.write_text(json.dumps({"users": [{"fullname": "Bob Dahl-Berg", "internalemailaddress": "bob@example.com"}]}))
    run("import", doc, "--db", db)
    out = run("undo", str(event["id"]), "--db", db, "--json", check=False)
    assert out.returncode == 1 and "1 record changed since: user 'bob@example.com' (Full Name)" in out.stderr
    assert "Traceback" not in out.stderr and PASSWORD not in out.stderr
    assert not [e for e in history(db) if e["action"] == "undo"]


def test_a_killed_undo_of_an_import_leaves_everything_as_it_was(tmp_path):
    """`mailbox-tui undo` of a large import, killed (SIGKILL) half-way, once it has written megabytes
    (they spill into SQLite's WAL): the one transaction never commits, so every record and the history
    stay as they were."""
    import signal
    import time

    from mailbox_tui.store.database import Store
    from mailbox_tui.store.history import ChangeEntry
    from mailbox_tui.store.models import AppUser, Mailbox

    def state(url) -> tuple:
        with Store(url):
            return (AppUser.select().count(), Mailbox.select().count(), ChangeEntry.select().count(),
                    ChangeEntry.select().where(ChangeEntry.action == "undo").count())

    url = f"sqlite:///{tmp_path / 'big.db'}"
    doc = tmp_path / "big.json"
    doc.write_text(json.dumps({"users": [{"fullname": f"User {i:05d}", "internalemailaddress": f"u{i:05d}@example.com"}
                                         for i in range(30_000)]}))
    run("import", doc, "--db", url)
    before = state(url)
    assert before == (30_000, 30_000, 60_001, 0)
    with Store(url):
        event = ChangeEntry.get(ChangeEntry.action == "import").id
    proc = subprocess.Popen([sys.executable, "-m", "mailbox_tui", "undo", str(event), "--db", url],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=os.environ.copy(),
                            stdin=subprocess.DEVNULL)
    wal = tmp_path / "big.db-wal"
    deadline = time.monotonic() + 60
    while proc.poll() is None and time.monotonic() < deadline:  # writing: its pages spill into the WAL
        if wal.exists() and wal.stat().st_size > 2_000_000:
            break
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL, "the undo ended before it was killed: give it more users"
    assert state(url) == before
