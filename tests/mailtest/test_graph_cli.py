"""`mailbox-tui test` on an Exchange Online profile (issue 23), in its own process against the test Graph
server: no mail unless --send-test-message, the result says which, and no secret or token is printed or logged."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from mail_builders import user_mailbox
from support.graph import GRAPH_SECRET, graph_profile

from mailbox_tui.store.database import Store


def run(*args) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, "-m", "mailbox_tui", "test", *map(str, args)], capture_output=True,
                            text=True, env=os.environ.copy(), timeout=120, stdin=subprocess.DEVNULL)
    assert "Traceback" not in result.stderr, result.stderr
    return result


def _organisation(sqlite_url, graph):
    with Store(sqlite_url) as store:
        profile = graph_profile(store, graph)
        user_mailbox(store, profile.id, allow_credentials=False, act=1)


def _clean(*texts):
    for text in texts:
        assert GRAPH_SECRET not in text and "eyJ" not in text


def test_no_mail_is_sent_by_default(sqlite_url, graph, tmp_path):
    _organisation(sqlite_url, graph)
    log = tmp_path / "test.log"
    result = run("--db", sqlite_url, "--all", "--json", "--log", log)
    assert result.returncode == 0, result.stdout + result.stderr
    (box,) = json.loads(result.stdout)["mailboxes"]
    assert (box["incoming_status"], box["outgoing_status"], box["act_status"]) == ("Success",) * 3
    outgoing = next(c for c in box["checks"] if c["direction"] == "outgoing")
    assert "No mail was sent" in outgoing["message"]
    assert "Test messages sent" not in run("--db", sqlite_url, "--all").stdout
    assert graph.server.sent == []
    _clean(result.stdout, result.stderr, log.read_text())


def test_send_test_message_sends_one_and_says_so(sqlite_url, graph, tmp_path):
    _organisation(sqlite_url, graph)
    log = tmp_path / "test.log"
    result = run("--db", sqlite_url, "alice@example.com", "--send-test-message", "--log", log)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "outgoing Success" in result.stdout
    assert "Test messages sent (Microsoft Graph or EWS, each mailbox to itself): 1." in result.stdout
    assert [m["to"] for m in graph.server.sent] == [["alice@example.com"]]
    _clean(result.stdout, result.stderr, log.read_text())


def test_help_names_the_option():
    result = subprocess.run([sys.executable, "-m", "mailbox_tui", "test", "--help"], capture_output=True, text=True,
                            timeout=60)
    assert "--send-test-message" in result.stdout and "nothing is sent" in " ".join(result.stdout.split())
