"""The command line in Swedish (issue 26): `--help`, argparse's own words, every sentence a command
prints and the errors the store raises, in Swedish when the language is Swedish; `--json`, the
exchange file and the database stay English. Real processes on real SQLite files."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mailbox_tui.cli import main

ROOT = Path(__file__).resolve().parents[2]
ENTRY = Path(sys.executable).parent / "mailbox-tui"  # the installed entry point (cli.entry)
# Commands whose words this part of issue 26 translates (history, undo, watch: their own modules).
OWN_COMMANDS = ("demo", "export", "import", "check", "test", "rotate-key", "health", "upgrade")


def run(*args, lang: str | None = None, env: dict | None = None, command=None) -> subprocess.CompletedProcess:
    environ = {**os.environ, "COLUMNS": "80", **(env or {})}
    if lang:
        environ["LANG"] = lang
    environ["PYTHONPATH"] = str(ROOT)
    result = subprocess.run([*(command or [sys.executable, "-m", "mailbox_tui"]), *map(str, args)],
                            capture_output=True, text=True, env=environ, timeout=120, stdin=subprocess.DEVNULL)
    assert "Traceback" not in result.stderr, result.stderr
    return result


def fits(text: str) -> None:
    long = [line for line in text.splitlines() if len(line) > 80]
    assert not long, long


def counts(db: Path) -> tuple:
    con = sqlite3.connect(db)
    try:
        return tuple(con.execute(f"select count(*) from {t}").fetchone()[0]
                     for t in ("email_server_profile", "app_user", "queue", "mailbox", "change_entry"))
    finally:
        con.close()


@pytest.fixture
def demo(tmp_path) -> Path:
    db = tmp_path / "demo.db"
    assert run("demo", "--users", "3", "--db", f"sqlite:///{db}").returncode == 0
    return db


# ------------------------------------------------------------------------------------------- --help
def test_help_is_swedish_with_argparses_own_words_and_fits_80_columns():
    sv, en = run("--lang", "sv", "--help"), run("--help")
    assert sv.returncode == en.returncode == 0
    for words in ("användning: mailbox-tui", "flaggor:", "visa den här hjälptexten och avsluta",
                  "Konfigurera postlådor för synkronisering med servern", "--key-file SÖKVÄG",
                  "fyll en tom databas med en exempelorganisation", "kör varje regel på varje lagrad post",
                  "skriv ut versionen och avsluta", "KOMMANDO"):
        assert words in sv.stdout, words
    for english in ("usage:", "options:", "show this help message", "print JSON", "seed a sample"):
        assert english not in sv.stdout and english in en.stdout, english
    fits(sv.stdout)
    fits(en.stdout)


@pytest.mark.parametrize("command", OWN_COMMANDS)
def test_each_commands_help_is_swedish_and_fits_80_columns(command):
    sv = run("--lang", "sv", command, "--help")
    assert sv.returncode == 0
    assert sv.stdout.startswith(f"användning: mailbox-tui {command}") and "\nflaggor:\n" in sv.stdout
    assert "databasens URL: sqlite:///SÖKVÄG" in sv.stdout and "skriv ut JSON" in sv.stdout
    assert "print JSON" not in sv.stdout and "database URL" not in sv.stdout
    fits(sv.stdout)
    fits(run(command, "--help").stdout)


def test_import_and_test_help_name_their_own_options_in_swedish():
    imp = run("--lang", "sv", "import", "--help").stdout
    assert "kontrollera varje rad och rapportera; skriv ingenting" in imp and "--keep-secrets" in imp
    test = run("--lang", "sv", "test", "--help").stdout
    assert "varje aktiv postlåda" in test and "--deadline SEKUNDER" in test and "[E-POST ...]" in test


@pytest.mark.skipif(not ENTRY.exists(), reason="no installed entry point beside this Python")
def test_the_installed_entry_point_reads_swedish_from_lang(tmp_path):
    """LANG=sv_SE.UTF-8 through the installed `mailbox-tui` (cli.entry), this tree's code first on the path."""
    sv = run("--help", lang="sv_SE.UTF-8", env={"LC_ALL": "", "LC_MESSAGES": ""}, command=[str(ENTRY)])
    assert sv.returncode == 0 and "användning: mailbox-tui" in sv.stdout and "flaggor:" in sv.stdout
    missing = run("import", str(tmp_path / "nothing.json"), "--db", f"sqlite:///{tmp_path / 'x.db'}",
                  lang="sv_SE.UTF-8", command=[str(ENTRY)])
    assert missing.returncode == 1
    assert missing.stderr == f"mailbox-tui: fel: {tmp_path / 'nothing.json'} finns inte.\n"
    en = run("--help", lang="C.UTF-8", command=[str(ENTRY)])
    assert "usage: mailbox-tui" in en.stdout


