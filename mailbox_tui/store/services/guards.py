"""What every write checks: the rules refuse errors, and a save never overwrites another's."""

from __future__ import annotations

import logging

from ...i18n import N_, say
from ...domain.findings import Finding, RuleViolation, errors
from ..database import ConflictError, StoreError
from ..models import utcnow

log = logging.getLogger(__name__)


class NotFound(StoreError):
    pass


def stored_row(model, record_id: int, what: str, gone: str = ""):
    """The stored row of a record, or NotFound naming it ("User 6 does not exist."): what every
    service's get_…() reads before it makes the draft."""
    row = model.get_or_none(model.id == record_id)
    if row is None:
        record = numbered(what, record_id)
        raise NotFound(say("{what} does not exist (it may have been deleted).", what=record) if gone else
                       say("{what} does not exist.", what=record))
    return row


# A record by its number or its name, to start a sentence (English, say(): said() shows it).
_NUMBERED = {"Mailbox": N_("Mailbox {id}"), "User": N_("User {id}"), "Queue": N_("Queue {id}"),
             "Server profile": N_("Server profile {id}")}
_NAMED = {"Mailbox": N_("Mailbox {name}"), "User": N_("User {name}"), "Queue": N_("Queue {name}"),
          "Server profile": N_("Server profile {name}")}


def numbered(what: str, record_id) -> str:
    """ "Mailbox 6"."""
    return say(_NUMBERED[what], id=record_id) if what in _NUMBERED else f"{what} {record_id}"


def named(what: str, name: str) -> str:
    """ "Queue 'Sales'" (the name quoted as Python does)."""
    return say(_NAMED[what], name=repr(name)) if what in _NAMED else f"{what} {name!r}"


def refuse_on_errors(findings: list[Finding]) -> list[Finding]:
    if errors(findings):
        raise RuleViolation(findings)
    return findings


def guarded_update(model, row_id: int, version: int, values: dict, record: str, reload) -> int:
    """UPDATE … WHERE id AND version; 0 rows changed is a conflict. Returns the new version."""
    values = dict(values, version=version + 1)
    if hasattr(model, "modified_on"):
        values["modified_on"] = utcnow()
    changed = model.update(**values).where(model.id == row_id, model.version == version).execute()
    if changed == 0:
        raise ConflictError(record, reload())
    return version + 1
