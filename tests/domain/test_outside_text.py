"""The one rule for text from outside (domain/outside_text.py): every control character made visible,
ordinary text left alone, JSON kept exact (issue 21, item 1)."""

from __future__ import annotations

import json
import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st

from mailbox_tui.domain.outside_text import json_for_terminal, visible, visible_lines, visible_same_width

# Text as an attacker sends it: control characters, escape sequences, markup, and ordinary Unicode.
PIECES = st.sampled_from(["\x1b]52;c;Y3VybA==\x1b\\", "\x1b[2J", "\x9b31m", "\x07", "\r", "\n", "\t", "\x00",
                          "\x7f", "\x85", "[b]", "[/b]", "[link=https://evil.example]", "\\", "ü", "漢", "🙂"])
OUTSIDE = st.lists(st.one_of(PIECES, st.text()), max_size=12).map("".join)


def control_chars(text: str) -> list[str]:
    return [c for c in text if unicodedata.category(c) in ("Cc", "Cs")]


def test_escape_sequences_and_line_breaks_are_shown_as_control_pictures():
    assert visible("a\x1b]52;c;Y3VybA==\x1b\\b") == "a␛]52;c;Y3VybA==␛\\b"
    assert visible("one\ntwo\tthree\rfour\x07\x00\x7f") == "one␊two␉three␍four␇␀␡"
    assert visible("\x9b31m \x85") == "\\x9b31m \\x85"  # C1 has no picture: a hex escape
    assert visible("\udcff") == "\\udcff"  # an undecodable byte of a file name


def test_ordinary_text_is_left_alone():
    for text in ("", "Alice Berg", "Zoë-pässwörd-Ω42", "漢字 🙂", "[b]markup is the screen's concern[/b]", "a\\x1b"):
        assert visible(text) is text or visible(text) == text
        assert visible_lines(text) == text and visible_same_width(text) == text


def test_visible_lines_keeps_only_the_line_feed():
    assert visible_lines("one\ntwo\x1b[2J\r\n") == "one\ntwo␛[2J␍\n"


@settings(max_examples=150, deadline=None)
@given(OUTSIDE)
def test_nothing_a_terminal_obeys_is_left(text):
    for shown in (visible(text), visible_same_width(text)):
        assert control_chars(shown) == []
        shown.encode("utf-8")  # printable to any UTF-8 terminal: no lone surrogate
    assert [c for c in control_chars(visible_lines(text)) if c != "\n"] == []
    assert visible_lines(text).count("\n") == text.count("\n")
    assert visible(visible(text)) == visible(text)


@settings(max_examples=150, deadline=None)
@given(OUTSIDE)
def test_a_text_field_keeps_one_character_per_character(text):
    """The cursor of a text field counts characters: each control character becomes exactly one."""
    shown = visible_same_width(text)
    assert len(shown) == len(text)
    assert [a for a, b in zip(shown, text) if a != b and unicodedata.category(b) not in ("Cc", "Cs")] == []


@settings(max_examples=150, deadline=None)
@given(st.recursive(st.one_of(st.none(), st.booleans(), st.integers(), OUTSIDE),
                    lambda inner: st.one_of(st.lists(inner, max_size=4),
                                            st.dictionaries(OUTSIDE, inner, max_size=4)), max_leaves=10))
def test_json_for_a_terminal_is_the_same_json_with_nothing_raw(data):
    text = json.dumps(data, indent=2, ensure_ascii=False)
    shown = json_for_terminal(text)
    assert [c for c in control_chars(shown) if c != "\n"] == []
    assert json.loads(shown) == data  # the real text, escaped as JSON
