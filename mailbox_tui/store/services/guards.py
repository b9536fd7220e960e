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
        template = _MISSING.get((what, bool(gone)))
        raise NotFound(say(template, id=record_id) if template else f"{what} {record_id} does not exist{gone}.")
    return row


# Each sentence whole, for each kind (English, say(): said() shows it, also read back from its text).
_MISSING = {("Mailbox", True): N_("Mailbox {id} does not exist (it may have been deleted)."),
            ("User", False): N_("User {id} does not exist."), ("Queue", False): N_("Queue {id} does not exist."),
            ("Server profile", False): N_("Server profile {id} does not exist.")}


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
