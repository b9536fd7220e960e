"""Sentences made in English (say) and shown in the admin's language (said): live, and read back from
the database, where only the English text is left. A small catalogue of our own, so the tests hold
whatever the shipped one says."""

from __future__ import annotations

import io

import pytest
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from hypothesis import given
from hypothesis import strategies as st

from mailbox_tui import i18n
from mailbox_tui.i18n import said, say, say_n

SWEDISH = {
    "{label} is required.": "{label} måste anges.",
    "Name": "Namn",
    "Error": "Fel",
    "Mailbox {name} could not reach {host}. {fix}": "Postlådan {name} nådde inte {host}. {fix}",
    "Check the port.": "Kontrollera porten.",
    ("{n} mailbox was tested.", "{n} mailboxes were tested."): ("{n} postlåda testades.", "{n} postlådor testades."),
    "The server answered {answer}.": "Servern svarade {answer}.",
}


def use_catalogue(where, monkeypatch) -> None:
    """Show Swedish from a catalogue of SWEDISH's words, compiled into `where`."""
    catalog = Catalog(locale="sv", domain=i18n.DOMAIN)  # sv: nplurals=2; plural=(n != 1)
    for english, swedish_words in SWEDISH.items():
        catalog.add(english, swedish_words)
    (where / "sv" / "LC_MESSAGES").mkdir(parents=True, exist_ok=True)
    out = io.BytesIO()
    write_mo(out, catalog)
    (where / "sv" / "LC_MESSAGES" / f"{i18n.DOMAIN}.mo").write_bytes(out.getvalue())
    monkeypatch.setattr(i18n, "LOCALE_DIR", where)
    monkeypatch.setattr(i18n, "_template_index", {})
    i18n.use(i18n.SWEDISH)


@pytest.fixture
def swedish(tmp_path, monkeypatch):
    use_catalogue(tmp_path, monkeypatch)
    yield
    i18n.use(i18n.ENGLISH)


def test_english_is_the_text_itself():
    text = say("{label} is required.", label="Name")
    assert text == "Name is required." and said(text) == "Name is required."
    assert said("Name is required.") == "Name is required."


def test_a_live_sentence_translates_our_words_and_keeps_the_values(swedish):
    text = say("Mailbox {name} could not reach {host}. {fix}", name="Error", host="imap.example.com",
               fix=say("Check the port."))
    assert text == "Mailbox Error could not reach imap.example.com. Check the port."
    # "Error" is a name here (a value): shown as it is, though the catalogue has the word.
    assert said(text) == "Postlådan Error nådde inte imap.example.com. Kontrollera porten."
    assert said(say("{label} is required.", label="Name")) == "Namn måste anges."


def test_a_stored_sentence_reads_back_to_the_same_swedish(swedish):
    stored = str(say("Mailbox {name} could not reach {host}. {fix}", name="Error", host="imap.example.com",
                     fix=say("Check the port.")))
    assert type(stored) is str
    assert said(stored) == "Postlådan Error nådde inte imap.example.com. Kontrollera porten."
    assert said("Name is required.") == "Namn måste anges."


def test_plural_sentences_live_and_stored(swedish):
    for n, words in ((1, "1 postlåda testades."), (3, "3 postlådor testades."),
                     (100000, "100\u00a0000 postlådor testades.")):
        made = say_n("{n} mailbox was tested.", "{n} mailboxes were tested.", n)
        assert said(made) == words and said(str(made)) == words
    assert say_n("{n} mailbox was tested.", "{n} mailboxes were tested.", 100000) == "100,000 mailboxes were tested."


def test_what_the_catalogue_does_not_hold_is_shown_as_it_is(swedish):
    for text in ("", "An answer from a server.", "Mailbox x could not reach", "Name is required"):
        assert said(text) == text


def test_a_server_answer_is_never_translated_even_when_it_is_one_of_our_words(swedish):
    made = say("The server answered {answer}.", answer="Error")
    assert said(made) == said(str(made)) == "Servern svarade Error."


@given(name=st.text(min_size=1).filter(lambda v: " could not reach " not in v),
       host=st.text(min_size=1).filter(lambda v: ". " not in v))
def test_any_values_read_back_whole(tmp_path_factory, name, host):
    with pytest.MonkeyPatch.context() as monkeypatch:
        use_catalogue(tmp_path_factory.getbasetemp() / "said", monkeypatch)
        try:
            made = say("Mailbox {name} could not reach {host}. {fix}", name=name, host=host,
                       fix=say("Check the port."))
            assert said(str(made)) == said(made) == f"Postlådan {name} nådde inte {host}. Kontrollera porten."
        finally:
            i18n.use(i18n.ENGLISH)


@pytest.mark.parametrize("ids, complaints", [
    (("{label} is required.",), 0),
    (("{n} mailbox", "{n} mailboxes"), 0),
    (("{what} {fix}",), 1),
    (("{what}{fix}",), 1),
    (("Answered {answer!r}.",), 1),
    (("Took {seconds:.2f} s.",), 1),
])
def test_the_catalogue_check_refuses_a_template_that_cannot_be_read_back(ids, complaints):
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
    import catalogue

    assert len(catalogue.unreadable(ids)) == complaints


def test_the_most_literal_template_wins_whichever_word_it_is_known_by(tmp_path, monkeypatch):
    SWEDISH["Mailbox {name}"] = "Postlåda {name}"
    SWEDISH["{what} was deleted by the import's undo."] = "{what} togs bort när importen ångrades."
    try:
        use_catalogue(tmp_path, monkeypatch)
        stored = str(say("{what} was deleted by the import's undo.", what="Mailbox x"))
        assert stored == "Mailbox x was deleted by the import's undo."
        assert said(stored) == "Postlåda x togs bort när importen ångrades."  # {what}: our words, read too
    finally:
        del SWEDISH["Mailbox {name}"], SWEDISH["{what} was deleted by the import's undo."]
        i18n.use(i18n.ENGLISH)
