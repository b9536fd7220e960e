"""Plural forms done right (issue 26): a count says "1 mailbox" and "2 mailboxes", never "mailbox(es)",
in English and in Swedish ("1 postlåda", "2 postlådor"); a stored sentence read back keeps its count."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from mailbox_tui import i18n
from mailbox_tui.cli import main
from mailbox_tui.cli_test import _test_progress

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
import catalogue  # noqa: E402  (scripts/catalogue.py: the project's own tool)

HEDGED = re.compile(r"\w\((?:s|es|n|or|er|ar)\)")  # mailbox(es), error(s); Swedish meddelande(n), postlåd(or)


def test_no_message_in_the_catalogue_hedges_its_plural():
    hedged = []
    for message in catalogue.read_po(i18n.SWEDISH):
        english = message.id if isinstance(message.id, tuple) else (message.id,)
        swedish = message.string if isinstance(message.string, tuple) else (message.string,)
        hedged += [text for text in (*english, *swedish) if text and HEDGED.search(text)]
    assert hedged == []


def test_the_hedge_pattern_finds_what_it_must():  # the test above can fail
    assert all(HEDGED.search(t) for t in ("1 mailbox(es)", "2 error(s).", "3 meddelande(n)", "postlåd(or)"))
    assert not any(HEDGED.search(t) for t in ("Ta bort (y)", "Behåll (n)", "1 mailbox", "(x cancels)"))


@pytest.mark.parametrize("language,one,two", [
    (i18n.ENGLISH, "Testing 1 mailbox…", "Testing 2 mailboxes…"),
    (i18n.SWEDISH, "Testar 1 postlåda…", "Testar 2 postlådor…"),
])
def test_the_test_command_counts_its_mailboxes(capsys, language, one, two):
    i18n.use(language)
    for total in (1, 2):
        _test_progress(SimpleNamespace(outcome=None, total=total))
    assert capsys.readouterr().err.splitlines() == [one, two]


@pytest.mark.parametrize("language,expected", [
    (i18n.ENGLISH, "0 errors, 0 warnings."), (i18n.SWEDISH, "0 fel, 0 varningar.")])
def test_check_counts_errors_and_warnings(tmp_path, capsys, language, expected):
    url, document = f"sqlite:///{tmp_path / 'empty.db'}", tmp_path / "empty.json"
    document.write_text('{"profiles": []}')
    assert main(["import", str(document), "--db", url]) == 0
    capsys.readouterr()
    assert main(["check", "--db", url, "--lang", language]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == expected


STORED = [  # English as the database holds it (plain str, not a Said), and its Swedish when read back
    ("Signed in to imap.example.com:993; the mailbox holds 1 message.",
     "Inloggad på imap.example.com:993; postlådan innehåller 1 meddelande."),
    ("Signed in to imap.example.com:993; the mailbox holds 1,200 messages.",
     "Inloggad på imap.example.com:993; postlådan innehåller 1\u00a0200 meddelanden."),
    ("Alice Berg owns 1 forward mailbox: give it another owner first.",
     "Alice Berg äger 1 postlåda för vidarebefordran: ge den en annan ägare först."),
    ("Alice Berg owns 1 queue and 2 forward mailboxes: give them another owner first.",
     "Alice Berg äger 1 kö och 2 postlådor för vidarebefordran: ge dem en annan ägare först."),
]


@pytest.mark.parametrize("english,swedish", STORED)
def test_a_stored_counted_sentence_is_read_back_with_its_count(english, swedish):
    i18n.use(i18n.SWEDISH)
    assert i18n.said(english) == swedish


def test_a_counted_sentence_is_english_and_shown_in_swedish():
    one = i18n.say_n("{name} owns {n} queue: give it another owner first.",
                     "{name} owns {n} queues: give them another owner first.", 1, name="Bob")
    many = i18n.say_n("{name} owns {n} queue: give it another owner first.",
                      "{name} owns {n} queues: give them another owner first.", 1000, name="Bob")
    assert (one, many) == ("Bob owns 1 queue: give it another owner first.",
                           "Bob owns 1,000 queues: give them another owner first.")
    i18n.use(i18n.SWEDISH)
    assert (i18n.said(one), i18n.said(many)) == ("Bob äger 1 kö: ge den en annan ägare först.",
                                                 "Bob äger 1\u00a0000 köer: ge dem en annan ägare först.")
    assert str(many) == "Bob owns 1,000 queues: give them another owner first."  # what is stored stays English
