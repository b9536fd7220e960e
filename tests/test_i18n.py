"""Svenska (issue 26), its foundation: which language a process shows, the catalogue it reads, the
words the declarations hold, and that what machines read (--json, the database) stays English."""

from __future__ import annotations

import gettext
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailbox_tui import i18n
from mailbox_tui.cli import main
from mailbox_tui.domain import fields
from mailbox_tui.domain.options import ApprovalStatus, IncomingMethod, TestStatus

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
import catalogue  # noqa: E402  (scripts/catalogue.py: the project's own tool)

FORMS = ("PROFILE_FIELDS", "USER_FIELDS", "QUEUE_FIELDS", "MAILBOX_FIELDS", "ORG_FIELDS")


@pytest.mark.parametrize("value,language", [
    ("sv_SE.UTF-8", "sv"), ("sv_FI.utf8", "sv"), ("sv", "sv"), ("sv_SE@euro", "sv"), ("SV_se.UTF-8", "sv"),
    ("en_GB.UTF-8", "en"), ("C", "en"), ("POSIX", "en"), ("C.UTF-8", "en"), ("", "en"), ("svenska", "en"),
    ("se_NO.UTF-8", "en"),  # Northern Sami, not Swedish
])
def test_a_locale_name_asks_for_its_language(value, language):
    assert i18n.language_of_locale(value) == language


def test_the_first_locale_variable_set_decides_in_posix_order():
    both = {"LC_ALL": "", "LC_MESSAGES": "sv_SE.UTF-8", "LANG": "en_US.UTF-8"}
    assert i18n.language_from_environment(both) == "sv"
    assert i18n.language_from_environment({**both, "LC_ALL": "C"}) == "en"  # LC_ALL outranks the rest
    assert i18n.language_from_environment({"LANG": "sv_SE.UTF-8"}) == "sv"
    assert i18n.language_from_environment({}) == "en"


def test_lang_outranks_the_remembered_choice_which_outranks_the_locale():
    swedish = {"LANG": "sv_SE.UTF-8"}
    assert i18n.choose("en", "sv", swedish) == "en"
    assert i18n.choose(None, "en", swedish) == "en"
    assert i18n.choose(None, None, swedish) == "sv"
    assert i18n.choose(None, "klingon", swedish) == "sv"  # a settings.json written by hand: ignored
    assert i18n.choose(None, ["sv"], {}) == "en"


@given(st.text())
def test_any_locale_value_gives_a_known_language_and_never_raises(value):
    assert i18n.language_of_locale(value) in i18n.LANGUAGES
    assert i18n.choose(None, value, {"LANG": value}) in i18n.LANGUAGES


def test_the_catalogue_is_complete_and_compiled():
    assert catalogue.problems() == []


def test_the_catalogue_check_finds_a_missing_translation_a_lost_placeholder_and_a_stale_mo(tmp_path):
    from babel.messages.pofile import write_po

    locale = tmp_path / "locale"
    shutil.copytree(catalogue.LOCALE, locale)
    po = catalogue.read_po("sv", locale)
    po.get("Name").string = ""
    po.add("Mailbox {name} is gone.", "Postlådan är borta.", [("mailbox_tui/x.py", 1)])
    with catalogue.po_path("sv", locale).open("wb") as fh:
        write_po(fh, po)
    found = catalogue.problems(locale)
    assert any("'Name'" in p and "no sv translation" in p for p in found)
    assert any("not compiled" in p for p in found)


@pytest.mark.parametrize("ids,strings,lost", [
    (("Mailbox {name} is gone.",), ("Postlådan {name} finns inte.",), False),
    (("Mailbox {name} is gone.",), ("Postlådan finns inte.",), True),
    (("Mailbox {name} is gone.",), ("Postlådan {namn} finns inte.",), True),
    (("{a} and {b}",), ("{b} och {a}",), False),  # the order may change
    (("1 mailbox", "{n} mailboxes"), ("1 postlåda", "{n} postlådor"), False),
    (("1 mailbox", "{n} mailboxes"), ("1 postlåda", "postlådor"), True),
])
def test_a_translation_keeps_every_placeholder(ids, strings, lost):
    assert bool(catalogue.lost_placeholders(ids, strings)) == lost


