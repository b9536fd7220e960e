"""The exchange format (docs/RULES.md): Dynamics logical names, integer codes, natural keys.

Pure mapping between rows and drafts; reading files and the database is the exchange package.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from ..domain.fields import (
    EXCHANGE_SECTIONS,
    FIELDS,
    exchange_columns,
    field_of_column,
    parse_utc,
    read_only_columns,
)
from ..domain.findings import Finding
from ..domain.options import MailboxKind, RecordState, TlsMode
from ..i18n import say

SECTIONS = tuple(EXCHANGE_SECTIONS)  # profiles, users, queues, mailboxes: the order a document holds them

# Every column derives from the field declarations (domain/fields.py): a field's Dynamics logical
# name, the other columns that set it, and the ones export writes about it for reference.
_SECTION_FIELDS = {section: FIELDS[record] for section, record in EXCHANGE_SECTIONS.items()}
COLUMNS = {section: exchange_columns(fields) for section, fields in _SECTION_FIELDS.items()}
PROFILE_COLUMNS, USER_COLUMNS = COLUMNS["profiles"], COLUMNS["users"]
QUEUE_COLUMNS, MAILBOX_COLUMNS = COLUMNS["queues"], COLUMNS["mailboxes"]
# Written by export for reference; an import ignores them (Test & Enable writes results).
READ_ONLY = frozenset().union(*(read_only_columns(fields) for fields in _SECTION_FIELDS.values()))

# The draft field each column sets, so a column's format problem and a rule's finding on its
# field are not both reported. A column means the same field in every section that has it.
FIELD_OF = {column: name for fields in _SECTION_FIELDS.values() for column, name in field_of_column(fields).items()}

TLS_NAMES = {TlsMode.NONE: "none", TlsMode.IMPLICIT: "ssl", TlsMode.STARTTLS: "starttls"}
TLS_CODES = {v: k for k, v in TLS_NAMES.items()}


@dataclass(frozen=True)
class ImportFinding(Finding):
    """A rule's finding where an import found it: its section, and its row there (1-based; 0 for the
    document itself)."""

    section: str = ""
    row: int = 0

    @classmethod
    def at(cls, section: str, row: int, f: Finding) -> ImportFinding:
        return cls(f.rule, f.field, f.severity, f.message, section, row)

    def as_dict(self) -> dict:
        return {"section": self.section, "row": self.row, **super().as_dict()}

    def __str__(self) -> str:
        where = f"{self.section}[{self.row}]" if self.row else self.section
        return f"{where} {self.rule} {self.severity.value}: {self.message}"


class FormatProblem(ValueError):
    """A value of the wrong type; reported as rule FORMAT with its field."""

    def __init__(self, field: str, message: str):
        self.field = field
        self.message = message  # made with say(): English, shown with said()
        super().__init__(message)


def shown(value, limit: int = 40, quote: bool = True) -> str:
    """A value as a message quotes it: short, one line (escaped), never a whole list or object."""
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        text = repr(value) if quote else repr(value)[1:-1]
    else:
        text = str(value)
    return text if len(text) <= limit else text[:limit - 1] + "…"


# Every whole number of the format fits a signed 32-bit column; beyond that it is no code,
# port or count, and must not reach the database.
INT_MIN, INT_MAX = -(2**31), 2**31 - 1
_INT_TEXT = re.compile(r"[+-]?[0-9]{1,12}")


def as_int(row: dict, key: str, default=None):
    """A whole number from JSON (int, or a float with no fraction) or CSV text (ASCII digits)."""
    value = row.get(key)
    if value is None or value == "":
        return default
    number = None
    if isinstance(value, bool):
        pass
    elif isinstance(value, int):
        number = value
    elif isinstance(value, float):
        if math.isfinite(value) and value.is_integer() and INT_MIN <= value <= INT_MAX:
            number = int(value)
    elif isinstance(value, str) and _INT_TEXT.fullmatch(value.strip()):
        number = int(value.strip())
    if number is None:
        raise FormatProblem(key, say("{column} must be a whole number, not {value}.", column=key, value=shown(value)))
    if not INT_MIN <= number <= INT_MAX:
        raise FormatProblem(key, say("{column} is out of range: {value}.", column=key, value=shown(value)))
    return number


_TRUE = {"true", "1", "yes", "y"}
_FALSE = {"false", "0", "no", "n"}


def as_bool(row: dict, key: str, default=None):
    value = row.get(key)
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, (str, int)):
        text = str(value).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    raise FormatProblem(key, say("{column} must be true or false, not {value}.", column=key, value=shown(value)))


def as_text(row: dict, key: str, default=None):
    value = row.get(key)
    if value is None:
        return default
    if not isinstance(value, str):
        raise FormatProblem(key, say("{column} must be text, not {value}.", column=key, value=shown(value)))
    return value


def as_datetime(row: dict, key: str, default=None):
    """A date-time in UTC: ISO 8601 ("2026-01-31T08:00:00Z") or "YYYY-MM-DD HH:MM"; blank is none."""
    value = row.get(key)
    if value is None or value == "":
        return default
    when = parse_utc(value) if isinstance(value, str) else None
    if when is None:
        raise FormatProblem(key, say("{column} must be a date and time in UTC (YYYY-MM-DDTHH:MM:SSZ), not {value}.",
                                     column=key, value=shown(value)))
    return when


def as_key(value, key: str) -> str | None:
    """A natural-key reference (an owner's email, a profile's name): text or nothing."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise FormatProblem(key, say("{column} must be text, not {value}.", column=key, value=shown(value)))
    return value


