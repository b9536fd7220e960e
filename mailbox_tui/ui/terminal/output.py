"""Fewer bytes to the terminal, the same cells on it. Two steps, both in the SSH driver's write:

- `ScreenDiff` (below) keeps what the terminal shows and writes only the cells a frame changes,
  each change of look as only what differs;
- `Compactor` sends runs of blank cells as "erase n, move on n".


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


# -- SGR as a state: what a cell looks like, and the shortest way from one look to another

_OFF = {"bold": (False, "22"), "italic": (False, "23"), "underline": (0, "24"), "blink": (0, "25"),
        "reverse": (False, "27"), "conceal": (False, "28"), "strike": (False, "29"), "overline": (False, "55")}
_ON = {1: ("bold", True), 3: ("italic", True), 4: ("underline", 4), 5: ("blink", 5), 6: ("blink", 6),
       7: ("reverse", True), 8: ("conceal", True), 9: ("strike", True), 21: ("underline", 21),
       53: ("overline", True), 22: ("bold", False), 23: ("italic", False), 24: ("underline", 0),
       25: ("blink", 0), 27: ("reverse", False), 28: ("conceal", False), 29: ("strike", False),
       55: ("overline", False)}
_DEFAULT = (("bold", False), ("dim", False), ("italic", False), ("underline", 0), ("blink", 0),
            ("reverse", False), ("conceal", False), ("strike", False), ("overline", False),
            ("fg", "39"), ("bg", "49"))
DEFAULT_LOOK = _DEFAULT


def apply_sgr(look: tuple | None, params: str) -> tuple | None:
    """The look after an SGR with these parameters; None where this does not follow it (then
    only a reset makes the look known again)."""
    if not all(p.isdigit() for p in params.split(";") if p):
        return None  # sub-parameters (4:3, a curly underline) and the like
    codes = [int(p) if p else 0 for p in params.split(";")] if params else [0]
    state = dict(look) if look is not None else None
    i = 0
    while i < len(codes):
        code = codes[i]
        if code == 0:
            state = dict(_DEFAULT)
        elif state is None:
            pass  # unknown until a reset
        elif code in _ON:
            name, value = _ON[code]
            state[name] = value
            if code == 22:
                state["dim"] = False
        elif code == 2:
            state["dim"] = True
        elif 30 <= code <= 37 or 90 <= code <= 97 or code == 39:
            state["fg"] = str(code)
        elif 40 <= code <= 47 or 100 <= code <= 107 or code == 49:
            state["bg"] = str(code)
        elif code in (38, 48) and i + 1 < len(codes) and codes[i + 1] in (2, 5):
            size = 3 if codes[i + 1] == 5 else 5
            if i + size > len(codes):
                return None
            state["fg" if code == 38 else "bg"] = ";".join(map(str, codes[i:i + size]))
            i += size - 1
        else:
            return None
        i += 1
    return None if state is None else tuple(state.items())


def _codes(look: tuple) -> list[str]:
    """The parameters that make `look` from a reset."""
    state, out = dict(look), []
    out += ["1"] * state["bold"] + ["2"] * state["dim"] + ["3"] * state["italic"]
    out += [str(state["underline"])] * bool(state["underline"]) + [str(state["blink"])] * bool(state["blink"])
    out += ["7"] * state["reverse"] + ["8"] * state["conceal"] + ["9"] * state["strike"] + ["53"] * state["overline"]
    out += [state["fg"]] * (state["fg"] != "39") + [state["bg"]] * (state["bg"] != "49")
    return out


def sgr_between(old: tuple | None, new: tuple) -> str:
    """The shortest SGR from look `old` (None: unknown) to look `new`: a reset and what `new`
    needs, or only what differs."""
    reset = "\x1b[" + ";".join(["0", *_codes(new)]) + "m"
    if old is None:
        return reset
    if old == new:
        return ""
    before, after = dict(old), dict(new)
    codes = []
    if (before["bold"] and not after["bold"]) or (before["dim"] and not after["dim"]):
        codes.append("22")
        before["bold"] = before["dim"] = False
    codes += ["1"] * (after["bold"] and not before["bold"]) + ["2"] * (after["dim"] and not before["dim"])
    for name in ("italic", "underline", "blink", "reverse", "conceal", "strike", "overline"):
        if before[name] != after[name]:
            value = after[name]
            codes.append(_OFF[name][1] if value in (False, 0) else
                         {"italic": "3", "reverse": "7", "conceal": "8", "strike": "9", "overline": "53"}.get(name, str(value)))
    for name in ("fg", "bg"):
        if before[name] != after[name]:
            codes.append(after[name])
    change = "\x1b[" + ";".join(codes) + "m"
    return change if len(change) < len(reset) else reset


# -- what the terminal already shows is not written again

_FRAME = re.compile(
    r"\x1b\[(\d*);(\d*)H"  # 1, 2: cursor position
    r"|\x1b\[([0-9;]*)m"  # 3: SGR
    r"|(\r\n|\r|\n)"  # 4: carriage return, line feed
    r"|\x1b\[\?([0-9;]*)([hl])"  # 5, 6: a private mode (cursor shown, synchronized output...)
    r"|(\x1b[\]P_^X][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b\[[<>=?][0-9;:$]*[ -/]*[@-~])"  # 7: strings, queries
    r"|(\x1b\[[0-9;:]*[ -/]*[@-~]|\x1b[^\[]|\x1b|[\x00-\x1f\x7f])"  # 8: anything else, controls too
    r"|([^\x00-\x1f\x7f\x1b]+)"  # 9: text
)
_ALT_SCREEN = {"47", "1047", "1049"}
_SYNC_EMPTY = "\x1b[?2026h\x1b[?2026l"


class ScreenDiff:
    """Keeps what the terminal shows, cell by cell, and writes only what a frame changes.

    Textual repaints whole screens when one changes little: a screen pushed or resumed is drawn
    twice, a dialog redraws the screen beneath it, a list's first rows come in three frames. Like
    curses, this writes a cell only when its character or its colours differ from what the
    terminal already shows there. What it does not understand (a clear, a scroll region, any
    sequence other than cursor position, SGR and modes) is passed on and makes the whole screen
    unknown again, so it is written in full the next time: never a stale cell."""

    def __init__(self) -> None:
        self.size: tuple[int, int] = (0, 0)
        self.cells: list[list[tuple[str, str] | None]] = []
        self.y: int | None = None  # where the program's next character goes (None: unknown)
        self.x = 0
        self.style: tuple | None = DEFAULT_LOOK  # the look the program's next character gets (None: unknown)
        self.out_y: int | None = None  # where the terminal's cursor really is
        self.out_x = 0
        self.out_style: tuple | None = None  # the look the terminal really gives it (None: unknown)

    def _forget(self) -> None:
        cols, rows = self.size
        self.cells = [[None] * cols for _ in range(rows)]
        self.out_y = None
        self.out_style = None

    def feed(self, data: str, size: tuple[int, int]) -> str:
        if not (size[0] > 0 and size[1] > 0):  # no terminal size known: write it as it is
            self.size, self.y = (0, 0), None
            self._forget()
            return data
        if size != self.size:
            self.size = size
            self._forget()
        out: list[str] = []
        for m in _FRAME.finditer(data):
            if m.group(9) is not None:
                self._text(m.group(9), out)
            elif m.group(1) is not None:
                cols, rows = self.size
                self.y = min(max(int(m.group(1) or 1), 1), rows) - 1
                self.x = min(max(int(m.group(2) or 1), 1), cols) - 1
            elif m.group(3) is not None:
                look = apply_sgr(self.style, m.group(3))
                if look is None:  # a look this does not follow: pass it on from the look before it
                    self._sync(out)
                    out.append(m.group())
                    self.out_style = None
                self.style = look
            elif m.group(4) is not None:
                self._newline(m.group(4), out)
            elif m.group(5) is not None:
                self._sync(out)  # the end of a synchronized frame shows the cursor where it is
                out.append(m.group())
                if set(m.group(5).split(";")) & _ALT_SCREEN:
                    self._forget()
                    if m.group(6) == "l":
                        # Back on the shell's screen, where the terminal put back the shell's
                        # cursor and colours: nothing of the app's is written there any more.
                        self.y = self.style = None
            elif m.group(7) is not None:
                out.append(m.group())  # a title, a query: the screen's cells stay as they are
            else:
                self._sync(out)
                out.append(m.group())
                self._forget()
                self.y = None
        self._sync(out)
        return "".join(out).replace(_SYNC_EMPTY, "")

    def _newline(self, moves: str, out: list[str]) -> None:
        if self.y is None:
            out.append(moves)
            return
        for move in moves:
            if move == "\r":
                self.x = 0
            elif self.y < self.size[1] - 1:
                self.y += 1
            else:  # a line feed on the last line scrolls the screen: do it, and follow
                self._sync(out)
                out.append("\n")
                self.cells.pop(0)
                self.cells.append([None] * self.size[0])

    def _text(self, text: str, out: list[str]) -> None:
        cols = self.size[0]
        if self.y is None:  # an unknown place: as written
            self._sync_style(out)
            out.append(text)
            return
        if self.x >= cols:  # past the margin the terminal wraps (scrolling on the last line)
            self._sync_style(out)
            if (self.out_y, self.out_x) != (self.y, cols):  # not waiting there: go where it would
                last_line = self.y == self.size[1] - 1
                out.append(f"\x1b[{self.y + 1};1H\r\n" if last_line else f"\x1b[{self.y + 2};1H")
            out.append(text)
            self._forget()
            self.y = None
            return
        if self.style is None or (not text.isascii() and any(_cell_width(ch) != 1 for ch in text)):
            self._as_written(text, out)  # an unknown look, or wide or combining characters
            return
        row = self.cells[self.y]
        for ch in text:
            if self.x >= cols:
                self._text(ch, out)  # past the margin: the terminal wraps; stop following
                return
            cell = (self.style, ch)
            if row[self.x] == cell:
                self.x += 1
                continue
            self._move(out)
            self._sync_style(out)
            out.append(ch)
            row[self.x] = cell
            self.x += 1
            self.out_x += 1

    def _as_written(self, text: str, out: list[str]) -> None:
        """The run as the program wrote it, from where it wrote it, and the cells it touched
        unknown afterwards."""
        cols = self.size[0]
        self._move(out)
        self._sync_style(out)
        out.append(text)
        width = sum(max(_cell_width(ch), 0) for ch in text)
        row = self.cells[self.y]
        for x in range(max(self.x - 1, 0), min(self.x + width + 1, cols)):
            row[x] = None
        if self.x == 0 and self.y:  # a combining character first on a line: some attach it above
            self.cells[self.y - 1][cols - 1] = None
        self.x += width
        self.out_y, self.out_x = self.y, self.x  # (widths as Textual measures them, as it lays out)
        if self.x > cols:  # it wrapped
            self._forget()
            self.y = None

    def _move(self, out: list[str]) -> None:
        """The terminal's cursor to the program's, by the fewest bytes."""
        if self.out_y == self.y and self.out_x == self.x:
            return
        gap = self.x - self.out_x
        if self.out_y == self.y and 0 < gap <= 4 and self.out_style == self.style:
            between = self.cells[self.y][self.out_x:self.x]
            if all(c is not None and c[0] == self.style and c[1] < "\x7f" for c in between):
                out.append("".join(c[1] for c in between))  # the same characters again: shorter
                self.out_x = self.x
                return
        out.append(f"\x1b[{self.y + 1};{self.x + 1}H")
        self.out_y, self.out_x = self.y, self.x

    def _sync_style(self, out: list[str]) -> None:
        if self.style is not None and self.out_style != self.style:
            out.append(sgr_between(self.out_style, self.style))
            self.out_style = self.style

    def _sync(self, out: list[str]) -> None:
        """Before anything passed on as it is: the terminal's cursor and colours as the program
        left them."""
        cols = self.size[0]
        if self.y is not None and self.x < cols:
            self._move(out)
        elif self.y is not None and (self.out_y, self.out_x) != (self.y, cols):
            # The program's cursor waits past the last column (it wrote up to the margin). Write
            # that last cell again to wait there too, or at least stand on it.
            last = self.cells[self.y][cols - 1]
            self.x = cols - 1
            self._move(out)
            if last is not None:  # (cells hold only characters one column wide)
                style, self.style = self.style, last[0]
                self._sync_style(out)
                out.append(last[1])
                self.style = style
                self.out_x = cols
            self.x = cols
        self._sync_style(out)


def _cell_width(ch: str) -> int:
    from rich.cells import get_character_cell_size

    return get_character_cell_size(ch)
