"""`mailbox-tui check` in Swedish (issue 26): the installed command, in its own process, on a real SQLite
file holding mailboxes stored past the rules. Each rule message is printed in Swedish with its rule ID,
whether Swedish is asked for with --lang sv or by the locale (LANG=sv_SE.UTF-8); --json stays English,
identical in both languages."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest


def cli(*args, **env) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).with_name("mailbox-tui")
    command = [str(exe)] if exe.exists() else [sys.executable, "-m", "mailbox_tui"]
    return subprocess.run([*command, *map(str, args)], capture_output=True, text=True,
                          env={**os.environ, **env}, timeout=120, stdin=subprocess.DEVNULL)


@pytest.fixture
def broken(tmp_path) -> str:
    """The demo organisation, with a mailbox whose name was emptied and a forward mailbox set to Outlook."""
    url = f"sqlite:///{tmp_path / 'check.db'}"
    assert cli("demo", "--db", url, "--users", "3").returncode == 0
    con = sqlite3.connect(tmp_path / "check.db")
    with con:
        con.execute("update mailbox set name = '' where email = 'sales@example.com'")
        con.execute("update mailbox set incoming = 1 where kind = 2")
    con.close()
    return url


def lines_of(result: subprocess.CompletedProcess, rule: str) -> list[str]:
    return [line for line in result.stdout.splitlines() if f" {rule} " in line]


@pytest.mark.parametrize("how", ["--lang", "LANG"])
def test_check_prints_each_rule_message_in_swedish_with_its_rule_id(broken, how):
    result = (cli("check", "--db", broken, "--lang", "sv") if how == "--lang" else
              cli("check", "--db", broken, LANG="sv_SE.UTF-8"))
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    [m1] = lines_of(result, "M1")
    assert m1.endswith(" M1 error: Namn måste anges."), result.stdout
    [m12] = lines_of(result, "M12")
    assert m12.startswith("mailbox ") and "'Forward collector' M12 error: " in m12
    assert ("”Microsoft Dynamics 365 för Outlook” är inte tillåtet för en postlåda för vidarebefordran: välj "
            "”Synkronisering med servern eller e-postrouter”.") in m12
    assert "Name is required" not in result.stdout and "is not allowed" not in result.stdout


def test_check_json_is_english_and_the_same_in_both_languages(broken):
    english = cli("check", "--db", broken, "--json", "--lang", "en")
    swedish = cli("check", "--db", broken, "--json", LANG="sv_SE.UTF-8")
    assert english.returncode == swedish.returncode == 1
    assert english.stdout == swedish.stdout
    findings = json.loads(swedish.stdout)["findings"]
    assert {"rule": "M1", "message": "Name is required."}.items() <= next(
        f for f in findings if f["rule"] == "M1").items()
    assert next(f for f in findings if f["rule"] == "M12")["message"].startswith(
        "“Microsoft Dynamics 365 for Outlook” is not allowed for a forward mailbox")


def test_check_in_english_is_unchanged(broken):
    result = cli("check", "--db", broken, "--lang", "en")
    [m1] = lines_of(result, "M1")
    assert m1.endswith(" M1 error: Name is required.")


def test_an_import_refused_by_a_rule_says_so_in_swedish_and_writes_nothing(broken, tmp_path):
    path = tmp_path / "queues.json"
    path.write_text(json.dumps({"queues": [{"name": "", "owner": "nobody@example.com"}]}), encoding="utf-8")
    before = sqlite3.connect(tmp_path / "check.db").execute("select count(*) from queue").fetchone()
    result = cli("import", path, "--db", broken, LANG="sv_SE.UTF-8")
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert "queues[1] Q1 error: Namn måste anges." in result.stderr.splitlines(), result.stderr
    assert "Name is required" not in result.stderr
    as_json = json.loads(cli("import", path, "--db", broken, "--json", LANG="sv_SE.UTF-8").stdout)
    assert {"section": "queues", "row": 1, "rule": "Q1", "message": "Name is required."}.items() <= next(
        f for f in as_json["findings"] if f["rule"] == "Q1" and f["field"] == "name").items()
    assert sqlite3.connect(tmp_path / "check.db").execute("select count(*) from queue").fetchone() == before
