"""The watch's lines in Swedish (issue 26): printed in the admin's language, logged (and compared by scripts)
in English, against the real dovecot."""

from __future__ import annotations

import logging
from datetime import timedelta

from test_watch import T0, Clock, enabled_mailbox, watcher

from mailbox_tui import cli_watch, i18n


def test_a_polled_mailbox_is_printed_in_swedish_and_logged_in_english(sqlite_store, servers, capsys, caplog):
    mailbox = enabled_mailbox(sqlite_store, *servers)
    lines = []
    watch = watcher(sqlite_store, Clock(T0 + timedelta(minutes=5)), lines)
    i18n.use(i18n.SWEDISH)
    assert watch.round() == 1
    english = (f"2026-03-01 14:35:00 Success (poll) Alice <alice@example.com>: incoming Success, outgoing Not Run, "
               "act Not Run")
    assert lines == [english]  # what the Watcher says is English
    caplog.clear()  # only what the watch's own line logs (the records made above may be kept by the logger)
    with caplog.at_level(logging.INFO, logger="mailbox_tui.watch"):
        cli_watch._say(lines[0])
    assert capsys.readouterr().out == ("2026-03-01 14:35:00 Klart (avsökning) Alice <alice@example.com>: inkommande "
                                       "Klart, utgående Körs inte, avtalade tider m.m. Körs inte\n")
    assert [r.getMessage() for r in caplog.records if r.name == "mailbox_tui.watch"] == [english]
    assert mailbox.id
