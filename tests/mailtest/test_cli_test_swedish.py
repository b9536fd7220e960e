"""`mailbox-tui test` in Swedish (issue 26), in its own process against the real servers: the human output in
the glossary's words with the server's answer as sent; --json the same in both languages."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from mail_builders import server_profile, user_mailbox

from mailbox_tui.store.database import Store

WRONG = "Wrong-pw-Zz90^uu"


def run(*args, lang: str | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("LC_ALL", "LC_MESSAGES", "LANG")}
    if lang:
        env["LANG"] = lang
    result = subprocess.run([sys.executable, "-m", "mailbox_tui", "test", *map(str, args)], capture_output=True,
                            text=True, env=env, timeout=120, stdin=subprocess.DEVNULL)
    assert "Traceback" not in result.stderr, result.stderr
    return result


@pytest.fixture
def organisation(sqlite_url, servers):
    """Alice signs in; Bob's stored password is wrong; Carol has nothing server-side to test."""
    with Store(sqlite_url) as store:
        profile = server_profile(store, *servers)
        user_mailbox(store, profile.id)
        user_mailbox(store, profile.id, email="bob@example.com", password=WRONG)
        user_mailbox(store, None, email="carol@example.com", incoming=0, outgoing=0, allow_credentials=False)
    return sqlite_url


def steady(report: dict) -> dict:
    """A report without what differs from run to run (times, durations)."""
    report = json.loads(json.dumps(report))
    report.pop("elapsed")
    for mailbox in report["mailboxes"]:
        mailbox.pop("test_completed_on")
        for check in mailbox["checks"]:
            if check["probe"]:
                check["probe"].pop("elapsed")
    return report


def test_the_human_output_is_swedish_and_json_is_the_same_in_both_languages(organisation):
    english = run("--db", organisation, "--all", "--json", "--concurrency", "4")
    swedish = run("--db", organisation, "--all", "--json", "--concurrency", "4", "--lang", "sv")
    assert english.returncode == swedish.returncode == 1
    assert steady(json.loads(english.stdout)) == steady(json.loads(swedish.stdout))
    assert "Failure at" not in swedish.stdout and "misslyckades" not in swedish.stdout  # JSON: our English
    assert '"message": "Incoming email, ' in swedish.stdout

    human = run("--db", organisation, "--all", "--concurrency", "4", lang="sv_SE.UTF-8")
    assert human.returncode == 1
    out = human.stdout
    bob = next(line for line in out.splitlines() if "bob@example.com" in line)
    assert bob.startswith("Misslyckades ") and "inkommande Misslyckades, utgående Misslyckades" in bob
    assert any(line.startswith("Körs inte") and "carol@example.com" in line for line in out.splitlines())
    assert any(line.startswith("Klart") and "alice@example.com" in line for line in out.splitlines())
    alert = next(line for line in out.splitlines() if "Inkommande e-post, IMAP" in line)
    assert alert.startswith("    fel (autentisering): Inkommande e-post, IMAP ")
    assert "misslyckades vid autentisering: Inloggningen avvisades för användaren" in alert
    assert "Permanent fel (autentiseringsuppgifterna avvisades, den här postlådans). Servern svarade: " in alert
    # The server's answer, as it stands in the English JSON of the same failure.
    english_alert = next(a["message"] for m in json.loads(english.stdout)["mailboxes"] for a in m["alerts"]
                         if a["message"].startswith("Incoming email, IMAP"))
    assert alert.endswith("Servern svarade: " + english_alert.split("Server answered: ", 1)[1])
    assert "testade: 1 klara, 1 misslyckades, 1 inte testade" in out.splitlines()[-1]
    assert "Testar 3 postlådor…" in human.stderr and "misslyckades vid autentisering" in human.stderr
    assert WRONG not in out + human.stderr


def test_a_usage_error_in_swedish(organisation):
    result = run("--db", organisation, lang="sv_SE.UTF-8")
    assert result.returncode == 2
    assert "mailbox-tui: fel: ange vilka postlådor som ska testas" in result.stderr
