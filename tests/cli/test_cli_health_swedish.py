"""`mailbox-tui health` in Swedish (issue 26): the summary after the monitoring plugins' own first words
("MAILBOX-TUI CRITICAL -") in Swedish; --json and --prometheus the same in both languages."""

from __future__ import annotations

import json

from test_cli_health import cli, org, record  # noqa: F401 (org: the fixture)

from mailbox_tui.domain.options import TestStatus


def test_health_in_swedish_keeps_the_plugin_words_and_the_machine_formats(org):  # noqa: F811
    store, url, (alice, bob) = org
    record(store, alice, TestStatus.FAILURE, "credentials")
    record(store, bob, TestStatus.FAILURE, "connect-refused")
    human = cli("--db", url, "--lang", "sv", "health")
    assert human.returncode == 2, human.stderr
    first, *rest = human.stdout.splitlines()
    assert first == "MAILBOX-TUI CRITICAL - 2 postlådor, 1 försöker igen, 1 inaktiverade av fel"
    assert rest[0].startswith('  Corporate "IMAP"\\: 1 aktiverade, 2 misslyckas, 1 försöker igen, 1 inaktiverade (1 på 24 h), andel fel 1 h 100%')
    assert "FLAGGAD: mer än hälften misslyckades inom en timme" in rest[0]
    english, swedish = cli("--db", url, "--json", "health"), cli("--db", url, "--lang", "sv", "--json", "health")
    assert json.loads(english.stdout) == json.loads(swedish.stdout)
    assert json.loads(swedish.stdout)["state"] == "CRITICAL"
    english, swedish = cli("--db", url, "health", "--prometheus"), cli("--db", url, "--lang", "sv", "health",
                                                                        "--prometheus")
    assert english.stdout == swedish.stdout and "# HELP mailbox_tui_mailboxes Active mailboxes." in swedish.stdout
