"""An exchange document read as a stream: the document's own structure (an object of sections,
each a list of rows) by hand, each row by the json module's C scanner, a buffer at a time.

Only one row is held at a time (a row of at most MAX_ROW_CHARS). Errors read as json.loads
words them, at the same line and column, so a broken file says what it said when it was read
whole. Measured on the benchmark's document (100,000 users and mailboxes, 35 MB): every row in
0.8 s, json.loads of the whole 0.5-0.6 s; ijson's C backend (yajl2) needs a pass per section,
0.9 s each, its pure-Python backend 25 s each, and neither words errors as json does."""

from __future__ import annotations

import codecs
import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from ..exchange_format import SECTIONS, shown
from . import limits
from ...i18n import N_, say
from .limits import ImportFileError, input_too_large, most_characters, not_a_list, not_an_object

CHUNK = 1 << 20  # bytes read at a time
_WS = re.compile(r"[ \t\n\r]*")
_BOM = codecs.BOM_UTF8


class _NumberProblem(ValueError):
    """A number no field holds: its sentence (a template of NUMBER_SAYS) and values, said with where it is."""

    def __init__(self, template: str, **values):
        super().__init__(template)
        self.template, self.values = template, values

    def said(self, where: str) -> str:
        return say(self.template, where=where, **self.values)


# The sentences name where the number is, so that each one, stored or logged, reads back whole.
NUMBER_SAYS = (N_("{where}: a number with {n} digits is far too large for any field."),
               N_("{where}: a number of {n} characters is far too long for any field."),
               N_("{where}: the number {value} is too large for any field."),
               N_("{where}: {value} is not a number the exchange format accepts."))


class _SectionRead(str):
    """What is read is a section's value (not a list): "section 'x'", with its name for the sentences."""

    def __new__(cls, name: str):
        text = super().__new__(cls, f"section {name!r}")
        text.name = repr(name)
        return text


# What json's scanner says is wrong (Python's json module, C and Python scanners alike): shown in the
# admin's language inside "… is not valid JSON: {reason} (line …)".
JSON_WORDS = (N_("Expecting value"), N_("Expecting property name enclosed in double quotes"),
              N_("Expecting ':' delimiter"), N_("Expecting ',' delimiter"), N_("Extra data"),
              N_("Unterminated string starting at"), N_("Invalid control character at"), N_("Invalid \\escape"),
              N_("Invalid \\uXXXX escape"))


def _json_int(text: str) -> int:
    digits = len(text.lstrip("-"))
    if digits > 100:  # anything longer is no code, port or count (a row's field says which when shorter)
        raise _NumberProblem(NUMBER_SAYS[0], n=digits)
    return int(text)


def _json_float(text: str) -> float:
    if len(text) > 400:
        raise _NumberProblem(NUMBER_SAYS[1], n=len(text))
    value = float(text)
    if not math.isfinite(value):
        raise _NumberProblem(NUMBER_SAYS[2], value=shown(text, 24))
    return value


def _json_constant(text: str):
    raise _NumberProblem(NUMBER_SAYS[3], value=text)


_SCAN = json.JSONDecoder(parse_int=_json_int, parse_float=_json_float, parse_constant=_json_constant).scan_once
_STRING = json.decoder.scanstring


@dataclass(frozen=True)
class Mark:
    """Where a section's list starts: a byte offset and what json.loads would count before it."""

    byte: int
    chars: int
    lines: int
    last_newline: int  # absolute character index of the last newline before, or -1


