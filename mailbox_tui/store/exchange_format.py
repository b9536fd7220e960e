"""The exchange format (DOMAIN.md): Dynamics logical names, integer codes, natural keys.

Pure mapping between rows and drafts; reading and writing the database is in exchange.py.
"""

from __future__ import annotations

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


def as_int(row: dict, key: str, default=None):
    value = row.get(key)
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        raise FormatProblem(key, f"{key} must be a whole number, not {value!r}.")
    try:
        return int(value)
    except (TypeError, ValueError):
        raise FormatProblem(key, f"{key} must be a whole number, not {value!r}.") from None


_TRUE = {"true", "1", "yes", "y"}
_FALSE = {"false", "0", "no", "n"}


def as_bool(row: dict, key: str, default=None):
    value = row.get(key)
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise FormatProblem(key, f"{key} must be true or false, not {value!r}.")


def as_text(row: dict, key: str, default=None):
    value = row.get(key)
    if value is None:
        return default
    if isinstance(value, (dict, list)):
        raise FormatProblem(key, f"{key} must be text.")
    return str(value)


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
        if kind == "user" and isinstance(key, str):
            return MailboxKind.USER, key
        if kind == "queue" and isinstance(key, str):
            return MailboxKind.QUEUE, key
    raise FormatProblem("regarding", 'regarding must be {"user": EMAIL} or {"queue": NAME}.')


def regarding_text(ref: dict | None) -> str:
    if not ref:
        return ""
    (kind, key), = ref.items()
    return f"{kind}:{key}"
