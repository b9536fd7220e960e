"""Text from outside is shown, never obeyed: the one rule, for the screen and the command line alike.

Outside text is every string this program's own code did not write: a server's answers, a
certificate's fields, a token endpoint's answer, imported and stored values, file names. Such a
string may hold control characters that a terminal obeys (ESC starts a sequence that sets the
clipboard, the window title or clears the screen; a C1 character can do the same; a line break
fakes a line of its own). Before it reaches a terminal, every control character is made visible:

* C0 (U+0000–U+001F) and DEL as their Unicode control pictures: ESC as ␛, LF as ␊, TAB as ␉, DEL as ␡;
* C1 (U+0080–U+009F) as a hex escape (`\\x9b`): there is no picture for them;
* a lone surrogate (an undecodable byte of a file name) as a hex escape (`\\udcff`).

Everything else, ordinary Unicode included, stays as it is. Markup is the screen's concern: the UI
shows outside text with markup off (ui/plain.py). `--json` keeps the real text, escaped as JSON
(`json_for_terminal`). Headless: the command line and the core use it too.
"""

from __future__ import annotations

import re

# Every control character (Unicode category Cc) and every lone surrogate.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_UNSAFE_BUT_LINE_ENDS = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\ud800-\udfff]")


def _picture(char: str) -> str:
    code = ord(char)
    if code < 0x20:
        return chr(0x2400 + code)  # ␀ … ␟
    if code == 0x7F:
        return "\u2421"  # ␡
    if code <= 0xFF:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}"


_PICTURES = {code: _picture(chr(code)) for code in (*range(0x20), *range(0x7F, 0xA0))}


def _shown(match: re.Match) -> str:
    char = match.group()
    return _PICTURES.get(ord(char)) or _picture(char)


def _one_wide(match: re.Match) -> str:
    code = ord(match.group())
    return _PICTURES[code] if code < 0x20 or code == 0x7F else "\ufffd"


def visible(text: object) -> str:
    """Outside text as one line for a terminal: every control character visible, a line break too
    (so it can never fake a line of its own); ordinary Unicode unchanged."""
    text = text if isinstance(text, str) else str(text)
    if _UNSAFE.search(text) is None:
        return text
    return _UNSAFE.sub(_shown, text)


def visible_lines(text: object) -> str:
    """Text of several lines (the program's own line breaks) for a terminal: every control character
    but the line feed made visible. Outside values inside it should be made `visible` first, or one
    holding a line break would fake a line."""
    text = text if isinstance(text, str) else str(text)
    if _UNSAFE_BUT_LINE_ENDS.search(text) is None:
        return text
    return _UNSAFE_BUT_LINE_ENDS.sub(_shown, text)


def visible_same_width(text: str) -> str:
    """Outside text with each control character replaced by one visible character (its control
    picture, or U+FFFD for C1 and lone surrogates): for a text field, whose cursor counts characters."""
    if _UNSAFE.search(text) is None:
        return text
    return _UNSAFE.sub(_one_wide, text)


# What json.dumps(ensure_ascii=False) leaves raw: DEL and C1 (it escapes only C0). In a JSON text these
# can only stand inside a string, where \\u escapes mean exactly the same characters.
_RAW_IN_JSON = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\ud800-\udfff]")


def json_for_terminal(json_text: str) -> str:
    """A JSON text as json.dumps(ensure_ascii=False) wrote it, with every control character it left raw
    (DEL, C1; a stray C0 but the line feed) written as a \\u escape: the same JSON, the real text kept,
    nothing a terminal obeys."""
    if _RAW_IN_JSON.search(json_text) is None:
        return json_text
    return _RAW_IN_JSON.sub(lambda m: f"\\u{ord(m.group()):04x}", json_text)
