"""Option sets with the integer codes Dynamics 365 stores, and their labels."""

from __future__ import annotations

from enum import IntEnum

from ..i18n import shown


class Option(IntEnum):
    """An option-set value: its int is the Dynamics code, `label` its name in the code's own English (what
    `--json`, logs and the database hold), `shown_label` the same in the admin's language (mailbox_tui/i18n.py)."""

    @property
    def label(self) -> str:
        return self._labels()[self.value]

    @property
    def shown_label(self) -> str:
        return shown(self.label)

    @classmethod
    def _labels(cls) -> dict[int, str]:
        raise NotImplementedError

    @classmethod
    def choices(cls, allowed: frozenset[int] | None = None) -> list[tuple[str, int]]:
        """(label, code) pairs, as a form offers them (in the admin's language), limited to `allowed` codes
        when given."""
        return [(m.shown_label, m.value) for m in cls if allowed is None or m.value in allowed]

    @classmethod
    def label_of(cls, code: int | None) -> str:
        if code is None:
            return ""
        try:
            return cls(code).label
        except ValueError:
            return f"unknown ({code})"


class IncomingMethod(Option):
    NONE = 0
    OUTLOOK = 1
    SERVER_SIDE_SYNC = 2
    FORWARD_MAILBOX = 3

    @classmethod
    def _labels(cls) -> dict[int, str]:
        return {
            0: "None",
            1: "Microsoft Dynamics 365 for Outlook",
            2: "Server-Side Synchronization or Email Router",
            3: "Forward Mailbox",
        }


class OutgoingMethod(Option):
    NONE = 0
    OUTLOOK = 1
    SERVER_SIDE_SYNC = 2

    @classmethod
    def _labels(cls) -> dict[int, str]:
        return {
            0: "None",
            1: "Microsoft Dynamics 365 for Outlook",
            2: "Server-Side Synchronization or Email Router",
        }


class ActMethod(Option):
    """Appointments, Contacts, and Tasks. Note: None is 2 here, not 0."""

    OUTLOOK = 0
    SERVER_SIDE_SYNC = 1
    NONE = 2

    @classmethod
    def _labels(cls) -> dict[int, str]:
        return {0: "Microsoft Dynamics 365 for Outlook", 1: "Server-Side Synchronization", 2: "None"}


class TestStatus(Option):
    __test__ = False  # not a pytest class

    NOT_RUN = 0
    SUCCESS = 1
    FAILURE = 2

    @classmethod
    def _labels(cls) -> dict[int, str]:
        return {0: "Not Run", 1: "Success", 2: "Failure"}


class ApprovalStatus(Option):
    EMPTY = 0
    APPROVED = 1
    PENDING = 2
    REJECTED = 3

    @classmethod
    def _labels(cls) -> dict[int, str]:
        return {0: "Empty", 1: "Approved", 2: "Pending Approval", 3: "Rejected"}


class ServerType(Option):
    EXCHANGE = 0
    POP3_SMTP = 1
    EXCHANGE_HYBRID = 2
    EXCHANGE_ONLINE_HYBRID = 3
    IMAP_SMTP = 4

    @classmethod
    def _labels(cls) -> dict[int, str]:
        return {
            0: "Exchange Server",
            1: "POP3/SMTP",
            2: "Exchange Server (Hybrid)",
            3: "Exchange Online (Hybrid)",
            4: "IMAP/SMTP",
        }

    @property
    def is_exchange(self) -> bool:
        return self in EXCHANGE_TYPES


EXCHANGE_TYPES = frozenset({ServerType.EXCHANGE, ServerType.EXCHANGE_HYBRID, ServerType.EXCHANGE_ONLINE_HYBRID})


class AuthMethod(Option):
    """Profile "Authenticate Using"."""

    USER_OR_QUEUE_CREDENTIALS = 0
    PROFILE_CREDENTIALS = 1
    SERVER_TO_SERVER = 2
    WINDOWS_INTEGRATED = 3
    ANONYMOUS = 4
    GMAIL_OAUTH = 5
    EXCHANGE_HYBRID_MODERN_AUTH = 6
    OAUTH = 7

    @classmethod
    def _labels(cls) -> dict[int, str]:
        return {
            0: "Credentials Specified by a User or Queue",
            1: "Credentials Specified in Email Server Profile",
            2: "Server to Server Authentication",
            3: "Windows Integrated Authentication",
            4: "Without Credentials (Anonymous)",
            5: "Gmail OAuth",
            6: "Exchange Hybrid Modern Auth",
            7: "OAuth",
        }


class TlsMode(Option):
    """How a connection is secured. Dynamics stores only "use SSL"; we keep STARTTLS apart."""

    NONE = 0
    IMPLICIT = 1
    STARTTLS = 2

    @classmethod
    def _labels(cls) -> dict[int, str]:
        return {0: "None (plain text)", 1: "SSL/TLS", 2: "STARTTLS"}


class RecordState(Option):
    ACTIVE = 0
    INACTIVE = 1

    @classmethod
    def _labels(cls) -> dict[int, str]:
        return {0: "Active", 1: "Inactive"}


class MailboxKind(Option):
    """Not a Dynamics field: which record a mailbox belongs to."""

    USER = 0
    QUEUE = 1
    FORWARD = 2

    @classmethod
    def _labels(cls) -> dict[int, str]:
        return {0: "User", 1: "Queue", 2: "Forward"}


class ProcessingState(Option):
    """Dynamics' `processingstatecode` on a mailbox: whether a `watch` host is testing it now (issue 24)."""

    IDLE = 0
    PROCESSING = 1

    @classmethod
    def _labels(cls) -> dict[int, str]:
        return {0: "Idle", 1: "Processing"}


# The option sets as docs/RULES.md lists them: a title, the set, the columns of the import and
# export files (Dynamics logical names) that hold its codes, and what else a reader needs to know.
OPTION_SETS: tuple[tuple[str, type[Option], tuple[str, ...], str], ...] = (
    ("Incoming Email", IncomingMethod, ("incomingemaildeliverymethod",), ""),
    ("Outgoing Email", OutgoingMethod, ("outgoingemaildeliverymethod",), ""),
    ("Appointments, Contacts, and Tasks (ACT)", ActMethod, ("actdeliverymethod",), "None is 2 here, not 0."),
    ("Test status", TestStatus, ("incomingemailstatus", "outgoingemailstatus", "actstatus"),
     "Written only by Test & Enable; an import ignores these columns."),
    ("Email Address Approval", ApprovalStatus, ("emailrouteraccessapproval",), ""),
    ("Server Type", ServerType, ("servertype",), ""),
    ("Authenticate Using", AuthMethod, ("incomingcredentialretrieval", "outgoingcredentialretrieval"), ""),
    ("Status", RecordState, ("statecode",), "A user's row carries `isdisabled` instead: true is Inactive."),
    ("TLS mode", TlsMode, ("incomingtlsmode", "outgoingtlsmode"),
     "Not a Dynamics option set: Dynamics stores only whether SSL is used (`incomingusessl`, `outgoingusessl`)."),
)
