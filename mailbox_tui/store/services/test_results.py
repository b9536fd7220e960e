"""What Test & Enable found, written for the configuration it tested."""

from __future__ import annotations

from dataclasses import dataclass

from ...domain.options import TestStatus
from .. import history
from ..database import Store
from ..models import EmailServerProfile, Mailbox, MailboxAlert, utcnow
from .guards import NotFound


# A test's history entry is written only when one of these changed.
TEST_FLAGS = frozenset(("incoming_status", "outgoing_status", "act_status", "enabled_incoming", "enabled_outgoing",
                        "enabled_act"))


@dataclass
class AlertDraft:
    level: str  # error, warning, info
    step: str
    message: str


def record_test_results(store: Store, mailbox_id: int, statuses: dict[str, int],
                        alerts: list[AlertDraft], completed_on=None, *, tested_version: int | None = None,
                        tested_profile: tuple[int, int] | None = None) -> bool:
    """Write what Test & Enable found: the statuses, when, the enabled flags, and its alerts.

    Only Test & Enable calls this. Earlier alerts stay as history. With `tested_version` (the
    mailbox's version the test read) and `tested_profile` (the profile's id and version), nothing
    is written when either changed since: those results belong to a configuration that no longer
    exists. Returns whether it wrote; raises NotFound when the mailbox is gone."""
    completed_on = completed_on or utcnow()
    values = {name: int(statuses[name]) for name in ("incoming_status", "outgoing_status", "act_status")
              if name in statuses}
    for status, flag in (("incoming_status", "enabled_incoming"), ("outgoing_status", "enabled_outgoing"),
                         ("act_status", "enabled_act")):
        if status in values:
            values[flag] = values[status] == TestStatus.SUCCESS
    with store.transaction(), history.tracked(store, "mailbox", [mailbox_id], history.TEST,
                                              only_if=TEST_FLAGS):
        if tested_profile is not None and not EmailServerProfile.select().where(
                EmailServerProfile.id == tested_profile[0], EmailServerProfile.version == tested_profile[1]).exists():
            changed = 0
        else:
            update = Mailbox.update(**values, test_completed_on=completed_on, version=Mailbox.version + 1,
                                    modified_on=utcnow()).where(Mailbox.id == mailbox_id)
            if tested_version is not None:
                update = update.where(Mailbox.version == tested_version)
            changed = update.execute()
        if not changed:
            if not Mailbox.select().where(Mailbox.id == mailbox_id).exists():
                raise NotFound(f"Mailbox {mailbox_id} does not exist (it may have been deleted).")
            return False
        for alert in alerts:
            MailboxAlert.create(mailbox=mailbox_id, created_on=completed_on, level=alert.level, step=alert.step,
                                message=alert.message)
        return True