def test_the_shipped_catalogue_has_swedish_plural_forms():
    translation = gettext.translation(i18n.DOMAIN, i18n.LOCALE_DIR, languages=["sv"])
    assert translation.plural(1) == 0 and translation.plural(0) == 1 and translation.plural(2) == 1


def test_swedish_shows_the_glossary_words_and_keeps_the_stored_english():
    i18n.use("sv")
    assert TestStatus.NOT_RUN.shown_label == "Körs inte"
    assert TestStatus.SUCCESS.shown_label == "Klart"
    assert TestStatus.FAILURE.shown_label == "Misslyckades"
    assert IncomingMethod.choices()[0] == ("Inga", 0)
    assert ApprovalStatus.label_of(1) == "Approved"  # what --json, logs and the database say
    by_name = {f.name: f for f in fields.MAILBOX_FIELDS}
    assert by_name["allow_credentials"].shown_label == \
        "Tillåt att autentiseringsuppgifter används för e-postbearbetning"
    assert by_name["email"].label == "Email Address" and by_name["email"].shown_label == "E-postadress"
    assert [fields.MAILBOX_SECTIONS[s] for s in ("general", "credentials", "sync", "results")] == \
        ["General", "Credentials", "Synchronization Method", "Configuration Test Results"]
    assert i18n.number(100000) == "100\u00a0000"
    i18n.use("en")
    assert TestStatus.FAILURE.shown_label == "Failure" and i18n.number(100000) == "100,000"


@pytest.mark.parametrize("language", ["en", "sv"])
@pytest.mark.parametrize("declared", FORMS)
def test_every_form_label_fits_the_label_column_in_each_language(language, declared):
    i18n.use(language)
    for f in fields.form_fields(getattr(fields, declared)):
        assert len(f.shown_short) <= fields.LABEL_WIDTH, (declared, f.name, f.shown_short)
        assert language == "en" or f.shown_short != f.short_label or f.short_label in ("Status",), f.name


def test_an_unknown_lang_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--lang", "de", "check"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "--lang" in err and "invalid choice: 'de'" in err and "Traceback" not in err


def test_json_is_the_same_in_both_languages(tmp_path, capsys, monkeypatch):
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    assert main(["--db", url, "demo", "--users", "3"]) == 0
    capsys.readouterr()
    outputs = []
    for language in ("en", "sv"):
        main(["--db", url, "--lang", language, "--json", "check"])
        outputs.append(json.loads(capsys.readouterr().out))
    monkeypatch.setenv("LANG", "sv_SE.UTF-8")
    main(["--db", url, "--json", "check"])
    outputs.append(json.loads(capsys.readouterr().out))
    assert outputs[0] == outputs[1] == outputs[2]


def test_the_installed_command_reads_lang_from_the_environment(tmp_path):
    """The language is chosen from LANG in a process of its own: --help still works, in either."""
    for lang in ("sv_SE.UTF-8", "C.UTF-8"):
        done = subprocess.run([sys.executable, "-m", "mailbox_tui", "--help"], capture_output=True, text=True,
                              env={"PATH": "/usr/bin:/bin", "LANG": lang, "HOME": str(tmp_path),
                                   "PYTHONPATH": str(ROOT)}, timeout=60)
        assert done.returncode == 0 and "--lang" in done.stdout, done.stderr



@pytest.mark.parametrize("language", ["en", "sv"])
def test_every_list_column_title_and_narrow_word_fits_its_column(language):
    """A column's title, and each word a narrow column can show, fit its width in each language (a word
    cut with … would read as another)."""
    from mailbox_tui.domain.options import MailboxKind
    from mailbox_tui.ui.widgets.record_table import COLUMNS, SHORT, cell, short_approval

    i18n.use(language)
    for _where, columns in catalogue.list_columns():
        for c in columns:
            assert len(i18n.pgettext("column", c.title)) <= c.width, (c.key, i18n.pgettext("column", c.title))
    width = {c.key: c.width for c in COLUMNS}
    words = {"kind": [m.label for m in MailboxKind], "status": [m.label for m in TestStatus],
             "approval": [short_approval(code) for code in ApprovalStatus],
             **{key: list(SHORT[key].values()) for key in ("incoming", "outgoing", "act")}}
    for key, said in words.items():
        for word in said:
            shown_word = word if key == "approval" else cell(word)
            assert 0 < len(shown_word) <= width[key], (key, shown_word)
