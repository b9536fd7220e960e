"""`mailbox-tui test` end to end, in its own process, against the real servers."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys

import pytest
from mail_builders import server_profile, user_mailbox
from support.mailservers import MAIL_USERS

from mailbox_tui.store.database import Store

WRONG = "Wrong-pw-Zz90^uu"
SECRETS = (WRONG, MAIL_USERS["alice@example.com"], MAIL_USERS["bob@example.com"])


def run(*args) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, "-m", "mailbox_tui", "test", *map(str, args)], capture_output=True,
                            text=True, env=os.environ.copy(), timeout=120, stdin=subprocess.DEVNULL)
    assert "Traceback" not in result.stderr, result.stderr
    return result


def assert_no_secret(*texts):
    for text in texts:
        for secret in SECRETS:
            assert secret not in text
            assert base64.b64encode(secret.encode()).decode() not in text


@pytest.fixture
def organisation(sqlite_url, servers):
    """Alice signs in; Bob's stored password is wrong; Carol has nothing server-side to test."""
    with Store(sqlite_url) as store:
        profile = server_profile(store, *servers)
        alice = user_mailbox(store, profile.id)
        bob = user_mailbox(store, profile.id, email="bob@example.com", password=WRONG)
        carol = user_mailbox(store, None, email="carol@example.com", incoming=0, outgoing=0,
                             allow_credentials=False)
    return {"db": sqlite_url, "alice": alice.id, "bob": bob.id, "carol": carol.id}


def test_all_reports_json_and_exits_nonzero_when_a_test_fails(organisation, tmp_path):
    log = tmp_path / "test.log"
    result = run("--db", organisation["db"], "--all", "--json", "--log", log, "--concurrency", "4")
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    assert (report["total"], report["succeeded"], report["failed"], report["not_run_count"]) == (3, 1, 1, 1)
    by_email = {m["email"]: m for m in report["mailboxes"]}
    assert by_email["alice@example.com"]["incoming_status"] == "Success"
    assert by_email["alice@example.com"]["outgoing_status"] == "Success"
    assert by_email["bob@example.com"]["result"] == "Failure"
    assert {a["step"] for a in by_email["bob@example.com"]["alerts"]} == {"authentication"}
    assert by_email["carol@example.com"]["result"] == "Not Run"
    assert "Testing 3 mailboxes" in result.stderr and "[3/3]" in result.stderr
    log_text = log.read_text()
    assert "Login rejected" in log_text
    assert_no_secret(result.stdout, result.stderr, log_text)


def test_addresses_select_mailboxes_and_success_exits_zero(organisation, tmp_path, monkeypatch):
    monkeypatch.setenv("MAILBOX_TUI_LOG", str(tmp_path / "env.log"))
    result = run("--db", organisation["db"], "ALICE@example.com")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Success  Alice <alice@example.com>: incoming Success, outgoing Success")
    assert "1 tested: 1 succeeded, 0 failed, 0 not tested" in result.stdout
    assert_no_secret(result.stdout, result.stderr, (tmp_path / "env.log").read_text())


def test_a_mailbox_that_was_not_run_is_no_success_and_exits_1(organisation):
    """README: exit 1 if any test failed or was not run. Carol's mailbox has nothing to test."""
    result = run("--db", organisation["db"], "carol@example.com", "--json")
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    assert (report["succeeded"], report["failed"], report["not_run_count"]) == (0, 0, 1)
    assert [m["result"] for m in report["mailboxes"]] == ["Not Run"]
    plain = run("--db", organisation["db"], "carol@example.com")
    assert plain.returncode == 1 and "1 tested: 0 succeeded, 0 failed, 1 not tested" in plain.stdout


def test_failed_and_profile_selections(organisation):
    first = run("--db", organisation["db"], "--profile", "test imap", "--json")
    assert first.returncode == 1
    assert {m["email"] for m in json.loads(first.stdout)["mailboxes"]} == {"alice@example.com", "bob@example.com"}
    failed = run("--db", organisation["db"], "--failed", "--json")
    assert failed.returncode == 1
    assert [m["email"] for m in json.loads(failed.stdout)["mailboxes"]] == ["bob@example.com"]
    text = run("--db", organisation["db"], "--failed")
    assert "Login rejected for user 'bob@example.com'" in text.stdout
    assert_no_secret(first.stdout, failed.stdout, text.stdout, text.stderr)


@pytest.mark.parametrize("args,message", [
    ((), "say which mailboxes to test"),
    (("--all", "--failed"), "say which mailboxes to test"),
    (("--all", "--concurrency", "0"), "--concurrency: a number of connections is from 1 to 1000, not '0'"),
    (("--all", "--concurrency", "1" + "0" * 30), "--concurrency: a number of connections is from 1 to 1000"),
    (("--all", "--concurrency", "many"), "--concurrency: 'many' is not a number of connections"),
    (("--all", "--deadline", "-5"), "--deadline: '-5' is not a number of seconds"),
    (("--all", "--deadline", "0"), "--deadline: seconds must be more than 0 and at most 2592000 (30 days), not '0'"),
    (("--all", "--deadline", "nan"), "--deadline: 'nan' is not a number of seconds"),
    (("--all", "--deadline", "inf"), "--deadline: 'inf' is not a number of seconds"),
    (("--all", "--deadline", "1e400"), "--deadline: '1e400' is not a number of seconds"),
    (("--all", "--deadline", "soon"), "--deadline: 'soon' is not a number of seconds"),
])
def test_usage_errors_exit_2(organisation, args, message):
    result = run("--db", organisation["db"], *args)
    assert result.returncode == 2
    assert message in result.stderr
    assert result.stdout == ""
    assert_nothing_tested(organisation["db"])


@pytest.mark.parametrize("args,message", [
    (("nobody@example.com",), "mailbox-tui: error: no mailbox has the address nobody@example.com."),
    (("alice@example.com", "nobody@example.com"), "no mailbox has the address nobody@example.com."),
    (("--profile", "No Such"), "mailbox-tui: error: there is no server profile named 'No Such'."),
])
def test_a_lookup_that_finds_nothing_exits_1_with_a_sentence(organisation, args, message):
    result = run("--db", organisation["db"], *args)
    assert result.returncode == 1  # not a usage error: the command was well formed
    assert message in result.stderr
    assert "usage:" not in result.stderr and result.stdout == ""
    assert_nothing_tested(organisation["db"])


def assert_nothing_tested(db):
    from mailbox_tui.store.models import Mailbox

    with Store(db):
        assert Mailbox.select().where(Mailbox.test_completed_on.is_null(False)).count() == 0
