"""Reading exchange files: a JSON document, a folder of <section>.csv files, one CSV file, or a JSON
document on standard input, a row at a time (a Source). Anything else is one ImportFileError
sentence; nothing else escapes.

Only a regular file is read (a device such as /dev/zero, a FIFO or a socket is refused before a
byte is read), at most MAX_INPUT_BYTES of it, one row at a time. Standard input is copied to a
temporary file first (at most MAX_INPUT_BYTES), so it reads like a file. A file that changes while
it is read is refused: its size, time of change and inode are compared when the reading ends."""

from __future__ import annotations

import csv
import io
import os
import stat
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from ..exchange_format import SECTIONS, csv_unguard, shown
from .json_stream import JsonDocument, Mark
from . import limits
from ...i18n import N_, say, say_n
from .limits import THE_DOCUMENT, ImportFileError, input_too_large, most_characters, not_a_list, not_an_object

STDIN = "-"


class Source:
    """An exchange document, read a section at a time in SECTIONS order (`rows`), then `finish`ed:
    the rest read and checked, and the file found unchanged."""

    name = ""  # what the import's history entry names

    def rows(self, section: str) -> Iterator[dict]:
        raise NotImplementedError

    def finish(self) -> None:
        """Read what no section asked for (so a broken end of the file is found before anything is
        written), and make sure the file did not change while it was read."""

    present: dict  # the sections the document holds, in its order: a true value, or None for `null`

    def sections(self) -> dict[str, list | None]:
        """The whole document in memory (for small files and tests): section -> rows, or None."""
        try:
            doc = {s: list(self.rows(s)) for s in SECTIONS}
            self.finish()
        except SectionsOutOfOrder:
            doc = {s: list(self.rows(s)) for s in SECTIONS}
            self.finish()
        return {s: None if held is None else doc[s] for s, held in self.present.items()}

    def every_row(self) -> Iterator[dict]:
        """Every row, sections in the file's order (a look through the file that leaves `rows` as is)."""
        for section in SECTIONS:
            yield from self.rows(section)

    def close(self) -> None:
        pass

    def __enter__(self) -> Source:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class DocumentSource(Source):
    """A document already in memory (require_document_shape has checked it)."""

    def __init__(self, doc: dict, name: str = ""):
        self.doc, self.name = require_document_shape(doc), name
        self.present = {s: True if rows is not None else None for s, rows in self.doc.items()}

    def rows(self, section: str) -> Iterator[dict]:
        return iter(self.doc.get(section) or [])


class _File:
    """A regular file opened for reading, and what it was when opened."""

    def __init__(self, path: Path, where: str | None = None):
        self.path, self.where = path, where or str(path)
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
        except FileNotFoundError:
            raise ImportFileError(say("{path} does not exist.", path=str(path))) from None
        except OSError as exc:
            raise ImportFileError(say("{path} cannot be read: {error}.", path=str(path), error=exc.strerror)) from None
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            os.close(fd)
            raise not_a_file(path, info.st_mode)
        if info.st_size > limits.MAX_INPUT_BYTES:
            os.close(fd)
            raise input_too_large(self.where)
        self.fh = os.fdopen(fd, "rb")
        self.opened = _identity(info)

    def unchanged(self) -> None:
        try:
            now = _identity(os.stat(self.path))
        except OSError:
            now = None
        if now != self.opened or _identity(os.fstat(self.fh.fileno())) != self.opened:
            raise ImportFileError(say("{where} changed while it was read; nothing was written. Import it again "
                                      "once nothing writes to it.", where=self.where))

    def close(self) -> None:
        self.fh.close()


def _identity(info: os.stat_result) -> tuple:
    return (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns)


def not_a_file(path: Path, mode: int) -> ImportFileError:
    what = (N_("a FIFO (named pipe)") if stat.S_ISFIFO(mode) else N_("a character device") if stat.S_ISCHR(mode)
            else N_("a block device") if stat.S_ISBLK(mode) else N_("a socket") if stat.S_ISSOCK(mode) else
            N_("a folder") if stat.S_ISDIR(mode) else N_("not a regular file"))
    return ImportFileError(say("{path} is {kind}: an import reads a regular file, a folder of CSV files, or a JSON "
                               "document on standard input (-).", path=str(path), kind=what))


class SectionsOutOfOrder(Exception):
    """A JSON document holds a section after one that comes later in SECTIONS: the import starts
    again, reading each section from where it starts (JsonSource)."""


