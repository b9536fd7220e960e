"""ui/terminal_output.compact: fewer bytes, the same cells on the terminal.

Every case renders the output Textual would write and its compacted form in a terminal emulator
(pyte, 80×24) and compares every cell: character, colours and attributes."""

from __future__ import annotations

import pyte
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from mailbox_tui.ui.terminal.output import Compactor, compact

COLS, ROWS = 80, 24
RESET = "\x1b[0m"
# SGRs as Textual writes them (ANSI theme), and some it might: reverse, underline, background
# colours, 256-colour and true-colour forms (whose numbers must not be read as attributes).
SGRS = ["\x1b[39;49m", "\x1b[1;39;49m", "\x1b[7;34;49m", "\x1b[39;40m", "\x1b[30;47m", "\x1b[1;4;39;49m",
        "\x1b[2;39;49m", "\x1b[38;5;7;49m", "\x1b[38;2;7;4;9m", "\x1b[48;5;7m", "\x1b[49m", "\x1b[9m",
        "\x1b[7m", "\x1b[27m", "\x1b[39;104m", "\x1b[53m", "\x1b[m", "", "\x1b[3;39;49m", "\x1b[22m",
        "\x1b[1;2m", "\x1b[23;24m", "\x1b[21m", "\x1b[5m", "\x1b[4:3m", "\x1b[38;5m", "\x1b[0;1;7;39;49m"]


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
    try:
        expected = cells(RESET + data)
    except TypeError:  # pyte itself cannot take some broken sequences ("\x1b[;a"): not an oracle there
        assume(False)
    assert cells(out) == expected
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


# -- ScreenDiff: only the cells a frame changes

from mailbox_tui.ui.terminal.output import ScreenDiff  # noqa: E402

OTHER = ["\x1b[?25l", "\x1b[?25h", "\x1b[?2026h", "\x1b[?2026l", "\x1b]0;title  with  spaces\x07", "\x1b[2J",
         "\x1b[K", "\x1b[?1049h", "\x1b[>25u", "\x07", "\x1b[3A", "\r\n", "\n"]
TEXT = st.sampled_from(" ab·▏x界é\u0301")


@st.composite
def screen_writes(draw) -> list[str]:
    """Writes as Textual makes them (positioned segments within the margin, resets between), with
    now and then something else: modes, a title, a clear, a relative move, a bell, line feeds."""
    writes = []
    for _ in range(draw(st.integers(1, 5))):
        parts = []
        for _ in range(draw(st.integers(1, 8))):
            if draw(st.integers(0, 5)) == 0:
                parts.append(draw(st.sampled_from(OTHER)))
                continue
            y, x = draw(st.integers(1, ROWS)), draw(st.integers(1, COLS))
            parts.append(f"\x1b[{y};{x}H")
            room = COLS - x + 1
            for _ in range(draw(st.integers(1, 3))):
                text = draw(st.text(TEXT, min_size=1, max_size=max(1, min(room, 30))))
                width = sum(2 if c == "界" else 0 if c == "\u0301" else 1 for c in text)
                # (a combining character at the margin: emulators disagree, pyte wraps; Textual keeps clear)
                if width > room or (width == room and "\u0301" in text):
                    break
                room -= width
                parts.append(draw(st.sampled_from(SGRS)) + text + RESET)
        writes.append("".join(parts))
    return writes


def pyte_screen() -> tuple[pyte.Screen, pyte.Stream]:
    screen = pyte.Screen(COLS, ROWS)
    return screen, pyte.Stream(screen)


def state(screen: pyte.Screen) -> list[list[tuple]]:
    return [[tuple(screen.buffer[y][x]) for x in range(COLS)] for y in range(ROWS)]