class JsonCursor:
    """A reader of one JSON text from a binary file, from a Mark on."""

    def __init__(self, fh: BinaryIO, where: str, mark: Mark, bom: int):
        self.fh, self.where, self.bom = fh, where, bom
        fh.seek(mark.byte)
        self.byte, self.chars, self.lines, self.last_newline = mark.byte, mark.chars, mark.lines, mark.last_newline
        self.decoder = codecs.getincrementaldecoder("utf-8")()
        self.fed = mark.byte  # bytes given to the decoder, counted from the file's start
        self.buf, self.i, self.eof = "", 0, False

    # -- text
    def _drop(self) -> None:
        """Forget the text before the cursor (it is read): only a row's worth is ever kept."""
        if self.i == 0:
            return
        gone = self.buf[:self.i]
        newline = gone.rfind("\n")
        if newline >= 0:
            self.last_newline = self.chars + newline
            self.lines += gone.count("\n")
        self.chars += self.i
        self.byte += len(gone.encode("utf-8"))
        self.buf, self.i = self.buf[self.i:], 0

    def more(self) -> bool:
        """Read more text onto the buffer; False at the end of the file."""
        if self.eof:
            return False
        self._drop()
        self.fh.seek(self.fed)  # another cursor may have read the same file in between
        data = self.fh.read(CHUNK)
        pending = len(self.decoder.getstate()[0])
        try:
            text = self.decoder.decode(data, final=not data)
        except UnicodeDecodeError as exc:
            # Counted from after a byte-order mark, as decoding the whole file counted it.
            where = self.fed - pending + exc.start - self.bom
            raise ImportFileError(say("{where} is not UTF-8 text (invalid byte at position {position}).",
                                      where=self.where, position=where)) from None
        self.fed += len(data)
        if self.fed > limits.MAX_INPUT_BYTES:  # a file that grows as it is read
            raise input_too_large(self.where)
        self.buf += text
        if not data:
            self.eof = True
        return True

    def ws(self) -> str:
        """Skip whitespace; the next character, or '' at the end of the file."""
        while True:
            self.i = _WS.match(self.buf, self.i).end()
            if self.i < len(self.buf):
                return self.buf[self.i]
            if not self.more():
                return ""

    def error(self, message: str, at: int | None = None) -> ImportFileError:
        at = self.i if at is None else at
        line = self.lines + self.buf.count("\n", 0, at) + 1
        newline = self.buf.rfind("\n", 0, at)
        column = at - newline if newline >= 0 else self.chars + at - self.last_newline
        return ImportFileError(say("{where} is not valid JSON: {reason} (line {line}, column {column}).",
                                   where=self.where, reason=message, line=line, column=column))

    def mark(self) -> Mark:
        self._drop()
        return Mark(self.byte, self.chars, self.lines, self.last_newline)

    # -- values
    def value(self, what: str):
        """The JSON value at the cursor, whole, read by json's scanner (more text as needed)."""
        start = self.i
        while True:
            try:
                value, end = _SCAN(self.buf, start)
            except StopIteration as stop:
                if self._room(start):
                    start = self.i
                    continue
                raise self.error("Expecting value", stop.value) from None
            except json.JSONDecodeError as exc:
                if self._room(start):
                    start = self.i
                    continue
                raise self.error(exc.msg, exc.pos) from None
            except _NumberProblem as exc:
                raise ImportFileError(exc.said(self.where)) from None
            except RecursionError:
                raise ImportFileError(say("{where} is nested too deeply to be an exchange document.",
                                          where=self.where)) from None
            if end >= len(self.buf) and not self.eof and not isinstance(value, (dict, list, str)):
                self.more()  # a number or a word may go on in the next chunk
                start = self.i
                continue
            if end - start > limits.MAX_VALUE_CHARS:
                if end - start > limits.MAX_ROW_CHARS:
                    raise self._too_large()
                _check_values(value, self.where, what)
            self.i = end
            return value

    def _room(self, start: int) -> bool:
        """More text for a value that does not parse yet: False at the end of the file; a value that
        is still not whole after MAX_ROW_CHARS characters is refused."""
        if len(self.buf) - start >= limits.MAX_ROW_CHARS:
            raise self._too_large()
        if self.eof:
            return False
        self.i = start
        return self.more()

    what_is_read = say("a value")

    def _too_large(self) -> ImportFileError:
        size = limits.size(limits.MAX_ROW_CHARS)
        if isinstance(self.what_is_read, _SectionRead):
            return ImportFileError(say("{where}: section {name} is larger than {size}, more than any record holds.",
                                       where=self.where, name=self.what_is_read.name, size=size))
        return ImportFileError(say("{where}: {what} is larger than {size}, more than any record holds.",
                                   where=self.where, what=self.what_is_read, size=size))

    def key(self) -> str:
        start = self.i
        while True:
            try:
                key, end = _STRING(self.buf, start + 1)
            except json.JSONDecodeError as exc:
                self.what_is_read = say("a section name")
                if self._room(start):
                    start = self.i
                    continue
                raise self.error(exc.msg, exc.pos) from None
            self.i = end
            return key


def _check_values(value, where: str, what: str) -> None:
    """A row whose text is longer than a value may be: is one of its values too long?"""
    path = _too_long(value)
    if path is not None:
        if isinstance(what, _SectionRead):
            raise ImportFileError(say("{where}: section {name} has a value longer than {n} characters, more than "
                                      "any field holds.", where=where, name=what.name + path, n=most_characters()))
        raise ImportFileError(say("{where}: {at} has a value longer than {n} characters, more than any field holds.",
                                  where=where, at=str(what) + path, n=most_characters()))


