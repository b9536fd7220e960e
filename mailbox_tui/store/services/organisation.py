"""Email Settings: the organisation's defaults for new mailboxes and its approval policy."""

from __future__ import annotations

import logging

from ...domain.findings import Finding
from ...domain.records import OrgSettings, changed_fields
from ...domain.rules import (
    check_org_settings,
)
from .. import contexts, history
from ..convert import (
    org_draft,
)
from ..database import Store
from ..models import OrganizationSettings
from .guards import guarded_update, refuse_on_errors

log = logging.getLogger(__name__)


def org_settings(store: Store) -> OrgSettings:
    return org_draft(OrganizationSettings.get_by_id(1))


def validate_org_settings(store: Store, d: OrgSettings) -> list[Finding]:
    profile = contexts.DatabaseFacts(store).profile(d.default_profile_id) if d.default_profile_id else True
    return check_org_settings(d, profile)


def update_org_settings(store: Store, base: OrgSettings, new: OrgSettings) -> OrgSettings:
    with store.transaction():
        refuse_on_errors(validate_org_settings(store, new))
        values = {
            "default_profile": new.default_profile_id,
            "default_incoming": new.default_incoming,
            "default_outgoing": new.default_outgoing,
            "default_act": new.default_act,
            "approval_required_users": new.approval_required_users,
            "approval_required_queues": new.approval_required_queues,
        }
        with history.tracked(store, "settings", [1], history.UPDATE):
            guarded_update(OrganizationSettings, 1, base.version, values, "Email Settings",
                            lambda: changed_fields(base, org_settings(store)))
        return org_settings(store)