class JsonSource(Source):
    """A JSON document, read in one walk when its sections come in SECTIONS order (as export writes
    them). A section the walk meets while it looks for an earlier one is read at once, that earlier
    one taken as absent; should it come later after all, SectionsOutOfOrder is raised, and from then
    on each section is read from where it starts, in SECTIONS order."""

    def __init__(self, file: _File, name: str):
        self.file, self.name = file, name
        self.doc = JsonDocument(file.fh, file.where)
        self._walk = self.doc.sections()
        self.present: dict[str, Mark | None] = {}
        self._ended = False
        self._absent: set[str] = set()  # asked for, and taken as absent
        self._pending: tuple | None = None  # (section, mark, rows) met while looking for an earlier one
        self.reordered = False

    def rows(self, section: str) -> Iterator[dict]:
        if self.reordered or (section in self.present and not (self._pending and self._pending[0] == section)):
            mark = self.present.get(section)
            return iter(()) if mark is None else self.doc.rows(section, mark)
        if self._pending is not None:
            found, _, rows = self._pending
            if found == section:
                self._pending = None
                return rows
            self._absent.add(section)  # it would have come before the pending one
            return iter(())
        if not self._ended:
            for found, mark, rows in self._walk:
                self._met(found, mark)
                if found == section:
                    return rows
                if SECTIONS.index(found) > SECTIONS.index(section):
                    self._pending = (found, mark, rows)
                    self._absent.add(section)
                    return iter(())
            self._ended = True
        self._absent.add(section)
        return iter(())

    def every_row(self) -> Iterator[dict]:
        for _, _, rows in JsonDocument(self.file.fh, self.file.where).sections():
            yield from rows

    def _met(self, found: str, mark: Mark | None) -> None:
        self.present[found] = mark
        if found in self._absent:  # it came after all: learn where every section starts, then start again
            for later, later_mark, _ in self._walk:
                self.present[later] = later_mark
            self._ended, self._pending, self.reordered = True, None, True
            raise SectionsOutOfOrder(found)

    def finish(self) -> None:
        if not self._ended:
            for found, mark, _ in self._walk:
                self._met(found, mark)
            self._ended = True
        self.file.unchanged()

    def close(self) -> None:
        self.file.close()


class CsvSource(Source):
    """One <section>.csv file, or a folder of them."""

    def __init__(self, files: dict[str, _File], name: str):
        self.files, self.name = files, name
        self.present = {s: True for s in files}

    def rows(self, section: str) -> Iterator[dict]:
        file = self.files.get(section)
        return iter(()) if file is None else _csv_rows(file)

    def finish(self) -> None:
        for file in self.files.values():
            file.unchanged()

    def close(self) -> None:
        for file in self.files.values():
            file.close()


def open_source(path: Path | str) -> Source:
    """The exchange document at `path` (STDIN: standard input), to be read a row at a time."""
    if str(path) == STDIN or _is_stdin(path):
        return _stdin_source()
    path = Path(path)
    try:
        info = path.stat()
    except FileNotFoundError:
        raise ImportFileError(say("{path} does not exist.", path=str(path))) from None
    except OSError as exc:
        raise ImportFileError(say("{path} cannot be read: {error}.", path=str(path), error=exc.strerror)) from None
    if stat.S_ISDIR(info.st_mode):
        files = {}
        try:
            for s in SECTIONS:
                candidate = path / f"{s}.csv"
                if os.path.lexists(candidate):
                    files[s] = _File(candidate)
        except ImportFileError:
            for f in files.values():
                f.close()
            raise
        if not files:
            raise ImportFileError(say("{path} holds none of {files}.", path=str(path),
                                      files=", ".join(s + ".csv" for s in SECTIONS)))
        return CsvSource(files, path.name)
    if path.suffix.lower() == ".csv":
        if path.stem not in SECTIONS:
            raise ImportFileError(say("A CSV file is named after its section: {files}.",
                                      files=", ".join(s + ".csv" for s in SECTIONS)))
        return CsvSource({path.stem: _File(path)}, path.name)
    return JsonSource(_File(path), path.name)


def _is_stdin(path) -> bool:
    """/dev/stdin, /proc/self/fd/0: standard input by another name (a pipe, when something pipes into it)."""
    try:
        return os.path.samestat(os.stat(path), os.fstat(0)) and not stat.S_ISREG(os.fstat(0).st_mode)
    except (OSError, ValueError):
        return False


