"""The SSH key parser (ui/terminal/driver.py), fed bytes in-process, read by read, as the input
thread feeds it what the terminal sends.

The contract (the module's docstring): the app binds no alt keys, so ESC followed by anything that
does not start a terminal sequence (CSI `ESC [`, SS3 `ESC O`) is the Escape key and then that key,
whether they came in one read or two; a lone ESC is the Escape key once ESCDELAY has passed with
nothing after it; sequences and bracketed pastes are Textual's, however the reads cut them."""

from __future__ import annotations

import time

import pytest
from textual import constants, events

from mailbox_tui.ui.terminal.driver import SshKeyParser

ESC = "\x1b"
PASTE_START, PASTE_END = "\x1b[200~", "\x1b[201~"


def described(event) -> object:
    if isinstance(event, events.Key):
        return event.key
    if isinstance(event, events.Paste):
        return ("paste", event.text)
    return type(event).__name__


def parse(*reads: str, wait: bool = False, parser: SshKeyParser | None = None) -> list:
    """What the parser reports for these reads, in order (each read followed by a tick, as the
    input thread does); with `wait`, after ESCDELAY has then passed with nothing more read."""
    parser = parser or SshKeyParser()
    out = []
    for data in reads:
        out += parser.feed(data)
        out += parser.tick()
    if wait:
        time.sleep(constants.ESCAPE_DELAY + 0.05)
        out += parser.tick()
    return [described(e) for e in out]


def test_escape_then_y_in_one_read_is_two_keys():
    parser = SshKeyParser()
    found = list(parser.feed(ESC + "y"))
    assert [described(e) for e in found] == ["escape", "y"]
    escape, y = found
    assert escape.character == ESC and not escape.is_printable  # the Escape key as Textual makes it
    assert y.character == "y" and y.is_printable


def test_escape_at_the_end_of_a_read_and_y_in_the_next_is_two_keys():
    assert parse(ESC, "y") == ["escape", "y"]


def test_escape_escape_is_two_escape_keys():
    assert parse(ESC + ESC, wait=True) == ["escape", "escape"]
    assert parse(ESC + ESC + "y") == ["escape", "escape", "y"]
    assert parse(ESC, ESC, "y") == ["escape", "escape", "y"]


@pytest.mark.parametrize("reads", [[ESC + "[A"], [ESC, "[A"], [ESC + "[", "A"]])
def test_escape_bracket_a_is_the_up_key_however_the_reads_cut_it(reads):
    assert parse(*reads) == ["up"]


def test_escape_then_y_after_a_sequence_is_still_two_keys():
    assert parse(ESC + "[A" + ESC + "y" + ESC + "OP") == ["up", "escape", "y", "f1"]


def test_a_lone_escape_is_the_escape_key_once_the_delay_has_passed():
    parser = SshKeyParser()
    assert parse(ESC, wait=True, parser=parser) == ["escape"]
    assert parse("", parser=parser) == []  # reported once, not again at the end of input


def test_a_lone_escape_waits_for_what_follows_before_the_delay():
    parser = SshKeyParser()
    assert parse(ESC, parser=parser) == []  # a sequence may be on its way
    assert parse("[B", parser=parser) == ["down"]


def test_a_lone_escape_at_the_end_of_input_is_the_escape_key():
    assert parse(ESC, "") == ["escape"]


def test_plain_text_is_its_characters():
    assert parse("ab 1") == ["a", "b", "space", "1"]


PASTE = PASTE_START + "hello [world]" + PASTE_END + ESC + "y"


@pytest.mark.parametrize("cut", range(1, len(PASTE)))
def test_a_bracketed_paste_cut_anywhere_is_one_paste_and_escape_y_after_it_two_keys(cut):
    assert parse(PASTE[:cut], PASTE[cut:]) == [("paste", "hello [world]"), "escape", "y"]


def test_a_paste_in_many_reads_keeps_escape_y_inside_it():
    """Inside a paste, ESC y is pasted text, not keys: the parser does not split it."""
    text = "a" * 5000
    whole = PASTE_START + text + PASTE_END
    reads = [whole[i:i + 4096] for i in range(0, len(whole), 4096)]
    assert parse(*reads) == [("paste", text)]
