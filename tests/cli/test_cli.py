"""The command line end to end, each command in its own process, on a real SQLite file."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

PASSWORD = "Zq7-unique-pass-word-4412"


def run(*args, env=None, check=True) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, "-m", "mailbox_tui", *map(str, args)], capture_output=True,
                            text=True, env=env or os.environ.copy(), timeout=120, stdin=subprocess.DEVNULL)
    assert "Traceback" not in result.stderr, result.stderr
    if check:
        assert result.returncode == 0, result.stderr
    return result


@pytest.fixture
def db(tmp_path):
    return f"sqlite:///{tmp_path / 'cli.db'}"


def _counts(db: str) -> tuple:
    con = sqlite3.connect(db.removeprefix("sqlite:///"))
    try:
        return tuple(con.execute(f"select count(*) from {t}").fetchone()[0]
                     for t in ("email_server_profile", "app_user", "queue", "mailbox"))
    finally:
        con.close()


def test_demo_seeds_a_realistic_organisation_and_check_passes(db):
    out = run("demo", "--db", db, "--json")
    assert json.loads(out.stdout) == {"profiles": 3, "users": 50, "queues": 5, "forward_mailboxes": 1}
    assert _counts(db) == (3, 50, 5, 56)
    report = json.loads(run("check", "--db", db, "--json").stdout)
    assert report["errors"] == 0
    again = run("demo", "--db", db, check=False)
    assert again.returncode == 1 and "already has users" in again.stderr


def test_import_with_violations_exits_nonzero_and_changes_nothing(db, tmp_path):
    run("demo", "--db", db)
    before = _counts(db)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({
        "users": [{"fullname": "", "internalemailaddress": "nope"}],
        "mailboxes": [{"name": "F", "isforwardmailbox": True, "emailaddress": "f@example.com",
                       "owner": "ghost@example.com", "emailserverprofile": "Corporate IMAP"},
                      {"name": "G", "isforwardmailbox": True, "emailaddress": "g@example.com",
                       "emailserverprofile": "No such profile"}],
    }))
    result = run("import", bad, "--db", db, "--json", check=False)
    assert result.returncode == 1
    report = json.loads(result.stdout)
    where = {(f["section"], f["row"], f["rule"]) for f in report["findings"] if f["severity"] == "error"}
    assert {("users", 1, "U1"), ("mailboxes", 1, "M2"), ("mailboxes", 2, "M11")} <= where
    assert report["written"] is False and _counts(db) == before
    text = run("import", bad, "--db", db, check=False)
    assert "users[1] U1 error" in text.stderr and "Nothing was written" in text.stderr


def test_import_then_export_roundtrip_and_dry_run(db, tmp_path):
    doc = {"profiles": [{"name": "P", "servertype": 4, "incomingserverlocation": "imap.example.com",
                         "outgoingserverlocation": "smtp.example.com"}],
           "users": [{"fullname": "Alice Berg", "internalemailaddress": "alice@example.com"}],
           "mailboxes": [{"name": "Fwd", "isforwardmailbox": True, "emailaddress": "fwd@example.com",
                          "owner": "alice@example.com", "emailserverprofile": "P",
                          "allowemailconnectortousecredentials": True, "username": "fwd", "password": PASSWORD}]}
    f = tmp_path / "doc.json"
    f.write_text(json.dumps(doc))
    dry = run("import", f, "--db", db, "--dry-run")
    assert "Dry run" in dry.stdout
    assert not Path(db.removeprefix("sqlite:///")).exists()  # a dry run creates no database either
    run("import", f, "--db", db)
    assert _counts(db) == (1, 1, 0, 2)
    exported = json.loads(run("export", "--db", db).stdout)
    assert sorted(m["name"] for m in exported["mailboxes"]) == ["Alice Berg", "Fwd"]
    assert next(m for m in exported["mailboxes"] if m["name"] == "Fwd")["ispasswordset"] is True


def test_password_never_reaches_database_file_exports_or_logs(db, tmp_path):
    log = tmp_path / "mailbox-tui.log"
    env = dict(os.environ, MAILBOX_TUI_LOG=str(log))
    doc = {"profiles": [{"name": "P", "servertype": 1, "incomingserverlocation": "pop.example.com",
                         "outgoingserverlocation": "smtp.example.com", "incomingcredentialretrieval": 1,
                         "username": "svc", "password": PASSWORD + "-profile"}],
           "users": [{"fullname": "Alice Berg", "internalemailaddress": "alice@example.com"}],
           "mailboxes": [{"name": "Fwd", "isforwardmailbox": True, "emailaddress": "fwd@example.com",
                          "owner": "alice@example.com", "emailserverprofile": "P",
                          "allowemailconnectortousecredentials": True, "username": "fwd", "password": PASSWORD}]}
    f = tmp_path / "doc.json"
    f.write_text(json.dumps(doc))
    outputs = [run("import", f, "--db", db, env=env), run("check", "--db", db, "--json", env=env),
               run("export", "--db", db, env=env)]
    run("export", "--db", db, "--format", "csv", "--out", tmp_path / "csv", env=env)
    run("export", "--db", db, "--out", tmp_path / "all.json", env=env)
    run("rotate-key", "--db", db, "--out", tmp_path / "new.key", env=env)
    files = [Path(db.removeprefix("sqlite:///")), tmp_path / "all.json", log, *sorted((tmp_path / "csv").iterdir())]
    files += [p for p in tmp_path.glob("cli.db*")]
    assert log.exists() and log.stat().st_size > 0
    for path in files:
        assert PASSWORD.encode() not in path.read_bytes(), path
    for out in outputs:
        assert PASSWORD not in out.stdout + out.stderr


def test_csv_export_needs_a_folder(db):
    result = run("export", "--db", db, "--format", "csv", check=False)
    assert result.returncode == 2 and "--out FOLDER" in result.stderr


def test_errors_are_sentences_not_tracebacks(db, tmp_path):
    missing = run("import", tmp_path / "missing.json", "--db", db, check=False)
    assert missing.returncode == 1 and "does not exist" in missing.stderr
    (tmp_path / "broken.json").write_text("{not json")
    broken = run("import", tmp_path / "broken.json", "--db", db, check=False)
    assert broken.returncode == 1 and "not valid JSON" in broken.stderr
    bad_url = run("check", "--db", "oracle://scott:tiger@db/x", check=False)
    assert bad_url.returncode == 1 and "Unsupported database URL" in bad_url.stderr
    assert "tiger" not in bad_url.stderr


def test_key_file_readable_by_others_is_refused(db, tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "MAILBOX_TUI_KEY"}
    key = tmp_path / "k" / "secret.key"
    key.parent.mkdir()
    run("demo", "--users", "1", "--db", db, "--key-file", key, env=env)
    assert oct(key.stat().st_mode & 0o777) == "0o600"
    key.chmod(0o644)
    result = run("check", "--db", db, "--key-file", key, env=env, check=False)
    assert result.returncode == 1 and "chmod 600" in result.stderr


def test_wrong_key_warns_once_and_still_exports(db, tmp_path):
    run("demo", "--db", db)
    from cryptography.fernet import Fernet

    env = dict(os.environ, MAILBOX_TUI_KEY=Fernet.generate_key().decode())
    result = run("export", "--db", db, env=env)
    assert "stored passwords can't be read" in result.stderr
    assert len(json.loads(result.stdout)["mailboxes"]) == 56


def test_python_dash_m_and_console_script_agree(db):
    import shutil

    script = shutil.which("mailbox-tui", path=str(Path(sys.executable).parent))
    assert script, "console script mailbox-tui is installed"
    out = subprocess.run([script, "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "demo" in out.stdout and "rotate-key" in out.stdout


@pytest.mark.parametrize("command", [["history", "--limit", "1"], ["check"], ["export", "--out", "-"],
                                     ["import", "--dry-run", "IMPORT"]])
def test_global_options_are_accepted_after_the_subcommand_too(db, tmp_path, command):
    """--as, --db, --key-file, --log and --json go before or after the command alike (issue 22, item 6)."""
    run("demo", "--db", db, "--users", "3")
    doc = tmp_path / "one.json"
    doc.write_text(json.dumps({"users": [{"fullname": "After Options", "internalemailaddress": "after@example.com"}]}))
    key = tmp_path / "team.key"
    key.write_text(os.environ["MAILBOX_TUI_KEY"] + "\n")
    key.chmod(0o600)
    env = {k: v for k, v in os.environ.items() if k != "MAILBOX_TUI_KEY"}
    command = [str(doc) if part == "IMPORT" else part for part in command]
    options = ["--as", "anna.berg@example.com", "--db", db, "--key-file", key, "--log", tmp_path / "after.log", "--json"]
    before = run(*options, *command, env=env, check=False)
    after = run(*command, *options, env=env, check=False)
    assert (after.returncode, after.stdout) == (before.returncode, before.stdout)
    assert before.returncode in (0, 1) and "error:" not in after.stderr
    assert (tmp_path / "after.log").exists()