def _stdin_source() -> Source:
    """Standard input, copied to a temporary file (at most MAX_INPUT_BYTES) and read from there."""
    mode = os.fstat(0).st_mode
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) or stat.S_ISDIR(mode):
        what = N_("a terminal") if os.isatty(0) else N_("a device") if not stat.S_ISDIR(mode) else N_("a folder")
        raise ImportFileError(say("Standard input is {kind}: pipe or redirect a JSON document into it "
                                  "(mailbox-tui import - < FILE).", kind=what))
    spool = tempfile.TemporaryFile(prefix="mailbox-tui-import-")
    stream = sys.stdin.buffer
    total = 0
    try:
        while chunk := stream.read(1 << 20):
            total += len(chunk)
            if total > limits.MAX_INPUT_BYTES:
                raise input_too_large(say("Standard input"))
            spool.write(chunk)
        spool.flush()
        spool.seek(0)
        fd = os.dup(spool.fileno())
    finally:
        spool.close()
    return JsonSource(_Spooled(os.fdopen(fd, "rb"), say("Standard input")), "standard input")


class _Spooled(_File):
    """Standard input's copy (ours alone, unlinked), or bytes in memory: neither can change."""

    def __init__(self, fh, where: str):
        self.path, self.where, self.fh = Path(STDIN), where, fh

    def unchanged(self) -> None:
        pass


def read_document(path: Path) -> dict[str, list[dict]]:
    """The whole document at `path` in memory (a JSON document, a folder of <section>.csv files or
    one <section>.csv file), checked for shape. Anything that is not a well-formed exchange document
    raises ImportFileError with one sentence that says why; nothing else escapes."""
    with open_source(path) as source:
        return source.sections()


def parse_json_document(data: bytes, where: str = THE_DOCUMENT) -> dict[str, list[dict]]:
    """The exchange document in `data`, checked for shape: sections of lists of objects."""
    if len(data) > limits.MAX_INPUT_BYTES:
        raise input_too_large(where)
    return JsonSource(_Spooled(io.BytesIO(data), where), where).sections()


def require_document_shape(doc) -> dict[str, list[dict]]:
    """`doc` itself when it is an exchange document's shape: sections, each a list of objects."""
    if not isinstance(doc, dict):
        raise ImportFileError(say("The document must be a JSON object with profiles, users, queues and mailboxes."))
    unknown = [str(k) for k in doc if k not in SECTIONS]
    if unknown:
        names = ", ".join(shown(k, 30) for k in sorted(unknown)[:5])
        raise ImportFileError(say("Unknown section: {names}. Expected {sections}.", names=names,
                                  sections=", ".join(SECTIONS)) if len(unknown) == 1 else
                              say("Unknown sections: {names}. Expected {sections}.", names=names,
                                  sections=", ".join(SECTIONS)))
    for section, rows in doc.items():
        if rows is None:
            continue
        if not isinstance(rows, list):
            raise ImportFileError(not_a_list(section, shown(rows)))
        for index, row in enumerate(rows, 1):
            if not isinstance(row, dict):
                raise ImportFileError(not_an_object(section, index, shown(row)))
    return doc


def _csv_rows(file: _File) -> Iterator[dict]:
    """Rows of one CSV file: UTF-8 (a byte-order mark is allowed), a header row, a value for each of
    its columns in every row, formula guards removed."""
    path = file.where
    file.fh.seek(0)
    text = io.TextIOWrapper(file.fh, encoding="utf-8-sig", newline="")
    limit = csv.field_size_limit(limits.MAX_VALUE_CHARS)
    try:
        reader = csv.reader(text)
        header = next(reader, None)
        if header is None:
            return
        width, number = len(header), 0
        for values in reader:
            if not values:
                continue  # a blank line is no row
            number += 1
            if not number % 4096 and file.fh.tell() > limits.MAX_INPUT_BYTES:  # a file that grows as it is read
                raise input_too_large(path)
            if len(values) != width:
                raise ImportFileError(say("{path}: row {row} has {first}, but its header has {second}.", path=path,
                                          row=number, first=say_n("{n} value", "{n} values", len(values)),
                                          second=say_n("{n} column", "{n} columns", width)))
            row = {}
            for key, value in zip(header, values):
                row[key] = None if value == "" else csv_unguard(value)
            yield row
    except UnicodeDecodeError:
        raise ImportFileError(say("{path} is not UTF-8 text.", path=path)) from None
    except csv.Error as exc:
        if "field larger than field limit" in str(exc):
            raise ImportFileError(say("{path}: a value has a value longer than {n} characters, more than any field "
                                      "holds.", path=path, n=most_characters())) from None
        raise ImportFileError(say("{path} is not a readable CSV file: {error}.", path=path, error=str(exc))) from None
    finally:
        csv.field_size_limit(limit)
        text.detach()


SECRET_FIELDS = ("password", "outgoingpassword")


def carries_passwords(source: Source) -> bool:
    """Whether a row holds a password: a store whose key is not the team's must not take it."""
    return any(any(row.get(f) not in (None, "") for f in SECRET_FIELDS) for row in source.every_row())
