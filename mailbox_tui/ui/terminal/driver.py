"""Reading keys from a terminal over SSH: Escape followed by a key in the same read.
(And the driver that writes to it: see SshLinuxDriver.)

An admin who presses Escape and then `y` quickly, over a link that coalesces keystrokes, sends
ESC y in one read. Textual's parser reads that as alt+y (the character `y`, typed into the
focused field), and when another ESC follows before its timeout it turns the first ESC into a
`^` character. This app binds no alt keys (they often never reach an app over SSH), so ESC
followed by anything that does not start a terminal sequence is the Escape key, then that key.
"""

from __future__ import annotations

import logging
import os
import re
import selectors
import sys
import time
from codecs import getincrementaldecoder
from collections.abc import Iterator

from textual import constants, events
from textual.drivers.linux_driver import LinuxDriver
from textual.message import Message

from .output import Compactor, ScreenDiff
from ..textual_internals import XTermParser

ESC = "\x1b"
# After ESC, these start a sequence a terminal sends (CSI, SS3); anything else is a key of its own.
SEQUENCE_INTRODUCERS = frozenset("[O")
POINTER_SHAPE = re.compile(r"\x1b\]22;([^\x07\x1b]*)\x07")  # OSC 22: the mouse pointer's shape
PASTE_START, PASTE_END = "\x1b[200~", "\x1b[201~"
log = logging.getLogger(__name__)


def escape_key() -> events.Key:
    """The Escape key, as Textual's own parser reports it."""
    return events.Key("escape", ESC)


class SshKeyParser:
    """Textual's terminal parser, except that ESC + key is two keys, Escape and that key.

    Every character goes to Textual's parser but an ESC that does not start a sequence: that one
    is held until the next character shows what it is (or ESCDELAY passes with none), then
    reported as the Escape key. Bracketed pastes pass whole, however the reads cut them."""

    def __init__(self, debug: bool = False) -> None:
        self.parser = XTermParser(debug)
        self.escape_since: float | None = None  # an ESC is held back: when it was read
        self.in_paste = False
        self.matched = 0  # how much of the paste marker being looked for the last characters were

    def feed(self, data: str) -> Iterator[Message]:
        """The events `data` completes (empty `data`: the end of input)."""
        if not data:
            if self.escape_since is not None:
                self.escape_since = None
                yield escape_key()
            yield from self.parser.feed("")
            return
        start = 0  # data[start:index] goes to Textual's parser as it is
        for index, character in enumerate(data):
            if self.in_paste:
                self.in_paste = not self._marker(PASTE_END, character)
                continue
            if self.escape_since is not None:  # the held ESC: a sequence, or the Escape key?
                self.escape_since = None
                if character in SEQUENCE_INTRODUCERS:
                    yield from self.parser.feed(ESC)
                else:
                    yield escape_key()
            if character == ESC:
                if index > start:
                    yield from self.parser.feed(data[start:index])
                start = index + 1
                self.escape_since = time.monotonic()
            self.in_paste = self._marker(PASTE_START, character)
        if start < len(data):
            yield from self.parser.feed(data[start:])

    def tick(self) -> Iterator[Message]:
        """Events that are due because nothing more was read (call it regularly)."""
        yield from self.parser.tick()
        if self.escape_since is not None and time.monotonic() - self.escape_since >= constants.ESCAPE_DELAY:
            self.escape_since = None
            yield escape_key()

    def _marker(self, marker: str, character: str) -> bool:
        """Whether `character` completes `marker` (a paste's start or end: ESC is only its first)."""
        if character == marker[self.matched]:
            self.matched += 1
        else:
            self.matched = 1 if character == ESC else 0
        if self.matched == len(marker):
            self.matched = 0
            return True
        return False


class SshLinuxDriver(LinuxDriver):
    """Textual's Linux driver with the SSH-aware key parser, writing only the cells a frame
    changes, blank runs compactly (ui/terminal/output.py); everything else as Textual does it."""

    def __init__(self, app, *, debug: bool = False, mouse: bool = True, size: tuple[int, int] | None = None) -> None:
        super().__init__(app, debug=debug, mouse=mouse, size=size)
        self.debug_keys = debug  # Textual's parser then logs what it reads to keys.log
        self.screen_diff: ScreenDiff | None = ScreenDiff()
        self.compactor: Compactor | None = Compactor()

    _pointer_shape: str | None = None  # the last pointer shape sent (OSC 22)

    def write(self, data: str) -> None:
        if "\x1b]22;" in data:
            data = POINTER_SHAPE.sub(self._pointer_shape_if_new, data)
            if not data:
                return
        if self.screen_diff is not None:
            try:  # the terminal's own size, as it is now (COLUMNS and LINES don't follow a resize)
                size = tuple(os.get_terminal_size(sys.__stderr__.fileno()))  # LinuxDriver writes to stderr
            except (AttributeError, OSError, ValueError):
                size = (0, 0)
            try:
                data = self.compactor.feed(self.screen_diff.feed(data, size))
            except Exception:
                # A fault here must not stop the app from drawing, nor from giving the terminal
                # back as it found it: from now on Textual's own output goes out as it is.
                log.exception("writing only what changed failed; writing whole frames from now on")
                # (What it wrote before is on the terminal; Textual positions and styles each line.)
                self.screen_diff = self.compactor = None
        super().write(data)

    def _pointer_shape_if_new(self, match: re.Match) -> str:
        """A pointer shape only when it changes: Textual sends one as each screen is mounted, even a
        screen built hidden while the app is idle (the mailbox form, ui/screens/mailbox_form.py)."""
        if match.group(1) == self._pointer_shape:
            return ""
        self._pointer_shape = match.group(1)
        return match.group(0)

    def run_input_thread(self) -> None:
        # LinuxDriver.run_input_thread with SshKeyParser in place of XTermParser (its source is
        # hashed in tests/ui/test_textual_internals.py: a Textual upgrade that changes it is seen).
        selector = selectors.SelectSelector()
        selector.register(self.fileno, selectors.EVENT_READ)
        fileno = self.fileno
        parser = SshKeyParser(self.debug_keys)
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
            except Exception:  # (Textual's parser raises ParseError once at its end of input)
                pass
