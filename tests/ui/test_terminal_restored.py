"""The terminal is left as it was found: after the app quits, or crashes, the shell's screen is
what it was before the app started and the shell's next line goes below it.

A shell in a real pseudo-terminal (80×24, TERM=xterm) prints a line, runs the installed app,
and prints another line when it ends. The whole session's bytes are rendered by an xterm-like
screen: pyte, given the alternate screen that the app draws on (xterm's mode 1049, which pyte
lacks). Until this was fixed, the app moved the cursor to the top of the shell's screen after
leaving the alternate screen, and the shell's next line overwrote its first."""

from __future__ import annotations

import re
import sys
import time

import pyte
import pytest
from support.terminal import TerminalApp, console_script, demo_database

ALT_SCREEN = 1049


class XtermScreen(pyte.Screen):
    """pyte's screen with xterm's alternate screen: mode 1049 saves the cursor and switches to a
    blank screen; leaving it brings back the main screen as it was and restores the cursor."""

    def __init__(self, columns: int, lines: int) -> None:
        super().__init__(columns, lines)
        self.main: tuple | None = None

    def set_mode(self, *modes, **kwargs) -> None:
        if kwargs.get("private") and ALT_SCREEN in modes:
            if self.main is None:
                rows = {y: dict(row) for y, row in self.buffer.items()}
                self.main = (rows, self.cursor.x, self.cursor.y, self.cursor.attrs)
                self.buffer.clear()
                self.dirty.update(range(self.lines))
            modes = tuple(m for m in modes if m != ALT_SCREEN)
        super().set_mode(*modes, **kwargs)

    def reset_mode(self, *modes, **kwargs) -> None:
        if kwargs.get("private") and ALT_SCREEN in modes:
            if self.main is not None:
                rows, self.cursor.x, self.cursor.y, self.cursor.attrs = self.main
                self.main = None
                self.buffer.clear()
                for y, row in rows.items():
                    self.buffer[y].update(row)
                self.dirty.update(range(self.lines))
            modes = tuple(m for m in modes if m != ALT_SCREEN)
        super().reset_mode(*modes, **kwargs)


def rendered(data: bytes, cols: int, rows: int) -> list[str]:
    screen = XtermScreen(cols, rows)
    pyte.ByteStream(screen).feed(data)
    return [line.rstrip() for line in screen.display]


def test_the_xterm_screen_keeps_the_main_screen_under_the_alternate_one():
    """(The renderer these tests rely on: without it they would pass or fail for pyte's reasons.)"""
    lines = rendered(b"one\r\n\x1b[?1049h\x1b[1;1Hdrawn\x1b[?1049ltwo\r\n", 20, 4)
    assert lines[:2] == ["one", "two"]
    lines = rendered(b"one\r\n\x1b[?1049h\x1b[1;1Hdrawn\x1b[1;2Htwo", 20, 4)
    assert lines[0] == "dtwon"


@pytest.fixture(scope="module")
def organisation(tmp_path_factory):
    return demo_database(tmp_path_factory.mktemp("restored"), users=20)


# The crash: an action raising, in the installed app otherwise unchanged (F1 runs it).
CRASHING_APP = ("import sys\n"
                "from mailbox_tui.ui.app import MailboxApp\n"
                "def crash(self):\n"
                "    raise RuntimeError('crash for the test')\n"
                "MailboxApp.action_help = crash\n"
                "from mailbox_tui.cli import entry\n"
                "sys.exit(entry())\n")


