"""Number arguments take ASCII digits only, in range, or are a usage error: exit 2, one line (issue 21, item 6).

`undo ENTRY`, `history --limit`, `demo --users`, `test --concurrency` are whole numbers; `test --deadline`
is seconds, digits with an optional fraction. Python's int() and float() take far more ("５", "1_0", "+3",
" 3", "٣", "1e3", "inf"), and an entry beyond SQLite's integers was "unexpected OverflowError", exit 1."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailbox_tui.cli import main, whole_number

# What int() or float() accept and a number argument must not.
NOT_DIGITS = {"fullwidth": "５", "underscore": "1_0", "plus": "+3", "leading space": " 3", "trailing space": "3 ",
              "arabic-indic": "٣", "devanagari": "३", "minus": "-1", "hex": "0x10", "exponent": "1e3", "empty": "",
              "fraction": "2.5", "letters": "ten", "escape": "3\x1b[2J"}
COMMANDS = {"undo": ["undo", "{}"], "history --limit": ["history", "--limit", "{}"],
            "demo --users": ["demo", "--users", "{}"], "test --concurrency": ["test", "--all", "--concurrency", "{}"]}
TOO_BIG = "99999999999999999999"
OUT_OF_RANGE = {"undo": ["0", TOO_BIG, "9223372036854775808", "9" * 5000],
                "history --limit": ["0", TOO_BIG, "9" * 5000],
                "demo --users": ["0", "1000001", TOO_BIG],
                "test --concurrency": ["0", "1001", TOO_BIG],
                "test --deadline": ["0", "0.0", "2592001", TOO_BIG, "9" * 400]}
DEADLINE_NOT_DIGITS = {"fullwidth": "５", "underscore": "1_0", "plus": "+3", "leading space": " 3", "arabic-indic": "٣",
                       "exponent": "1e3", "infinity": "inf", "nan": "nan", "minus": "-1", "hex": "0x10", "empty": "",
                       "two points": "1.2.3", "comma": "2,5"}


def usage_error(capsys, argv: list[str]) -> str:
    with pytest.raises(SystemExit) as exited:
        main(argv)
    err = capsys.readouterr().err
    assert exited.value.code == 2, err
    assert err.count("\n") == 1 and err.startswith("mailbox-tui: error: "), err
    assert "\x1b" not in err and "Traceback" not in err
    return err


@pytest.mark.parametrize("text", NOT_DIGITS.values(), ids=NOT_DIGITS.keys())
@pytest.mark.parametrize("command", COMMANDS)
def test_a_whole_number_argument_takes_ascii_digits_only(capsys, tmp_path, command, text):
    argv = [a.format(text) for a in COMMANDS[command]] + ["--db", f"sqlite:///{tmp_path / 'none.db'}"]
    usage_error(capsys, argv)
    assert not (tmp_path / "none.db").exists()  # refused before anything was opened


@pytest.mark.parametrize("text", DEADLINE_NOT_DIGITS.values(), ids=DEADLINE_NOT_DIGITS.keys())
def test_deadline_takes_ascii_digits_with_an_optional_fraction_only(capsys, tmp_path, text):
    usage_error(capsys, ["test", "--all", "--deadline", text, "--db", f"sqlite:///{tmp_path / 'none.db'}"])


@pytest.mark.parametrize("command, text", [(c, t) for c, texts in OUT_OF_RANGE.items() for t in texts],
                         ids=lambda v: v if len(v) < 30 else f"{len(v)} digits")
def test_a_number_out_of_range_is_a_usage_error_that_says_the_range(capsys, tmp_path, command, text):
    argv = (["test", "--all", "--deadline", text] if command == "test --deadline"
            else [a.format(text) for a in COMMANDS[command]])
    err = usage_error(capsys, [*argv, "--db", f"sqlite:///{tmp_path / 'none.db'}"])
    assert " from " in err or "more than 0" in err, err
    assert len(err) < 300  # a 5000-digit number is not repeated whole


@pytest.mark.parametrize("argv", [["undo", "#12"], ["undo", "007"], ["history", "--limit", "10"],
                                  ["test", "--all", "--concurrency", "1000"], ["test", "--all", "--deadline", "2.5"],
                                  ["test", "--all", "--deadline", "2592000"], ["demo", "--users", "1"],
                                  ["undo", "9223372036854775807"]], ids=" ".join)
def test_numbers_in_range_are_taken(argv):
    from mailbox_tui.cli import build_parser

    args = build_parser().parse_args(argv)
    assert args.command == argv[0]


def run(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mailbox_tui", *args], capture_output=True, text=True,
                          env=os.environ.copy(), timeout=120, stdin=subprocess.DEVNULL)


def test_undo_of_an_entry_beyond_any_integer_is_a_usage_error_not_an_overflow(tmp_path):
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    assert run("demo", "--db", db, "--users", "2").returncode == 0
    result = run("undo", TOO_BIG, "--db", db)
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("\n") == 1 and "OverflowError" not in result.stderr and "unexpected" not in result.stderr
    assert "ENTRY" in result.stderr or "entry" in result.stderr
    biggest = run("undo", "9223372036854775807", "--db", db)  # a number SQLite can hold: there is no such entry
    assert biggest.returncode == 1 and "unexpected" not in biggest.stderr, biggest.stderr


@given(st.one_of(st.text(max_size=25), st.integers(min_value=-10**25, max_value=10**25).map(str),
                 st.text(st.sampled_from("0123456789٠١٢３４_+- .e"), max_size=25)))
def test_whole_number_is_ascii_digits_in_range_or_a_usage_error(text):
    try:
        value = whole_number(text, 1, 1000, "a number")
    except argparse.ArgumentTypeError as exc:
        assert str(exc) and "\n" not in str(exc)
        assert not (text.isascii() and text.isdigit() and 1 <= int(text) <= 1000)
        return
    assert text.isascii() and text.isdigit() and value == int(text) and 1 <= value <= 1000
