"""Every field of every record, declared once.

A declaration says what a field is (its type, option set, length limit, whether it is a secret),
what Dynamics calls it (the logical name: the exchange column that sets it), how the forms show it
(section, label, a short label that fits 24 columns at 80×24, help text) and where it is stored
(its model column). The labels the screens show, the exchange columns (store/exchange_format.py),
the conversions between rows and drafts (store/convert.py) and the form layouts derive from these
tuples; tests/domain/test_field_declarations.py holds the models, drafts and exchange to them.

Adding a field is: declare it here, add its draft attribute and model column (with a migration),
and, if it has one, its rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ..i18n import pgettext, shown
from .options import (
    ActMethod,
    ApprovalStatus,
    AuthMethod,
    IncomingMethod,
    MailboxKind,
    Option,
    OutgoingMethod,
    ProcessingState,
    RecordState,
    ServerType,
    TestStatus,
    TlsMode,
)

# Field types: what the value is in a draft, and how the exchange reads it.
TEXT = "text"  # str; stripped when stored
EMAIL = "email"  # str; normalised (M3) and stored with its natural key
INT = "int"  # int | None
BOOL = "bool"
OPTION = "option"  # an int code of `options`
DATETIME = "datetime"  # naive UTC datetime | None
REF = "ref"  # the id of another record; the exchange names it by its natural key
PASSWORD = "password"  # a PasswordEdit; stored encrypted, never exported
PIN = "pin"  # a SHA-256 fingerprint (P13): 64 hex digits or ""
TYPES = (TEXT, EMAIL, INT, BOOL, OPTION, DATETIME, REF, PASSWORD, PIN)

# Where a field is stored.
OWN = "own"  # a column of the record's own table
MAILBOX = "mailbox"  # a column of the record's mailbox (a user's or queue's Incoming Email…)
NOWHERE = "nowhere"  # derived from other columns (a user's Active is its state)


@dataclass(frozen=True)
class Field:
    name: str  # the draft attribute
    type: str
    label: str  # the full Dynamics label
    logical: str = ""  # the Dynamics logical name: the exchange column that sets it ("" when not exchanged)
    short: str = ""  # a label that fits 24 columns, when the full one does not
    options: type[Option] | None = None
    section: str = ""  # the form section it is shown in ("" when no form shows it)
    help: str = ""
    placeholder: str = ""  # what an empty input on the form shows
    secret: bool = False
    max_length: int | None = None
    default: object = None
    nullable: bool = False
    stored: str = OWN
    column: str = ""  # the model column, when it is not the field's name (a password's is "<name>_enc")
    editable: bool = True  # on the form; False: shown, or written only by the app (Test & Enable)
    also: tuple[str, ...] = ()  # other exchange columns that set it (Dynamics' incomingusessl)
    export_only: tuple[str, ...] = ()  # columns export writes about it and import ignores (ispasswordset)
    by_test: bool = False  # written only by Test & Enable: a save and an import leave it alone
    keyed: bool = False  # stored with its natural key in "<column>_key" (NFC, then lower case)
    exchanged_as: str = ""  # the type its exchange column has, when not its own (a user's state is isdisabled)
    lines: bool = False  # a value of several lines (a PEM or JSON key): a paste into the form keeps them all
    audited: bool = True  # False: the watch processes' bookkeeping, never a change in the history

    @property
    def model_column(self) -> str:
        if self.column:
            return self.column
        if self.type == PASSWORD:
            return f"{self.name}_enc"
        return self.name

    @property
    def short_label(self) -> str:
        return self.short or self.label

    @property
    def shown_label(self) -> str:
        """The full label in the admin's language (mailbox_tui/i18n.py; `label` stays the code's English)."""
        return shown(self.label)

    @property
    def shown_short(self) -> str:
        """A label that fits the form's label column (LABEL_WIDTH) in the admin's language: each language
        has its own short label for every field a form edits (the catalogue's "short label" context);
        any other field shows its short label as translated on its own."""
        short = self.short_label
        translated = pgettext(SHORT_LABEL, short)
        return translated if translated != short else shown(short)

    @property
    def exchange_columns(self) -> tuple[str, ...]:
        """The columns of its section that concern it, in order: its logical name, then the rest."""
        return ((self.logical,) if self.logical else ()) + self.also + self.export_only

    @property
    def import_columns(self) -> tuple[str, ...]:
        if self.by_test:
            return ()
        return ((self.logical,) if self.logical else ()) + self.also


LABEL_WIDTH = 24  # the form's label column at 80×24, less its padding
SHORT_LABEL = "short label"  # the catalogue's context for a label that fits LABEL_WIDTH


def _pw(name: str, label: str, logical: str, set_column: str, section: str, short: str = "",
        placeholder: str = "", help: str = "", lines: bool = False) -> Field:
    return Field(name, PASSWORD, label, logical, short=short, section=section, secret=True,
                 export_only=(set_column,), placeholder=placeholder, lines=lines,
                 help=help or "Write-only: never shown or exported; blank keeps the stored one.")


# ------------------------------------------------------------------------------------------ profile
PROFILE_FIELDS: tuple[Field, ...] = (
    Field("name", TEXT, "Name", "name", section="server", max_length=100, default="", keyed=True,
          placeholder="required, unique",
          help="Required, unique (P1)."),
    Field("server_type", OPTION, "Server Type", "servertype", options=ServerType, section="server",
          default=ServerType.IMAP_SMTP),
    Field("auto_discover", BOOL, "Auto Discover Server Location", "useautodiscover", short="Auto Discover",
          section="server", default=False),
    Field("incoming_location", TEXT, "Incoming Server Location", "incomingserverlocation", short="Incoming Server",
          section="server", max_length=500, default="", placeholder="e.g. imap.example.com"),
    Field("incoming_port", INT, "Incoming Port", "incomingportnumber", section="server", nullable=True),
    Field("incoming_tls", OPTION, "Incoming Security", "incomingtlsmode", options=TlsMode, section="server",
          default=TlsMode.IMPLICIT, also=("incomingusessl",)),
    Field("outgoing_location", TEXT, "Outgoing Server Location", "outgoingserverlocation", short="Outgoing Server",
          section="server", max_length=500, default="", placeholder="e.g. smtp.example.com"),
    Field("outgoing_port", INT, "Outgoing Port", "outgoingportnumber", section="server", nullable=True),
    Field("outgoing_tls", OPTION, "Outgoing Security", "outgoingtlsmode", options=TlsMode, section="server",
          default=TlsMode.IMPLICIT, also=("outgoingusessl",)),
    Field("auth_method", OPTION, "Authenticate Using", "incomingcredentialretrieval", options=AuthMethod,
          section="authentication", default=AuthMethod.USER_OR_QUEUE_CREDENTIALS),
    Field("use_same_settings_for_outgoing", BOOL, "Use Same Settings for Outgoing Connections",
          "usesamesettingsforoutgoingconnections", short="Same for Outgoing", section="authentication",
          default=True),
    Field("outgoing_auth_method", OPTION, "Outgoing Authenticate Using", "outgoingcredentialretrieval",
          short="Outgoing Auth", options=AuthMethod, section="authentication",
          default=AuthMethod.USER_OR_QUEUE_CREDENTIALS),
    Field("username", TEXT, "User Name", "username", section="authentication", max_length=200, default=""),
    _pw("password", "Password", "password", "ispasswordset", "authentication"),
    Field("outgoing_username", TEXT, "Outgoing User Name", "outgoingusername", section="authentication",
          max_length=200, default=""),
    _pw("outgoing_password", "Outgoing Password", "outgoingpassword", "isoutgoingpasswordset", "authentication"),
    # P14 OAuth: Microsoft Entra ID (7) and Google service accounts (5). Secrets are passwords: encrypted,
    # rotated, never shown, logged or exported.
    Field("oauth_client_id", TEXT, "Client ID", "oauthclientid", section="authentication", max_length=200, default="",
          placeholder="application (client) id", help="The app registration's Application (client) ID (P14)."),
    _pw("oauth_client_secret", "Client Secret", "oauthclientsecret", "isoauthclientsecretset", "authentication",
        placeholder="secret value, or a certificate below"),
    _pw("oauth_certificate", "Client Certificate (PEM)", "oauthcertificate", "isoauthcertificateset", "authentication",
        short="Certificate (PEM)", placeholder="paste private key + certificate (PEM)", lines=True,
        help="The PEM private key and certificate the app signs its assertion with (P14); never shown."),
    Field("oauth_tenant_id", TEXT, "Tenant ID", "exchangeonlinetenantid", section="authentication", max_length=100,
          default="", placeholder="a GUID, or e.g. contoso.onmicrosoft.com",
          help="The Microsoft Entra ID tenant: its GUID or a verified domain (P14)."),
    _pw("oauth_service_account_key", "Service Account Key", "oauthserviceaccountkey",
        "isoauthserviceaccountkeyset", "authentication", placeholder="paste the JSON key file", lines=True,
        help="The Google service account's JSON key (or PEM key), with domain-wide delegation (P14); never shown."),
    Field("oauth_scope", TEXT, "Scope", "oauthscope", section="authentication", max_length=500, default="",
          placeholder="blank: the provider's mail scope",
          help="Blank fills in https://outlook.office365.com/.default (OAuth) or https://mail.google.com/ "
               "(Gmail OAuth) on save (P14)."),
    Field("oauth_token_endpoint", TEXT, "Token Endpoint", "oauthtokenendpoint", section="authentication",
          max_length=500,
          default="", placeholder="blank: derived from the tenant",
          help="Optional https URL overriding the provider's token endpoint (P14)."),
    Field("max_concurrent_connections", INT, "Maximum Concurrent Connections", "maxconcurrentconnections",
          short="Max Connections", section="limits", default=10),
    Field("min_polling_minutes", INT, "Minimum Polling Intervals in Minutes", "minpollingintervalinminutes",
          short="Min Polling (min)", section="limits", default=0),
    Field("timeout_seconds", INT, "Timeout (seconds)", "timeoutseconds", section="limits", default=30),
    Field("transient_retries", INT, "Retries After a Transient Failure", "transientfailureretries",
          short="Retries (transient)", section="limits", default=10,
          help="How often Test & Enable retries a transient failure before it disables the direction (P9)."),
    Field("retry_interval_minutes", INT, "Minutes Between Retries", "transientfailureretryintervalinminutes",
          short="Retry Every (min)", section="limits", default=5,
          help="The wait before each retry of a transient failure (P9)."),
    Field("move_undelivered", BOOL, "Move Undelivered Emails to the Undeliverable Folder", "moveundeliveredemails",
          short="Move Undelivered", section="limits", default=False,
          help="Yes: mail that cannot be delivered goes to an Undeliverable folder instead of being retried (P12)."),
    Field("incoming_cert_sha256", PIN, "Incoming Pinned Certificate (SHA-256)", "incomingcertsha256",
          section="", max_length=64, default="", editable=False),
    Field("outgoing_cert_sha256", PIN, "Outgoing Pinned Certificate (SHA-256)", "outgoingcertsha256",
          section="", max_length=64, default="", editable=False),
    Field("state", OPTION, "Status", "statecode", options=RecordState, default=RecordState.ACTIVE, editable=False),
)
PROFILE_SECTIONS = {"server": "Server", "authentication": "Authentication", "limits": "Limits"}

# --------------------------------------------------------------------------------------------- user
USER_FIELDS: tuple[Field, ...] = (
    Field("full_name", TEXT, "Full Name", "fullname", section="user", max_length=200, default="",
          placeholder="required", help="Required (U1)."),
    Field("email", EMAIL, "Primary Email", "internalemailaddress", section="user", max_length=100, default="",
          placeholder="e.g. name@example.com"),
    # Dynamics exchanges "isdisabled": the opposite of Active.
    Field("state", OPTION, "Active", "isdisabled", options=RecordState, section="user", default=RecordState.ACTIVE,
          exchanged_as=BOOL),  # true: Inactive (code 1)
    # Kept on the user's mailbox; the exchange carries them on the user's row.
    Field("approval", OPTION, "Email Address Approval", "emailrouteraccessapproval", options=ApprovalStatus,
          stored=MAILBOX, editable=False),
    Field("incoming", OPTION, "Incoming Email", "incomingemaildeliverymethod", options=IncomingMethod,
          stored=MAILBOX, editable=False),
    Field("outgoing", OPTION, "Outgoing Email", "outgoingemaildeliverymethod", options=OutgoingMethod,
          stored=MAILBOX, editable=False),
)
USER_SECTIONS = {"user": "User"}

# -------------------------------------------------------------------------------------------- queue
QUEUE_FIELDS: tuple[Field, ...] = (
    Field("name", TEXT, "Name", "name", section="queue", max_length=200, default="", keyed=True,
          placeholder="required"),
    Field("email", EMAIL, "Email", "emailaddress", section="queue", max_length=100, default="",
          placeholder="e.g. support@example.com"),
    Field("owner_id", REF, "Owner", "owner", section="queue", column="owner"),
    Field("incoming", OPTION, "Incoming Email", "incomingemaildeliverymethod", options=IncomingMethod,
          section="queue", stored=MAILBOX, default=IncomingMethod.NONE),
    Field("outgoing", OPTION, "Outgoing Email", "outgoingemaildeliverymethod", options=OutgoingMethod,
          section="queue", stored=MAILBOX, default=OutgoingMethod.NONE),
    Field("approval", OPTION, "Email Address Approval", "emailrouteraccessapproval", options=ApprovalStatus,
          stored=MAILBOX, editable=False),
    Field("state", OPTION, "Status", "statecode", options=RecordState, default=RecordState.ACTIVE, editable=False),
)
QUEUE_SECTIONS = {"queue": "Queue"}

# ------------------------------------------------------------------------------------------ mailbox
MAILBOX_FIELDS: tuple[Field, ...] = (
    Field("name", TEXT, "Name", "name", section="general", max_length=200, default="", keyed=True,
          placeholder="required"),
    Field("owner_id", REF, "Owner", "owner", section="general", column="owner"),
    Field("email", EMAIL, "Email Address", "emailaddress", section="general", max_length=100, default="",
          placeholder="e.g. name@example.com"),
    Field("delete_after_processing", BOOL, "Delete Email Messages After Processing", "processanddeleteemails",
          short="Delete After Processing", section="general", default=False),
    Field("regarding_id", REF, "Regarding", "regarding", editable=False, column="regarding_user",
          help="The user's or queue's record (regarding_user or regarding_queue, per kind)."),
    Field("kind", OPTION, "Is Forward Mailbox", "isforwardmailbox", options=MailboxKind, editable=False,
          help="Fixed when the mailbox is created (M8)."),
    Field("allow_credentials", BOOL, "Allow to Use Credentials for Email Processing",
          "allowemailconnectortousecredentials", short="Allow to Use Credentials", section="credentials",
          default=False),
    Field("username", TEXT, "User Name", "username", section="credentials", max_length=200, default=""),
    _pw("password", "Password", "password", "ispasswordset", "credentials"),
    Field("profile_id", REF, "Server Profile", "emailserverprofile", section="sync", column="profile",
          nullable=True, placeholder="(no server profile)"),
    Field("incoming", OPTION, "Incoming Email", "incomingemaildeliverymethod", options=IncomingMethod,
          section="sync", default=IncomingMethod.NONE),
    Field("outgoing", OPTION, "Outgoing Email", "outgoingemaildeliverymethod", options=OutgoingMethod,
          section="sync", default=OutgoingMethod.NONE),
    Field("act", OPTION, "Appointments, Contacts, and Tasks", "actdeliverymethod", short="Appts/Contacts/Tasks",
          options=ActMethod, section="sync", default=ActMethod.NONE),
    Field("process_after", DATETIME, "Process Email From", "processemailreceivedafter", section="sync",
          nullable=True, placeholder="YYYY-MM-DD HH:MM UTC; blank: all",
          help="UTC, YYYY-MM-DD HH:MM; blank: no limit. Mail received before it is not processed (M19)."),
    Field("state", OPTION, "Status", "statecode", options=RecordState, default=RecordState.ACTIVE, editable=False),
    Field("approval", OPTION, "Email Address Approval", "emailrouteraccessapproval", options=ApprovalStatus,
          section="results", default=ApprovalStatus.EMPTY, editable=False),
    Field("incoming_status", OPTION, "Incoming Email Status", "incomingemailstatus", options=TestStatus,
          section="results", default=TestStatus.NOT_RUN, editable=False, by_test=True),
    Field("outgoing_status", OPTION, "Outgoing Email Status", "outgoingemailstatus", options=TestStatus,
          section="results", default=TestStatus.NOT_RUN, editable=False, by_test=True),
    Field("act_status", OPTION, "Appointments, Contacts, and Tasks Status", "actstatus", options=TestStatus,
          section="results", default=TestStatus.NOT_RUN, editable=False, by_test=True),
    Field("test_completed_on", DATETIME, "Mailbox Test Completed On", "testmailboxaccesscompletedon",
          section="results", nullable=True, editable=False, by_test=True),
    Field("enabled_incoming", BOOL, "Incoming Email Enabled", "enabledforincomingemail", editable=False,
          default=False, by_test=True),
    Field("enabled_outgoing", BOOL, "Outgoing Email Enabled", "enabledforoutgoingemail", editable=False,
          default=False, by_test=True),
    Field("enabled_act", BOOL, "Appointments, Contacts, and Tasks Enabled", "enabledforact", editable=False,
          default=False, by_test=True),
    # The lifecycle (issue 24, domain/lifecycle.py): written by Test & Enable and its retries, exported, never
    # imported; the form shows them as one "Next attempt" line and one "Last error" line.
    Field("transient_failures", INT, "Transient Failure Count", "transientfailurecount", editable=False, default=0,
          by_test=True),
    Field("test_retries", INT, "Test Email Configuration Retry Count", "testemailconfigurationretrycount",
          editable=False, default=0, by_test=True),
    Field("next_test_attempt", DATETIME, "Postpone Test Email Configuration Until",
          "postponetestemailconfigurationuntil", nullable=True, editable=False, by_test=True),
    Field("last_attempted_on", DATETIME, "Processing Last Attempted On", "processinglastattemptedon", nullable=True,
          editable=False, by_test=True),
    Field("last_error", TEXT, "Last Sync Error", "lastsyncerror", max_length=2000, default="", editable=False,
          by_test=True),
    Field("last_error_code", INT, "Last Sync Error Code", "lastsyncerrorcode", nullable=True, editable=False,
          by_test=True),
    Field("last_error_on", DATETIME, "Last Sync Error Occurred On", "lastsyncerroroccurredon", nullable=True,
          editable=False, by_test=True),
    Field("last_error_count", INT, "Last Sync Error Count", "lastsyncerrorcount", editable=False, default=0,
          by_test=True),
    # The watch processes' bookkeeping (issue 24, `mailbox-tui watch`): when a mailbox is next due (its retry, or
    # its next poll while enabled: Dynamics' postponemailboxprocessinguntil), and which host is testing it
    # (Dynamics' hostid and processingstatecode, and since when). Not exchanged, not in the history.
    Field("next_processing", DATETIME, "Postpone Mailbox Processing Until", nullable=True, editable=False,
          by_test=True, audited=False),
    Field("host_id", TEXT, "Host ID", max_length=100, default="", editable=False, by_test=True, audited=False),
    Field("processing_state", OPTION, "Processing State", options=ProcessingState, default=ProcessingState.IDLE,
          editable=False, by_test=True, audited=False),
    Field("claimed_on", DATETIME, "Claimed On", nullable=True, editable=False, by_test=True, audited=False),
)
# The lifecycle's fields (issue 24): migration 9 added them; health and the retries read them.
LIFECYCLE_FIELDS = ("transient_failures", "test_retries", "next_test_attempt", "last_attempted_on", "last_error",
                    "last_error_code", "last_error_on", "last_error_count")
# The watch's fields (issue 24 item 4): migration 10 adds them, with the index of the due mailboxes.
WATCH_FIELDS = ("next_processing", "host_id", "processing_state", "claimed_on")
MAILBOX_SECTIONS = {"general": "General", "credentials": "Credentials", "sync": "Synchronization Method",
                    "results": "Configuration Test Results"}

# ------------------------------------------------------------------------------------ organisation
ORG_FIELDS: tuple[Field, ...] = (
    Field("default_profile_id", REF, "Server Profile", section="defaults", column="default_profile", nullable=True,
          placeholder="(no default profile)"),
    Field("default_incoming", OPTION, "Incoming Email", options=IncomingMethod, section="defaults",
          default=IncomingMethod.NONE),
    Field("default_outgoing", OPTION, "Outgoing Email", options=OutgoingMethod, section="defaults",
          default=OutgoingMethod.NONE),
    Field("default_act", OPTION, "Appointments, Contacts, and Tasks", short="Appts/Contacts/Tasks",
          options=ActMethod, section="defaults", default=ActMethod.NONE),
    Field("approval_required_users", BOOL, "Process Emails Only for Approved Users", short="Approved users only",
          section="approval", default=True),
    Field("approval_required_queues", BOOL, "Process Emails Only for Approved Queues", short="Approved queues only",
          section="approval", default=True),
)
ORG_SECTIONS = {"defaults": "Email Settings: defaults for new mailboxes", "approval": "Approval"}

FIELDS: dict[str, tuple[Field, ...]] = {
    "profile": PROFILE_FIELDS, "user": USER_FIELDS, "queue": QUEUE_FIELDS, "mailbox": MAILBOX_FIELDS,
    "org": ORG_FIELDS,
}
# The exchange document's sections, and the record each holds.
EXCHANGE_SECTIONS = {"profiles": "profile", "users": "user", "queues": "queue", "mailboxes": "mailbox"}


def by_name(fields: tuple[Field, ...]) -> dict[str, Field]:
    return {f.name: f for f in fields}


def labels(fields: tuple[Field, ...]) -> dict[str, str]:
    """Full labels by field name (messages, conflicts, documents)."""
    return {f.name: f.label for f in fields}


def short_labels(fields: tuple[Field, ...]) -> dict[str, str]:
    """Labels that fit a form's label column at 80×24, in the admin's language."""
    return {f.name: f.shown_short for f in fields}


def form_fields(fields: tuple[Field, ...], section: str | None = None) -> tuple[Field, ...]:
    """The fields an admin edits on the form, in form order (all sections, or one)."""
    return tuple(f for f in fields if f.editable and f.section and (section is None or f.section == section))


def secret_fields(fields: tuple[Field, ...]) -> tuple[Field, ...]:
    """The fields stored encrypted (passwords, OAuth secrets): rotated, never shown or exported."""
    return tuple(f for f in fields if f.type == PASSWORD and f.stored == OWN)


def exchange_columns(fields: tuple[Field, ...]) -> tuple[str, ...]:
    return tuple(c for f in fields for c in f.exchange_columns)


def read_only_columns(fields: tuple[Field, ...]) -> frozenset[str]:
    """Columns export writes for reference and import ignores."""
    return frozenset(c for f in fields for c in f.exchange_columns if c not in f.import_columns)


def field_of_column(fields: tuple[Field, ...]) -> dict[str, str]:
    """The draft field each exchange column sets (or reports about)."""
    return {c: f.name for f in fields for c in f.exchange_columns}


DATETIME_FORMATS = ("%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S",
                    "%Y-%m-%dT%H:%M:%S.%f", "%Y-%m-%d")


def parse_utc(text: str) -> datetime | None:
    """A date-time an admin typed or a file holds, in UTC ("Z" or "+00:00" allowed); None if it is not one."""
    text = (text or "").strip()
    if text.endswith("Z"):
        text = text[:-1]
    elif text.endswith("+00:00"):
        text = text[:-6]
    for fmt in DATETIME_FORMATS:
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            continue
    return None


def utc_text(value: datetime | None) -> str:
    """How a form shows a date-time field."""
    return value.strftime("%Y-%m-%d %H:%M") if value else ""