def session(organisation, tmp_path, app: list[str], *keys: str, wait_for: str | None = None) -> bytes:
    """A shell prints BEFORE, runs `app`, which is sent `keys` one by one (after the first, once
    `wait_for` is on screen) until it ends, then prints AFTER and the exit code: everything the
    terminal received."""
    path, key_text, acting = organisation
    home = tmp_path / "home"
    env = {"MAILBOX_TUI_KEY": key_text, "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"),
           "XDG_DATA_HOME": str(home / ".local" / "share")}
    script = 'echo BEFORE; "$0" "$@"; echo "AFTER $?"'
    term = TerminalApp(["--db", f"sqlite:///{path}", "--as", acting, "--no-mouse"], env,
                       program=["sh", "-c", script, *app])
    try:
        term.wait_for("Email Address")
        term.wait_quiet(0.3)
        for number, key in enumerate(keys):
            term.press(key)
            if number == 0 and wait_for:
                term.wait_for(wait_for)
            term.wait_quiet(0.3)
        end = time.monotonic() + 20
        while term.proc.isalive() and time.monotonic() < end:
            time.sleep(0.05)
        assert not term.proc.isalive(), f"the app did not end; the screen shows:\n{term.text()}"
    finally:
        term.close()
    with term.lock:
        return b"".join(term.reads)


def after_the_alternate_screen(data: bytes) -> bytes:
    """What the app wrote once it had left the alternate screen, up to the shell's AFTER."""
    left = data.rindex(b"\x1b[?1049l") + len(b"\x1b[?1049l")
    return data[left:data.index(b"AFTER", left)]


def test_after_ctrl_q_the_shells_screen_is_as_it_was_and_the_next_line_goes_below(organisation, tmp_path):
    data = session(organisation, tmp_path, [console_script()], "ctrl+q")
    lines = rendered(data, 80, 24)
    assert lines[:2] == ["BEFORE", "AFTER 0"] and not any(lines[2:]), lines[:4]
    # Nothing is drawn on the shell's screen: only the modes Textual set are reset.
    assert re.fullmatch(rb"(\x1b\[\?\d+[hl])*", after_the_alternate_screen(data)), after_the_alternate_screen(data)


def test_after_a_crash_the_shells_screen_is_kept_and_the_error_and_next_line_go_below(organisation, tmp_path):
    data = session(organisation, tmp_path, [sys.executable, "-c", CRASHING_APP], "f1")
    lines = rendered(data, 80, 200)  # tall enough for the whole traceback under BEFORE
    assert lines[0] == "BEFORE"
    error = next(y for y, line in enumerate(lines) if "RuntimeError: crash for the test" in line)
    after = next(y for y, line in enumerate(lines) if line.startswith("AFTER"))
    assert 0 < error < after and lines[after] == "AFTER 1" and not any(lines[after + 1:])
    # The traceback is text and colours, printed where the shell left the cursor: no move.
    moves = re.findall(rb"\x1b\[[0-9;]*[A-HJKf]", after_the_alternate_screen(data))
    assert moves == [], moves


# A fault in the driver's own output step (ui/terminal/output.py) from F1 on: the help screen and
# everything after it are drawn by Textual's writes alone.
FAULTY_OUTPUT = ("import sys\n"
                 "from mailbox_tui.ui.terminal import output as terminal_output\n"
                 "from mailbox_tui.ui.app import MailboxApp\n"
                 "broken, feed, help = [], terminal_output.ScreenDiff.feed, MailboxApp.action_help\n"
                 "def faulty(self, data, size):\n"
                 "    if broken:\n"
                 "        raise ValueError('a fault for the test')\n"
                 "    return feed(self, data, size)\n"
                 "def help_then_fault(self):\n"
                 "    broken.append(True)\n"
                 "    help(self)\n"
                 "terminal_output.ScreenDiff.feed = faulty\n"
                 "MailboxApp.action_help = help_then_fault\n"
                 "from mailbox_tui.cli import entry\n"
                 "sys.exit(entry())\n")


def test_a_fault_in_writing_only_changes_still_draws_and_gives_the_terminal_back(organisation, tmp_path):
    data = session(organisation, tmp_path, [sys.executable, "-c", FAULTY_OUTPUT], "f1", "escape", "ctrl+q",
                   wait_for="Keys: Mailboxes")
    lines = rendered(data, 80, 24)
    assert lines[:2] == ["BEFORE", "AFTER 0"] and not any(lines[2:]), lines[:4]
