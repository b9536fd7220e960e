"""Reading keys from a terminal over SSH: Escape followed by a key in the same read.
(And the driver that writes to it: see SshLinuxDriver.)

An admin who presses Escape and then `y` quickly, over a link that coalesces keystrokes, sends
ESC y in one read. Textual's parser reads that as alt+y (the character `y`, typed into the
focused field), and when another ESC follows before its timeout it turns the first ESC into a
`^` character. This app binds no alt keys (they often never reach an app over SSH), so ESC
followed by anything that does not start a terminal sequence is the Escape key, then that key.
"""

from __future__ import annotations

import os
import selectors
from codecs import getincrementaldecoder

from textual._parser import ParseTimeout
from textual._xterm_parser import XTermParser
from textual.drivers.linux_driver import LinuxDriver

from .terminal_output import Compactor, ScreenDiff

ESC = "\x1b"
# After ESC, these start a sequence a terminal sends (CSI, SS3); anything else is a key of its own.
SEQUENCE_INTRODUCERS = frozenset("[O")
PASTE_START, PASTE_END = "\x1b[200~", "\x1b[201~"


class SshKeyParser(XTermParser):
    """XTermParser that reads ESC + key as two keys, Escape and that key."""

    def __init__(self, debug: bool = False) -> None:
        super().__init__(debug)
        self._lone_escape = False  # the last character fed was an ESC: the Escape key or a sequence
        self._in_paste = False

    def feed(self, data: str):
        start = 0
        for index, character in enumerate(data):
            if self._in_paste:
                if data.startswith(PASTE_END, index):
                    self._in_paste = False
                continue
            if data.startswith(PASTE_START, index):
                self._in_paste = True
                self._lone_escape = False
                continue
            if self._lone_escape and character not in SEQUENCE_INTRODUCERS:
                # The ESC before this character was the Escape key: report it before going on.
                if index > start:
                    yield from super().feed(data[start:index])  # (an empty feed means end of input)
                start = index
                if self._timeout_time is not None:  # still waiting to see whether a sequence follows
                    yield from self._escape_now()
            self._lone_escape = character == ESC
        if start < len(data) or not data:
            yield from super().feed(data[start:])

    def _escape_now(self):
        """What the parser does when no more characters follow an ESC in time (as `tick` does)."""
        self._timeout_time = None
        self._awaiting = self._gen.throw(ParseTimeout())
        while self._tokens:
            yield self._tokens.popleft()


class SshLinuxDriver(LinuxDriver):
    """Textual's Linux driver with the SSH-aware key parser, writing only the cells a frame
    changes, blank runs compactly (ui/terminal_output.py); everything else as Textual does it."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._screen = ScreenDiff()
        self._compactor = Compactor()

    def write(self, data: str) -> None:
        try:  # the terminal's own size, as it is now (COLUMNS and LINES don't follow a resize)
            size = tuple(os.get_terminal_size(self._file.fileno()))
        except (AttributeError, OSError, ValueError):
            size = (0, 0)
        super().write(self._compactor.feed(self._screen.feed(data, size)))

    def run_input_thread(self) -> None:
        # As LinuxDriver.run_input_thread (Textual 8.2), with SshKeyParser in place of XTermParser.
        selector = selectors.SelectSelector()
        selector.register(self.fileno, selectors.EVENT_READ)
        fileno = self.fileno
        parser = SshKeyParser(self._debug)
        decode = getincrementaldecoder("utf-8")().decode

        def process_selector_events(selector_events, final: bool = False) -> None:
            for number, (_key, mask) in enumerate(selector_events):
                last = number == len(selector_events) - 1
                if mask & selectors.EVENT_READ:
                    unicode_data = decode(os.read(fileno, 1024 * 4), final=final and last)
                    if not unicode_data:
                        break
                    for event in parser.feed(unicode_data):
                        self.process_message(event)
            for event in parser.tick():
                self.process_message(event)

        try:
            while not self.exit_event.is_set():
                process_selector_events(selector.select(0.1))
            selector.unregister(self.fileno)
            process_selector_events(selector.select(0.1), final=True)
        finally:
            selector.close()
            try:
                for _event in parser.feed(""):
                    pass
            except (EOFError, Exception):
                pass
