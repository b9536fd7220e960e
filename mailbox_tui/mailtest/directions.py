"""A mailbox's test directions (incoming, outgoing, appointments/contacts/tasks) and what planning decides
for one of them: a result already, or a probe to run. Shared by plan.py and exchange_plan.py."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..i18n import N_
from .probes import Credentials, Endpoint

INCOMING, OUTGOING, ACT = N_("incoming"), N_("outgoing"), N_("act")  # English in --json; shown() translates
DIRECTIONS = (INCOMING, OUTGOING, ACT)
STATUS_FIELDS = {INCOMING: "incoming_status", OUTGOING: "outgoing_status", ACT: "act_status"}
DIRECTION_LABELS = {INCOMING: N_("Incoming email"), OUTGOING: N_("Outgoing email"),
                    ACT: N_("Appointments, contacts and tasks")}
CONFIGURATION = N_("configuration")  # the step of a failure found before connecting
UNREADABLE_MESSAGE = N_("The stored password can't be read with the current key: re-enter it, or use the right key.")


@dataclass
class DirectionTest:
    """One direction of one mailbox: decided already (status set) or a probe to run."""

    direction: str
    status: int | None = None  # None: run `endpoint`
    step: str = ""
    message: str = ""
    rule: str = ""
    endpoint: Endpoint | None = None
    credentials: Credentials | None = field(default=None, repr=False)
    note: str = ""  # added to a success message: what was not tested
    warning: bool = False  # and the note is worth an alert (a sign-in method this tool cannot use)

    @property
    def needs_probe(self) -> bool:
        return self.status is None


def token_user(d) -> str:
    """The address a token acts for and the SASL user (P14): the mailbox's user name, else its address."""
    return (d.username or "").strip() or d.email.strip()
