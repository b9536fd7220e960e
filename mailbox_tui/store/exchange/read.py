"""Reading exchange files: a JSON document, a folder of <section>.csv files, or one CSV file,
checked for shape. Anything else is one ImportFileError sentence; nothing else escapes."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

from ..database import StoreError
from ..exchange_format import SECTIONS, csv_unguard, shown


class ImportFileError(StoreError):
    """The file cannot be read as an exchange document."""


def read_document(path: Path) -> dict[str, list[dict]]:
    """A JSON document, a folder of <section>.csv files, or one <section>.csv file.

    Anything that is not a well-formed exchange document raises ImportFileError with one
    sentence that says why; nothing else escapes."""
    path = Path(path)
    if not path.exists():
        raise ImportFileError(f"{path} does not exist.")
    if path.is_dir():
        doc = {s: _read_csv(path / f"{s}.csv") for s in SECTIONS if (path / f"{s}.csv").exists()}
        if not doc:
            raise ImportFileError(f"{path} holds none of {', '.join(s + '.csv' for s in SECTIONS)}.")
        return doc
    if path.suffix.lower() == ".csv":
        if path.stem not in SECTIONS:
            raise ImportFileError(f"A CSV file is named after its section: {', '.join(s + '.csv' for s in SECTIONS)}.")
        return {path.stem: _read_csv(path)}
    return parse_json_document(path.read_bytes(), str(path))


class _NumberProblem(ValueError):
    pass


def _json_int(text: str) -> int:
    digits = len(text.lstrip("-"))
    if digits > 100:  # anything longer is no code, port or count (a row's field says which when shorter)
        raise _NumberProblem(f"a number with {digits} digits is far too large for any field")
    return int(text)


def _json_float(text: str) -> float:
    if len(text) > 400:
        raise _NumberProblem(f"a number of {len(text)} characters is far too long for any field")
    value = float(text)
    if not math.isfinite(value):
        raise _NumberProblem(f"the number {shown(text, 24)} is too large for any field")
    return value


def _json_constant(text: str):
    raise _NumberProblem(f"{text} is not a number the exchange format accepts")


def parse_json_document(data: bytes, where: str = "The document") -> dict[str, list[dict]]:
    """The exchange document in `data`, checked for shape: sections of lists of objects."""
    try:
        text = data.decode("utf-8-sig")  # a byte-order mark is allowed
    except UnicodeDecodeError as exc:
        raise ImportFileError(f"{where} is not UTF-8 text (invalid byte at position {exc.start}).") from None
    try:
        doc = json.loads(text, parse_int=_json_int, parse_float=_json_float, parse_constant=_json_constant)
    except json.JSONDecodeError as exc:
        raise ImportFileError(f"{where} is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno}).") \
            from None
    except _NumberProblem as exc:
        raise ImportFileError(f"{where}: {exc}.") from None
    except RecursionError:
        raise ImportFileError(f"{where} is nested too deeply to be an exchange document.") from None
    return require_document_shape(doc)


def require_document_shape(doc) -> dict[str, list[dict]]:
    """`doc` itself when it is an exchange document's shape: sections, each a list of objects."""
    if not isinstance(doc, dict):
        raise ImportFileError("The document must be a JSON object with profiles, users, queues and mailboxes.")
    unknown = [str(k) for k in doc if k not in SECTIONS]
    if unknown:
        names = ", ".join(shown(k, 30) for k in sorted(unknown)[:5])
        raise ImportFileError(f"Unknown section(s): {names}. Expected {', '.join(SECTIONS)}.")
    for section, rows in doc.items():
        if rows is None:
            continue
        if not isinstance(rows, list):
            raise ImportFileError(f"Section {section!r} must be a list of objects, not {shown(rows)}.")
        for index, row in enumerate(rows, 1):
            if not isinstance(row, dict):
                raise ImportFileError(f"{section}[{index}] must be an object, not {shown(row)}.")
    return doc


def _read_csv(path: Path) -> list[dict]:
    """Rows of one CSV file: UTF-8 (a byte-order mark is allowed), a header row, formula guards removed."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            rows = list(csv.DictReader(fh))
    except UnicodeDecodeError:
        raise ImportFileError(f"{path} is not UTF-8 text.") from None
    except csv.Error as exc:
        if "field larger than field limit" in str(exc):
            raise ImportFileError(f"{path}: a value is longer than {csv.field_size_limit()} characters.") from None
        raise ImportFileError(f"{path} is not a readable CSV file: {exc}.") from None
    for number, row in enumerate(rows, 1):
        if None in row:
            raise ImportFileError(f"{path}: row {number} has more values than there are columns.")
        for key, value in row.items():
            if value == "":
                row[key] = None
            elif value is not None:
                row[key] = csv_unguard(value)
    return rows