# ------------------------------------------------------------------------------------- usage errors
@pytest.mark.parametrize("args, swedish, english", [
    (["import"], "följande argument krävs: fil", "the following arguments are required: file"),
    (["demo", "--users", "0"], "argument --users: ett antal användare är från 1 till",
     "a number of users is from 1"),
    (["test", "--deadline", "soon"], "'soon' är inte ett antal sekunder", "'soon' is not a number of seconds"),
    (["check", "--nonsense"], "okända argument: --nonsense", "unrecognized arguments: --nonsense"),
    (["bogus"], "ogiltigt val: 'bogus'", "invalid choice: 'bogus'"),
    (["--lang", "de", "check"], "ogiltigt val: 'de'", "invalid choice: 'de'"),
    (["history", "--limit", "x"], "'x' är inte ett antal poster", "'x' is not a number of entries"),
    (["watch", "--batch", "0"], "ett antal postlådor är från 1 till", "a number of mailboxes is from 1"),
])
def test_a_usage_error_is_one_swedish_sentence_and_exits_2(args, swedish, english):
    sv = run(*args, lang="sv_SE.UTF-8")
    en = run(*args)
    assert sv.returncode == en.returncode == 2
    assert sv.stderr.count("\n") == 1 and sv.stderr.startswith("mailbox-tui: fel: ") and swedish in sv.stderr
    assert "(se: mailbox-tui" in sv.stderr and "--help)" in sv.stderr
    assert en.stderr.startswith("mailbox-tui: error: ") and english in en.stderr


def test_argparses_words_are_lent_only_while_the_parser_is_used(capsys):
    import argparse
    import gettext

    with pytest.raises(SystemExit):
        main(["--lang", "sv", "check", "--nonsense"])
    assert "okända argument" in capsys.readouterr().err
    assert argparse._ is gettext.gettext and argparse.ngettext is gettext.ngettext


# ------------------------------------------------------------------------------------ import errors
BROKEN = {
    "cut.json": (b'{"users": [', "är inte giltig JSON: ett värde väntades (rad 1, kolumn 12)."),
    "shape.json": (b'{"profiles": 3}', "Avsnittet 'profiles' måste vara en lista med objekt, inte 3."),
    "rows.json": (b'{"users": [1]}', "users[1] måste vara ett objekt, inte 1."),
    "bytes.json": (b'{"users": [{"fullname": "\xff"}]}', "är inte UTF-8-text (ogiltig byte på position"),
    "extra.json": (b'{"unknown": []}', "Okänt avsnitt: 'unknown'. Förväntade profiles, users, queues, mailboxes."),
    "number.json": (b'{"users": [{"fullname": 1e999}]}', "number.json: talet '1e999' är för stort för alla fält."),
    "users.csv": (b"fullname,internalemailaddress\nA,a@example.com,extra\n",
                  "users.csv: rad 1 har 3 värden, men dess rubrikrad har 2 kolumner."),
}


@pytest.mark.parametrize("name", BROKEN)
def test_a_broken_import_file_is_one_swedish_sentence_and_writes_nothing(demo, tmp_path, name):
    data, swedish = BROKEN[name]
    path = tmp_path / name
    path.write_bytes(data)
    before = counts(demo)
    sv = run("import", path, "--db", f"sqlite:///{demo}", lang="sv_SE.UTF-8")
    en = run("import", path, "--db", f"sqlite:///{demo}")
    assert sv.returncode == en.returncode == 1
    assert sv.stderr.count("\n") == 1 and sv.stderr.startswith("mailbox-tui: fel: ") and swedish in sv.stderr
    assert en.stderr.startswith("mailbox-tui: error: ") and sv.stdout == en.stdout == ""
    assert counts(demo) == before


