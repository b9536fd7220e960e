"""`mailbox-tui history` and `undo` in Swedish (issue 26), each in its own process: the human output
speaks Swedish, --json is byte for byte the English one, and the database keeps English."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys

import pytest

from mailbox_tui import i18n
from mailbox_tui.i18n import said


def run(*args, check=True, lang: str | None = None) -> subprocess.CompletedProcess:
    env = os.environ.copy()
    if lang:
        env["LANG"] = lang
    result = subprocess.run([sys.executable, "-m", "mailbox_tui", *map(str, args)], capture_output=True,
                            text=True, env=env, timeout=120, stdin=subprocess.DEVNULL)
    assert "Traceback" not in result.stderr, result.stderr
    if check:
        assert result.returncode == 0, result.stderr
    return result


@pytest.fixture
def db(tmp_path):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    doc = tmp_path / "org.json"
    doc.write_text(json.dumps({
        "users": [{"fullname": "Alice Berg", "internalemailaddress": "alice@example.com"}],
        "queues": [{"name": "Support", "emailaddress": "support@example.com", "owner": "alice@example.com"}]}))
    run("--as", "alice@example.com", "import", doc, "--db", url)
    return url


def test_history_in_swedish_and_its_json_unchanged(db):
    english = run("history", "--db", db).stdout
    swedish = run("--lang", "sv", "history", "--db", db).stdout
    assert "imported 'org.json'" in english and "created queue 'Support'" in english
    assert "importerade 'org.json'" in swedish and "skapade kön 'Support'" in swedish, swedish
    assert "imported" not in swedish and "created" not in swedish, swedish
    assert "skapade användare: 1; skapade köer: 1; skapade postlådor: 2" in swedish
    assert "Namn: Support" in swedish and "Name: Support" in english
    assert run("--lang", "sv", "history", "--db", db, "--json").stdout == run("history", "--db", db, "--json").stdout
    from_locale = run("history", "--db", db, lang="sv_SE.UTF-8").stdout
    assert from_locale == swedish
    con = sqlite3.connect(db.removeprefix("sqlite:///"))
    try:
        stored = " ".join(str(v) for row in con.execute("SELECT * FROM change_entry") for v in row)
    finally:
        con.close()
    assert "skapade" not in stored and "Namn" not in stored and "Support" in stored


def test_an_empty_history_and_a_bad_argument_say_so_in_swedish(db):
    result = run("--lang", "sv", "history", "--db", db, "--admin", "nobody@example.com")
    assert result.stdout == "" and result.stderr.strip() == "Inga ändringar i historiken matchar."
    bad = run("--lang", "sv", "history", "--db", db, "--since", "soon", check=False)
    assert bad.returncode == 2 and "soon är inte ett datum: ange ÅÅÅÅ-MM-DD (UTC)" in bad.stderr, bad.stderr
    helped = run("--lang", "sv", "history", "--help").stdout
    assert "ändringar gjorda av den här administratören" in helped


def test_undo_in_swedish_says_what_it_undid_and_json_stays_english(db):
    entries = json.loads(run("history", "--db", db, "--json").stdout)
    whole = entries[0]
    assert whole["kind"] == "import"
    done = run("--lang", "sv", "undo", str(whole["id"]), "--db", db).stdout
    assert done.startswith(f"Ångrade importen #{whole['id']} i sin helhet (ändring #"), done
    assert "1 användare borttagna" in done and "1 kö borttagna" in done, done
    # The refusal is the store's English sentence (say()); the error line reads it back in the admin's
    # language through the catalogue (said()), whoever prints it.
    english = run("undo", str(whole["id"]), "--db", db, "--json", check=False)
    assert english.returncode == 1 and f"Entry #{whole['id']} was already undone (entry #" in english.stderr
    i18n.use(i18n.SWEDISH)
    sentence = english.stderr.strip().split("error: ", 1)[-1]
    assert said(sentence).startswith(f"Ändring #{whole['id']} är redan ångrad (ändring #"), said(sentence)
    newest = json.loads(run("--lang", "sv", "history", "--db", db, "--json", "--limit", "1").stdout)[0]
    assert newest["phrase"] == "undid the import of 'org.json'"
    assert {c["label"] for c in newest["changes"]} == {"deleted users", "deleted queues", "deleted mailboxes"}
