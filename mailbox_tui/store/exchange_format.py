"""The exchange format (docs/RULES.md): Dynamics logical names, integer codes, natural keys.

Pure mapping between rows and drafts; reading files and the database is the exchange package.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from ..domain.findings import Severity
from ..domain.options import MailboxKind, RecordState, TlsMode

SECTIONS = ("profiles", "users", "queues", "mailboxes")

PROFILE_COLUMNS = (
    "name", "servertype", "useautodiscover",
    "incomingserverlocation", "incomingportnumber", "incomingusessl", "incomingtlsmode",
    "outgoingserverlocation", "outgoingportnumber", "outgoingusessl", "outgoingtlsmode",
    "incomingcredentialretrieval", "outgoingcredentialretrieval", "usesamesettingsforoutgoingconnections",
    "username", "password", "ispasswordset", "outgoingusername", "outgoingpassword", "isoutgoingpasswordset",
    "maxconcurrentconnections", "minpollingintervalinminutes", "timeoutseconds",
    "incomingcertsha256", "outgoingcertsha256", "statecode",
)
USER_COLUMNS = (
    "fullname", "internalemailaddress", "isdisabled", "emailrouteraccessapproval",
    "incomingemaildeliverymethod", "outgoingemaildeliverymethod",
)
QUEUE_COLUMNS = (
    "name", "emailaddress", "owner", "incomingemaildeliverymethod", "outgoingemaildeliverymethod",
    "emailrouteraccessapproval", "statecode",
)
MAILBOX_COLUMNS = (
    "name", "emailaddress", "isforwardmailbox", "owner", "regarding", "emailserverprofile",
    "processanddeleteemails", "allowemailconnectortousecredentials", "username", "password", "ispasswordset",
    "incomingemaildeliverymethod", "outgoingemaildeliverymethod", "actdeliverymethod", "statecode",
    "emailrouteraccessapproval", "incomingemailstatus", "outgoingemailstatus", "actstatus",
    "testmailboxaccesscompletedon",
)
COLUMNS = {"profiles": PROFILE_COLUMNS, "users": USER_COLUMNS, "queues": QUEUE_COLUMNS, "mailboxes": MAILBOX_COLUMNS}
# Written by export for reference; an import ignores them (Test & Enable writes results).
READ_ONLY = {"ispasswordset", "isoutgoingpasswordset", "incomingemailstatus", "outgoingemailstatus", "actstatus",
             "testmailboxaccesscompletedon"}

# The draft field each column sets, so a column's format problem and a rule's finding on its
# field are not both reported.
FIELD_OF = {
    "name": "name", "servertype": "server_type", "useautodiscover": "auto_discover",
    "incomingserverlocation": "incoming_location", "incomingportnumber": "incoming_port",
    "incomingusessl": "incoming_tls", "incomingtlsmode": "incoming_tls",
    "outgoingserverlocation": "outgoing_location", "outgoingportnumber": "outgoing_port",
    "outgoingusessl": "outgoing_tls", "outgoingtlsmode": "outgoing_tls",
    "incomingcredentialretrieval": "auth_method", "outgoingcredentialretrieval": "outgoing_auth_method",
    "usesamesettingsforoutgoingconnections": "use_same_settings_for_outgoing",
    "username": "username", "password": "password", "outgoingusername": "outgoing_username",
    "outgoingpassword": "outgoing_password", "maxconcurrentconnections": "max_concurrent_connections",
    "minpollingintervalinminutes": "min_polling_minutes", "timeoutseconds": "timeout_seconds",
    "incomingcertsha256": "incoming_cert_sha256", "outgoingcertsha256": "outgoing_cert_sha256",
    "statecode": "state", "fullname": "full_name", "internalemailaddress": "email", "isdisabled": "state",
    "emailrouteraccessapproval": "approval", "incomingemaildeliverymethod": "incoming",
    "outgoingemaildeliverymethod": "outgoing", "actdeliverymethod": "act", "emailaddress": "email",
    "owner": "owner_id", "regarding": "regarding_id", "isforwardmailbox": "kind",
    "emailserverprofile": "profile_id", "processanddeleteemails": "delete_after_processing",
    "allowemailconnectortousecredentials": "allow_credentials",
}

TLS_NAMES = {TlsMode.NONE: "none", TlsMode.IMPLICIT: "ssl", TlsMode.STARTTLS: "starttls"}
TLS_CODES = {v: k for k, v in TLS_NAMES.items()}


@dataclass(frozen=True)
class ImportFinding:
    section: str
    row: int  # 1-based within its section; 0 for the document itself
    rule: str
    field: str
    severity: Severity
    message: str

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def as_dict(self) -> dict:
        return {"section": self.section, "row": self.row, "rule": self.rule, "field": self.field,
                "severity": self.severity.value, "message": self.message}

    def __str__(self) -> str:
        where = f"{self.section}[{self.row}]" if self.row else self.section
        return f"{where} {self.rule} {self.severity.value}: {self.message}"


class FormatProblem(ValueError):
    """A value of the wrong type; reported as rule FORMAT with its field."""

    def __init__(self, field: str, message: str):
        self.field = field
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
        raise FormatProblem(key, f"{key} must be a whole number, not {shown(value)}.")
    if not INT_MIN <= number <= INT_MAX:
        raise FormatProblem(key, f"{key} is out of range: {shown(value)}.")
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
    raise FormatProblem(key, f"{key} must be true or false, not {shown(value)}.")


def as_text(row: dict, key: str, default=None):
    value = row.get(key)
    if value is None:
        return default
    if not isinstance(value, str):
        raise FormatProblem(key, f"{key} must be text, not {shown(value)}.")
    return value


def as_key(value, key: str) -> str | None:
    """A natural-key reference (an owner's email, a profile's name): text or nothing."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise FormatProblem(key, f"{key} must be text, not {shown(value)}.")
    return value


def state_code(row: dict, default=RecordState.ACTIVE) -> int:
    return as_int(row, "statecode", default)


def tls_mode(row: dict, prefix: str, default: int) -> int:
    """`<prefix>tlsmode` (ssl/starttls/none) wins; else Dynamics' `<prefix>usessl`."""
    mode = as_text(row, f"{prefix}tlsmode")
    if mode:
        if mode.strip().lower() not in TLS_CODES:
            raise FormatProblem(f"{prefix}tlsmode", f"{prefix}tlsmode must be ssl, starttls or none.")
        return TLS_CODES[mode.strip().lower()]
    use_ssl = as_bool(row, f"{prefix}usessl")
    if use_ssl is None:
        return default
    return TlsMode.IMPLICIT if use_ssl else TlsMode.NONE


def regarding_ref(value) -> tuple[MailboxKind, str] | None:
    """{"user": email} / {"queue": name}, or CSV's "user:email" / "queue:name"."""
    if value in (None, "", {}):
        return None
    if isinstance(value, str):
        kind, sep, key = value.partition(":")
        if not sep:
            raise FormatProblem("regarding", 'regarding must be {"user": EMAIL} or {"queue": NAME}.')
        value = {kind.strip(): key.strip()}
    if isinstance(value, dict) and len(value) == 1:
        (kind, key), = value.items()
        if kind == "user" and isinstance(key, str) and key.strip():
            return MailboxKind.USER, key
        if kind == "queue" and isinstance(key, str) and key.strip():
            return MailboxKind.QUEUE, key
    raise FormatProblem("regarding", 'regarding must be {"user": EMAIL} or {"queue": NAME}.')


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