@settings(max_examples=400, deadline=None)
@given(st.lists(screen_writes(), min_size=1, max_size=3))
def test_writing_only_changes_draws_the_same_screen(batches):
    """Every write, passed through ScreenDiff (and the compactor, as the driver does), leaves the
    terminal showing exactly what the write itself would have, the cursor where it would be
    (the cursor is compared where no wide or combining character was written: where it waits after
    one at the margin, emulators differ, and Textual positions the cursor before it writes)."""
    plain, plain_stream = pyte_screen()
    diffed, diffed_stream = pyte_screen()
    diff, compactor = ScreenDiff(), Compactor()
    for batch in batches:
        for write in batch:
            plain_stream.feed(write)
            diffed_stream.feed(compactor.feed(diff.feed(write, (COLS, ROWS))))
            assert state(diffed) == state(plain)
            if (write.endswith(RESET) or write.endswith("H")) and "界" not in write and "\u0301" not in write:
                assert (diffed.cursor.x, diffed.cursor.y) == (plain.cursor.x, plain.cursor.y)


def test_a_frame_drawn_again_writes_almost_nothing():
    frame = "".join(f"\x1b[{y};1H\x1b[39;49m" + f"row {y} ".ljust(COLS) + RESET for y in range(1, ROWS + 1))
    diff = ScreenDiff()
    first = diff.feed(frame, (COLS, ROWS))
    again = diff.feed(frame, (COLS, ROWS))
    assert len(first) > COLS * ROWS and len(again) <= 16


def test_one_changed_word_is_written_alone():
    frame = "\x1b[5;1H\x1b[39;49m" + "User 000001    user000001@example.com".ljust(COLS) + RESET
    diff = ScreenDiff()
    diff.feed(frame, (COLS, ROWS))
    changed = diff.feed(frame.replace("000001", "000002"), (COLS, ROWS))
    assert len(changed) < 40, changed
    screen, stream = pyte_screen()
    stream.feed(frame)
    stream.feed(changed)
    assert screen.display[4].startswith("User 000002    user000002@example.com")


def test_a_resized_terminal_is_drawn_in_full_again():
    frame = "\x1b[1;1H\x1b[39;49m" + "x" * 20 + RESET
    diff = ScreenDiff()
    diff.feed(frame, (80, 24))
    assert "x" * 20 in diff.feed(frame, (100, 30))


def test_without_a_known_size_everything_is_written():
    frame = "\x1b[1;1H\x1b[39;49m" + "x" * 20 + RESET
    diff = ScreenDiff()
    assert diff.feed(frame, (0, 0)) == frame and diff.feed(frame, (0, 0)) == frame


def test_a_change_of_look_sends_only_what_differs():
    """One attribute on or off is sent as that, not as a reset and every colour again."""
    from mailbox_tui.ui.terminal.output import DEFAULT_LOOK, apply_sgr, sgr_between

    plain = apply_sgr(DEFAULT_LOOK, "39;49")
    italic = apply_sgr(plain, "3")
    assert sgr_between(plain, italic) == "\x1b[3m" and sgr_between(italic, plain) == "\x1b[0m"  # shortest
    bold_italic = apply_sgr(italic, "1")
    assert sgr_between(bold_italic, apply_sgr(plain, "1")) == "\x1b[23m"
    assert sgr_between(plain, apply_sgr(DEFAULT_LOOK, "0;39;49")) == ""
    assert sgr_between(None, italic) == "\x1b[0;3m"
    assert apply_sgr(DEFAULT_LOOK, "4:3") is None and apply_sgr(None, "1") is None


def test_after_leaving_the_alternate_screen_nothing_is_written_on_the_shells_screen():
    """The app's cursor and colours belong to the alternate screen: once it is left, the shell's
    cursor and colours are back, and the modes the app then resets are all that is written."""
    frame = "\x1b[?1049h\x1b[?25l\x1b[1;1H\x1b[1;39;49m" + "title".ljust(COLS) + RESET + "\x1b[24;2H\x1b[7m" + "x"
    diff = ScreenDiff()
    diff.feed(frame, (COLS, ROWS))
    assert diff.feed("\x1b[?2004l\x1b[?1049l", (COLS, ROWS)) == "\x1b[?2004l\x1b[?1049l"
    assert diff.feed("\x1b[?25h\x1b[?1004l", (COLS, ROWS)) == "\x1b[?25h\x1b[?1004l"
    assert diff.feed("\x1b[?1049h\x1b[1;1H" + RESET + "again", (COLS, ROWS)).endswith("again")  # back in: drawn
