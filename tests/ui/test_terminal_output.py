"""ui/terminal_output.compact: fewer bytes, the same cells on the terminal.

Every case renders the output Textual would write and its compacted form in a terminal emulator
(pyte, 80×24) and compares every cell: character, colours and attributes."""

from __future__ import annotations

import pyte
from hypothesis import given, settings
from hypothesis import strategies as st

from mailbox_tui.ui.terminal_output import Compactor, compact

COLS, ROWS = 80, 24
RESET = "\x1b[0m"
# SGRs as Textual writes them (ANSI theme), and some it might: reverse, underline, background
# colours, 256-colour and true-colour forms (whose numbers must not be read as attributes).
SGRS = ["\x1b[39;49m", "\x1b[1;39;49m", "\x1b[7;34;49m", "\x1b[39;40m", "\x1b[30;47m", "\x1b[1;4;39;49m",
        "\x1b[2;39;49m", "\x1b[38;5;7;49m", "\x1b[38;2;7;4;9m", "\x1b[48;5;7m", "\x1b[49m", "\x1b[9m",
        "\x1b[7m", "\x1b[27m", "\x1b[39;104m", "\x1b[53m", "\x1b[m", ""]


def cells(data: str) -> list[list[tuple]]:
    screen = pyte.Screen(COLS, ROWS)
    pyte.Stream(screen).feed(data)
    return [[tuple(screen.buffer[y][x]) for x in range(COLS)] for y in range(ROWS)]


@st.composite
def frames(draw) -> str:
    """Lines positioned as Textual positions them, segments that never pass the right margin."""
    out = []
    for _ in range(draw(st.integers(1, 6))):
        y, x = draw(st.integers(1, ROWS)), draw(st.integers(1, COLS))
        out.append(f"\x1b[{y};{x}H")
        room = COLS - x + 1
        for _ in range(draw(st.integers(1, 4))):
            if room <= 0:
                break
            text = draw(st.text(st.sampled_from(" a·▏x"), min_size=1, max_size=room))
            room -= len(text)
            out.append(draw(st.sampled_from(SGRS)) + text + draw(st.sampled_from([RESET, ""])))
        if draw(st.booleans()):
            out.append("\r\n")
    return "".join(out)


@settings(max_examples=400, deadline=None)
@given(frames())
def test_compacted_output_draws_the_same_cells(frame):
    assert cells(compact(frame)) == cells(frame)


@settings(max_examples=200, deadline=None)
@given(st.lists(frames(), min_size=2, max_size=4))
def test_frames_written_one_after_another_draw_the_same(frames_):
    compactor = Compactor()
    assert cells("".join(compactor.feed(f) for f in frames_)) == cells("".join(frames_))


@settings(max_examples=200, deadline=None)
@given(frames(), st.data())
def test_a_write_cut_anywhere_draws_the_same(frame, data):
    """Two writes that split a sequence (or a run) between them draw what the whole one draws."""
    cut = data.draw(st.integers(0, len(frame)))
    compactor = Compactor()
    assert cells(compactor.feed(frame[:cut]) + compactor.feed(frame[cut:])) == cells(frame)


@settings(max_examples=300, deadline=None)
@given(st.text(st.sampled_from("\x1b[]0123456789;?mHXCP_\x07\\a· "), max_size=60))
def test_nothing_is_lost_or_reordered(data):
    """Whatever is written (a broken sequence too) comes out whole, blank runs aside."""
    compactor = Compactor()
    out = compactor.feed(RESET + data)
    assert cells(out) == cells(RESET + data)
    assert compact(data.replace(" ", "")) == data.replace(" ", "")


def test_a_blank_row_becomes_a_few_bytes():
    row = RESET + "\x1b[7;1H\x1b[39;49m" + " " * 80 + RESET + "\r\n"
    small = compact(row)
    assert len(small) < 40  # from 100
    assert "\x1b[80X\x1b[80C" in small
    assert cells(small) == cells(row)


def test_blanks_that_show_are_written():
    """Reverse video (the cursor row), underline and a background colour show on a blank cell:
    an erased cell would not."""
    for sgr in ("\x1b[7;34;49m", "\x1b[1;4;39;49m", "\x1b[39;40m", "\x1b[48;5;7m", "\x1b[39;104m"):
        line = RESET + "\x1b[3;1H" + sgr + " " * 40 + RESET
        assert compact(line) == line, sgr


def test_colour_numbers_are_not_attributes():
    """38;5;7 is colour 7, not reverse video: its blanks can be erased."""
    line = RESET + "\x1b[3;1H\x1b[38;5;7;49m" + " " * 40 + RESET
    assert "\x1b[40X" in compact(line)


def test_nothing_is_compacted_before_a_known_state():
    """A write may begin in the middle of what another write set up: until a reset, the colours
    in force are unknown."""
    line = "\x1b[3;1H" + " " * 40 + "\x1b[1m" + " " * 40
    assert compact(line) == line


def test_strings_such_as_a_window_title_are_left_alone():
    title = RESET + "\x1b]0;mailbox-tui          as someone\x07"
    assert compact(title) == title


def test_short_runs_stay_spaces():
    line = RESET + "\x1b[39;49m" + "a     b" + RESET
    assert compact(line) == line