def _too_long(value) -> str | None:
    """Where in `value` a text longer than MAX_VALUE_CHARS is ("" for the value itself), or None."""
    if isinstance(value, str):
        return "" if len(value) > limits.MAX_VALUE_CHARS else None
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        inner = _too_long(item)
        if inner is not None:
            return f"[{shown(key, 30)}]{inner}"
    return None


class JsonDocument:
    """The sections of an exchange document in a JSON file, in the file's order, each read a row at
    a time. `sections()` walks the whole document once; `rows(mark)` reads one section's list again
    from where it starts."""

    def __init__(self, fh: BinaryIO, where: str):
        self.fh, self.where = fh, where
        fh.seek(0)
        self.bom = 3 if fh.read(3) == _BOM else 0

    def sections(self) -> Iterator[tuple[str, Mark | None, Iterator[dict]]]:
        """(section, where its list starts, its rows) for each section in the file's order; no Mark
        for `null`. Rows the caller does not read are read and dropped before the next section."""
        cur = JsonCursor(self.fh, self.where, Mark(self.bom, 0, 0, -1), self.bom)
        c = cur.ws()
        if c != "{":
            if c in '["-0123456789tfn' and c:
                raise ImportFileError(say("The document must be a JSON object with profiles, users, queues and "
                                          "mailboxes."))
            raise cur.error("Expecting value")
        cur.i += 1
        seen: set[str] = set()
        c = cur.ws()
        if c == "}":
            cur.i += 1
        else:
            while True:
                if c != '"':
                    raise cur.error("Expecting property name enclosed in double quotes")
                section = cur.key()
                if section not in SECTIONS:
                    raise ImportFileError(say("Unknown section: {names}. Expected {sections}.",
                                              names=shown(section, 30), sections=", ".join(SECTIONS)))
                if section in seen:
                    raise ImportFileError(say("{where}: section {name} appears twice in the document.",
                                              where=self.where, name=repr(section)))
                seen.add(section)
                if cur.ws() != ":":
                    raise cur.error("Expecting ':' delimiter")
                cur.i += 1
                c = cur.ws()
                if c == "[":
                    mark = cur.mark()
                    read = _Rows(cur, section)
                    yield section, mark, read
                    for _ in read:  # what the caller left
                        pass
                else:
                    cur.what_is_read = _SectionRead(section)
                    value = cur.value(cur.what_is_read)
                    if value is not None:
                        raise ImportFileError(not_a_list(section, shown(value)))
                    yield section, None, iter(())
                c = cur.ws()
                if c == "}":
                    cur.i += 1
                    break
                if c != ",":
                    raise cur.error("Expecting ',' delimiter")
                cur.i += 1
                c = cur.ws()
        if cur.ws():
            raise cur.error("Extra data")

    def rows(self, section: str, mark: Mark) -> Iterator[dict]:
        """A section's rows again, from where its list starts."""
        cur = JsonCursor(self.fh, self.where, mark, self.bom)
        cur.ws()
        return _Rows(cur, section)


_SAFE = 64  # characters a row must leave before the buffer's end to be taken on the fast path


def _Rows(cur: JsonCursor, section: str) -> Iterator[dict]:
    """The rows of a section's list (the cursor at its "["), one at a time, each checked to be an
    object. The common case, a row well inside the buffer, costs one call of json's scanner; near
    the buffer's end or on any error the cursor's careful path reads more and words the error."""
    cur.i += 1  # the list's "["
    scan, ws = _SCAN, _WS.match
    index = 0
    c = cur.ws()
    if c == "]":
        cur.i += 1
        return
    while True:
        index += 1
        buf, i = cur.buf, cur.i
        try:
            row, end = scan(buf, i)
            if end + _SAFE > len(buf) or end - i > limits.MAX_VALUE_CHARS:
                raise LookupError  # not whole for sure, or a value to measure: the careful path
        except (StopIteration, ValueError, LookupError, RecursionError):
            cur.what_is_read = f"{section}[{index}]"
            row = cur.value(f"{section}[{index}]")
            buf, end = cur.buf, cur.i
        if type(row) is not dict:
            raise ImportFileError(not_an_object(section, index, shown(row)))
        yield row
        i = ws(buf, end).end()
        c = buf[i] if i < len(buf) else ""
        if c == ",":
            cur.i = ws(buf, i + 1).end()
            if cur.i >= len(buf):
                cur.ws()
            continue
        cur.i = i
        c = cur.ws()
        if c == "]":
            cur.i += 1
            return
        if c != ",":
            raise cur.error("Expecting ',' delimiter")
        cur.i += 1
        cur.ws()