def test_wrong_fields_are_reported_in_swedish_and_json_stays_english(demo, tmp_path):
    path = tmp_path / "wrong.json"
    path.write_text(json.dumps({"users": [
        {"fullname": "Ada", "internalemailaddress": "ada@example.com", "isdisabled": "maybe", "shoesize": 42}]}))
    before = counts(demo)
    sv = run("--lang", "sv", "import", path, "--db", f"sqlite:///{demo}")
    en = run("import", path, "--db", f"sqlite:///{demo}")
    assert sv.returncode == en.returncode == 1
    assert "users[1] FORMAT error: isdisabled måste vara true eller false, inte 'maybe'." in sv.stderr
    assert "Ingenting skrevs: 1 fel." in sv.stderr
    assert "users[1] FORMAT warning: Okänt fält ignorerades: shoesize." in sv.stdout
    assert "isdisabled must be true or false, not 'maybe'." in en.stderr
    assert "Nothing was written: 1 error." in en.stderr
    outputs = [run(*lang, "--json", "import", path, "--db", f"sqlite:///{demo}").stdout
               for lang in ([], ["--lang", "sv"])]
    assert outputs[0] == outputs[1]
    findings = json.loads(outputs[0])["findings"]
    assert {f["message"] for f in findings} == {"isdisabled must be true or false, not 'maybe'.",
                                               "Ignored unknown field: shoesize."}
    assert counts(demo) == before


def test_an_import_and_a_dry_run_say_what_they_did_in_swedish(demo, tmp_path):
    path = tmp_path / "new.json"
    path.write_text(json.dumps({"users": [{"fullname": "Bo", "internalemailaddress": "bo@example.com"}]}))
    dry = run("--lang", "sv", "import", "--dry-run", path, "--db", f"sqlite:///{demo}")
    assert dry.returncode == 0 and dry.stdout.splitlines()[-1] == "Provkörning: inga fel, 1 varning; ingenting skrevs."
    done = run("--lang", "sv", "import", path, "--db", f"sqlite:///{demo}")
    assert done.returncode == 0
    said = done.stdout.splitlines()[-1]
    assert said.startswith("Importerat: e-postserverprofiler: 0 skapade/0 uppdaterade, användare: 1 skapade/")
    assert "`mailbox-tui undo " in said and said.endswith("ångrar den i sin helhet.")


# ------------------------------------------------------------------------------ --json both languages
@pytest.mark.parametrize("args", [["check"], ["export"], ["upgrade"]])
def test_json_is_identical_in_both_languages(demo, args):
    db = ["--db", f"sqlite:///{demo}"]
    en = run(*args, "--json", *db)
    sv = run(*args, "--json", *db, lang="sv_SE.UTF-8")
    assert en.returncode == sv.returncode == 0 and en.stdout == sv.stdout and en.stdout.strip()
    json.loads(en.stdout)


def test_check_export_and_demo_summaries_are_swedish(demo, tmp_path):
    check = run("--lang", "sv", "check", "--db", f"sqlite:///{demo}")
    assert re.fullmatch(r"0 fel, \d+ varning(ar)?\.", check.stdout.splitlines()[-1])
    out = tmp_path / "export.json"
    export = run("--lang", "sv", "export", "--out", out, "--db", f"sqlite:///{demo}")
    assert export.stderr.startswith("Exporterade 3 profiler, 3 användare, 5 köer, ")
    assert export.stderr.rstrip().endswith(f"till {out}.")
    assert json.loads(out.read_text())["users"]  # the exchange file itself: English field names
    seeded = run("--lang", "sv", "demo", "--users", "2", "--db", f"sqlite:///{tmp_path / 'new.db'}")
    assert seeded.stdout == ("Skapade 3 profiler, 2 användare, 5 köer, "
                             "1 postlåda för vidarebefordran.\n")
    english = run("demo", "--users", "2", "--db", f"sqlite:///{tmp_path / 'en.db'}")
    assert english.stdout == "Seeded 3 profiles, 2 users, 5 queues, 1 forward mailbox.\n"


