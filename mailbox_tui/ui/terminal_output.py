"""Fewer bytes to the terminal: runs of blank cells sent as "erase n, move on n".

Textual writes every cell of a changed line, blanks included: a blanked list row is 80 spaces
with its colour codes, and a filter keystroke that empties the list rewrote 18 such rows. Over a
slow SSH link those bytes are felt. `compact` replaces a run of spaces with ECH (erase n
characters, which leaves the cursor) and CUF (cursor forward n), as curses does, where that is
shorter and draws the same cells:

- only where the colours in force are the terminal's default background and no attribute that
  shows on a blank cell (reverse, underline, strike-through, overline, blink, conceal): an erased
  cell has the default background and no attributes in every terminal, with or without
  background-colour erase;
- only after an SGR that this call has seen whole (the state at the start of a write is unknown:
  nothing is compacted until the first complete SGR);
- it relies on what Textual guarantees: no write runs past the right margin (each line is
  positioned, or ends in CR LF), so "move forward" never has to wrap.
"""

from __future__ import annotations

import re

# An SGR sequence, another escape sequence, or a run of text without ESC.
_TOKEN = re.compile(
    r"\x1b\[([0-9;:]*)m"  # SGR
    r"|\x1b\[[0-9;?<>=:]*[ -/]*[@-~]"  # another control sequence
    r"|\x1b[\]P_^X][^\x07\x1b]*(?:\x07|\x1b\\)?"  # a string (a window title...): left as it is
    r"|\x1b[^\[]|\x1b"  # ESC and one character; an ESC that starts nothing complete
    r"|[^\x1b]+"  # text
)
_SPACES = re.compile(r" {6,}")
# An escape sequence or string that this write does not finish.
_UNFINISHED = re.compile(r"\x1b(\[[0-9;?<>=:]*[ -/]*|[\]P_^X][^\x07\x1b]*)?$")
_SHOWS_ON_BLANK = {4, 5, 6, 7, 8, 9, 21, 53}  # underline, blink, reverse, conceal, strike, double underline, overline
_EXTENDED = {38: "fg", 48: "bg", 58: "ul"}  # 38;5;n / 38;2;r;g;b and the same for 48, 58


class SgrState:
    """Whether blank cells drawn now look like erased cells: default background, no attribute
    that shows on a blank. `None`: not known (no complete SGR seen yet)."""

    def __init__(self) -> None:
        self.plain_blank: bool | None = None
        self._shows: set[int] = set()
        self._bg_default = True

    def apply(self, params: str) -> None:
        if ":" in params:  # sub-parameters (curly underlines...): don't reason about them
            self.plain_blank = False
            self._shows, self._bg_default = {-1}, False
            return
        codes = [int(p) if p else 0 for p in params.split(";")] if params else [0]
        i = 0
        if self.plain_blank is None:  # state before this SGR unknown: only a reset makes it known
            if codes[0] != 0:
                return
        while i < len(codes):
            code = codes[i]
            if code == 0:
                self._shows, self._bg_default = set(), True
            elif code in _EXTENDED:
                kind = codes[i + 1] if i + 1 < len(codes) else None
                if code == 48:
                    self._bg_default = False
                i += 2 if kind == 5 else 4 if kind == 2 else 0
            elif code in _SHOWS_ON_BLANK:
                self._shows.add(code)
            elif code == 24:
                self._shows -= {4, 21}
            elif code == 25:
                self._shows -= {5, 6}
            elif code == 27:
                self._shows.discard(7)
            elif code == 28:
                self._shows.discard(8)
            elif code == 29:
                self._shows.discard(9)
            elif code == 55:
                self._shows.discard(53)
            elif code == 49:
                self._bg_default = True
            elif 40 <= code <= 47 or 100 <= code <= 107:
                self._bg_default = False
            i += 1
        self.plain_blank = not self._shows and self._bg_default


def _erase_run(match: re.Match) -> str:
    n = len(match.group())
    shorter = f"\x1b[{n}X\x1b[{n}C"
    return shorter if len(shorter) < n else match.group()


class Compactor:
    """Compacts what one program writes to its terminal, write after write: the colours in force
    carry over from one write to the next, as they do on the terminal."""

    def __init__(self) -> None:
        self.state = SgrState()

    def feed(self, data: str) -> str:
        state, out = self.state, []
        for token in _TOKEN.finditer(data):
            text = token.group()
            if token.group(1) is not None:
                state.apply(token.group(1))
            elif text[0] != "\x1b" and state.plain_blank and "  " in text:
                text = _SPACES.sub(_erase_run, text)
            out.append(text)
        if _UNFINISHED.search(data):  # the next write finishes a sequence begun here: start over
            self.state = SgrState()
        return "".join(out)


def compact(data: str) -> str:
    """`data` alone, written from an unknown state (see the module)."""
    return Compactor().feed(data)