def state_code(row: dict, default=RecordState.ACTIVE) -> int:
    return as_int(row, "statecode", default)


def tls_mode(row: dict, prefix: str, default: int) -> int:
    """`<prefix>tlsmode` (ssl/starttls/none) wins; else Dynamics' `<prefix>usessl`."""
    mode = as_text(row, f"{prefix}tlsmode")
    if mode:
        if mode.strip().lower() not in TLS_CODES:
            column = prefix + "tlsmode"
            raise FormatProblem(column, say("{column} must be ssl, starttls or none.", column=column))
        return TLS_CODES[mode.strip().lower()]
    use_ssl = as_bool(row, f"{prefix}usessl")
    if use_ssl is None:
        return default
    return TlsMode.IMPLICIT if use_ssl else TlsMode.NONE


# (its braces are JSON's, not a placeholder: a sentence without values, so it is looked up whole)
REGARDING_SHAPE = say("regarding must be {user} or {queue}.", user='{"user": EMAIL}', queue='{"queue": NAME}')


def regarding_ref(value) -> tuple[MailboxKind, str] | None:
    """{"user": email} / {"queue": name}, or CSV's "user:email" / "queue:name"."""
    if value in (None, "", {}):
        return None
    if isinstance(value, str):
        kind, sep, key = value.partition(":")
        if not sep:
            raise FormatProblem("regarding", REGARDING_SHAPE)
        value = {kind.strip(): key.strip()}
    if isinstance(value, dict) and len(value) == 1:
        (kind, key), = value.items()
        if kind == "user" and isinstance(key, str) and key.strip():
            return MailboxKind.USER, key
        if kind == "queue" and isinstance(key, str) and key.strip():
            return MailboxKind.QUEUE, key
    raise FormatProblem("regarding", REGARDING_SHAPE)


def regarding_text(ref: dict | None) -> str:
    if not ref:
        return ""
    (kind, key), = ref.items()
    return f"{kind}:{key}"


# ---------------------------------------------------------------- CSV formula injection
# A spreadsheet runs a cell that starts with one of these as a formula. Export puts a "'" in
# front; import takes it off again. A cell that already starts with "'" followed by something
# import would unguard is guarded too, so every text value round-trips exactly.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _looks_guarded(text: str) -> bool:
    rest = text.lstrip("'")
    return rest.startswith(FORMULA_STARTS)


def csv_guard(text: str) -> str:
    """The cell as export writes it: "'" in front of anything a spreadsheet would run."""
    return "'" + text if _looks_guarded(text) else text


def csv_unguard(text: str) -> str:
    """The value a guarded cell stands for (the inverse of csv_guard)."""
    return text[1:] if text.startswith("'") and _looks_guarded(text[1:]) else text