def test_a_refused_export_target_is_swedish(demo, tmp_path):
    sv = run("--lang", "sv", "export", "--out", tmp_path, "--db", f"sqlite:///{demo}")
    assert sv.returncode == 2 and sv.stderr.startswith(f"mailbox-tui: fel: {tmp_path} är en mapp, inte en vanlig fil: "
                                                       "ingenting skrevs.")
    csv = run("--lang", "sv", "export", "--format", "csv", "--db", f"sqlite:///{demo}")
    assert csv.returncode == 2
    assert csv.stderr == "mailbox-tui: fel: CSV-export skriver en fil per posttyp: ange --out MAPP\n"


# ----------------------------------------------------------------------------- keys, locks, database
def test_a_key_file_others_can_read_is_refused_in_swedish(demo, tmp_path):
    key = tmp_path / "team.key"
    key.write_text(Fernet.generate_key().decode() + "\n")
    key.chmod(0o644)
    before = counts(demo)
    sv = run("check", "--key-file", key, "--db", f"sqlite:///{demo}", lang="sv_SE.UTF-8",
             env={"MAILBOX_TUI_KEY": ""})
    en = run("check", "--key-file", key, "--db", f"sqlite:///{demo}", env={"MAILBOX_TUI_KEY": ""})
    assert sv.returncode == en.returncode == 1
    assert sv.stderr == (f"mailbox-tui: fel: Nyckelfilen {key} kan läsas av andra användare (läge 644); den "
                         f"används inte. Åtgärda det med: chmod 600 {key} (eller chmod 640 för att dela den med "
                         "ditt teams grupp).\n")
    assert "is readable by other users (mode 644)" in en.stderr
    assert counts(demo) == before


def test_a_key_that_does_not_read_the_database_is_said_in_swedish(demo, tmp_path):
    other = Fernet.generate_key().decode()
    sv = run("--lang", "sv", "check", "--db", f"sqlite:///{demo}", env={"MAILBOX_TUI_KEY": other})
    assert ("mailbox-tui: varning: Nyckeln i $MAILBOX_TUI_KEY passar inte den här databasen. Ett team delar"
            in sv.stderr)
    assert "Poster kan fortfarande öppnas" in sv.stderr
    key_file = tmp_path / "k.key"
    key_file.write_text("not a key\n")
    key_file.chmod(0o600)
    bad = run("--lang", "sv", "check", "--key-file", key_file, "--db", f"sqlite:///{demo}",
              env={"MAILBOX_TUI_KEY": ""})
    assert bad.returncode == 1
    assert bad.stderr.startswith(f"mailbox-tui: fel: Nyckeln i {key_file} är inte en giltig Fernet-nyckel (44 tecken")


def test_a_missing_database_and_a_foreign_file_are_refused_in_swedish(tmp_path):
    missing = run("--lang", "sv", "check", "--db", f"sqlite:///{tmp_path / 'none.db'}")
    assert missing.returncode == 1 and f"Det finns ingen databas på {tmp_path / 'none.db'}: ingenting skapades." \
        in missing.stderr
    other = tmp_path / "notes.txt"
    other.write_text("hello")
    foreign = run("--lang", "sv", "check", "--db", f"sqlite:///{other}")
    assert foreign.returncode == 1 and "är ingen SQLite-databas (det är någon annan fil)" in foreign.stderr
    assert other.read_text() == "hello"


def test_a_database_locked_by_another_writer_is_said_in_swedish(demo, tmp_path, monkeypatch, capsys):
    """A real lock (another connection's write transaction on the same file); only the wait is shortened."""
    from mailbox_tui import cli_common

    monkeypatch.setattr(cli_common, "WRITE_WAIT_S", 0.3)
    path = tmp_path / "new.json"
    path.write_text(json.dumps({"users": [{"fullname": "Cy", "internalemailaddress": "cy@example.com"}]}))
    before = counts(demo)
    holder = sqlite3.connect(demo, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        code = main(["--lang", "sv", "import", str(path), "--db", f"sqlite:///{demo}"])
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    err = capsys.readouterr().err
    assert code == 1
    assert "mailbox-tui: väntar på att någon annan som skriver" in err
    assert f"mailbox-tui: fel: Ett annat program skriver till databasen sqlite:///{demo}" in err
    assert "ingenting skrevs" in err and "Traceback" not in err
    assert counts(demo) == before


# ------------------------------------------------------------------------------------ any argv
WORDS = st.sampled_from(["--json", "--db", "--key-file", "--log", "--as", "--dry-run", "--keep-secrets", "--out",
                         "--format", "json", "csv", "--users", "--all", "--failed", "--profile", "--concurrency",
                         "--deadline", "--prometheus", "--help", "-h", "--version", "--", "0", "5", "-3",
                         "1e3", "x@example.com", "nonsense", "--bogus", "=", "\x1b[2J", "\udcff"])
COMMANDS = st.sampled_from(["export", "import", "check", "test", "rotate-key", "health", "upgrade", "history",
                            "undo", "demo", "--bogus", "bogus"])


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(command=COMMANDS, rest=st.lists(st.one_of(WORDS, st.text(max_size=12)), max_size=6))
def test_any_arguments_in_swedish_exit_as_in_english_without_a_traceback(tmp_path, capsys, monkeypatch, command,
                                                                         rest):
    """Whatever the arguments, Swedish exits with English's status and never a traceback. The database
    does not exist (and --db is given last, so it wins), so no command reaches a server or writes; a
    --log or --out names a file in the test's own folder. (No "-": standard input is not this test's.)"""
    from mailbox_tui.cli import _setup_logging

    monkeypatch.chdir(tmp_path)
    if command == "demo":
        rest = [w for w in rest if w not in ("--help", "-h")] + ["--help"]  # demo would seed: only its help
    db = f"sqlite:///{tmp_path / 'absent' / 'none.db'}"
    codes = []
    for lang in ("en", "sv"):
        argv = ["--lang", lang, command, *[w for w in rest if w not in ("--lang", "--", "-")], "--db", db]
        try:
            codes.append(main(argv))
        except SystemExit as exc:
            codes.append(exc.code if isinstance(exc.code, int) else 2)
        _setup_logging(None)  # a --log's handler goes with the call
        out = capsys.readouterr()
        assert "Traceback" not in out.err and "Traceback" not in out.out
    assert codes[0] == codes[1], (command, rest, codes)
    assert not (tmp_path / "absent").exists()


# ------------------------------------------------------------------- the store's sentences read back
def test_store_errors_read_back_from_plain_english_are_swedish(tmp_path):
    """The app gets an error as str(exc), plain English: said() finds its template all the same, and keeps
    what came from outside (a path, the driver's words) exactly as it was."""
    from mailbox_tui import i18n
    from mailbox_tui.store.database import StoreError, describe_db_error, make_database
    from mailbox_tui.store.exchange import ImportFileError, open_source

    plain = []
    for attempt in (lambda: make_database(f"sqlite:///{tmp_path}"),
                    lambda: open_source(tmp_path / "absent.json")):
        with pytest.raises(StoreError) as caught:
            attempt()
        plain.append(str(caught.value))
    plain.append(str(describe_db_error(Exception("database is locked"), f"sqlite:///{tmp_path / 'x.db'}")))
    assert isinstance(caught.value, ImportFileError)
    assert [type(text) for text in plain] == [str, str, str]
    i18n.use(i18n.SWEDISH)
    assert i18n.said(plain[0]) == f"{tmp_path} är en mapp, inte en databasfil: ange sökvägen till en .db-fil."
    assert i18n.said(plain[1]) == f"{tmp_path / 'absent.json'} finns inte."
    assert i18n.said(plain[2]).startswith(f"Ett annat program skriver till databasen sqlite:///{tmp_path / 'x.db'} ")
