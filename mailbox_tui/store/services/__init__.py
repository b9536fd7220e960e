"""The only way to write: each service runs the rules, then writes in one transaction.

Every update takes the record as it was read (`base`, carrying its version) and the edited
draft; if someone else saved in between, ConflictError names what they changed. The rules are
fed by the one builder of rule contexts (store/contexts.py), from the database as it is now.

By record: organisation.py, mailboxes.py, users.py, queues.py, profiles.py, each declaring its kind of
record to the one generic RecordService (records.py: context, validate, get, conflict, write); secrets.py holds the
clear passwords a connection test needs, test_results.py what Test & Enable found. Callers use
the package: `from mailbox_tui.store import services; services.create_profile(store, draft)`.
"""

from ...domain.records import OrgSettings
from .guards import NotFound
from .mailboxes import (
    DefaultsPreview,
    apply_default_settings,
    create_forward_mailbox,
    delete_forward_mailboxes,
    delete_mailbox,
    get_mailbox,
    mailbox_context,
    preview_default_settings,
    set_approval,
    set_mailbox_state,
    update_mailbox,
    validate_mailbox,
)
from .organisation import org_settings, update_org_settings, validate_org_settings
from .profiles import (
    create_profile,
    delete_profile,
    get_profile,
    profile_auth_method,
    profile_usage,
    update_profile,
    validate_profile,
)
from .queues import create_queue, delete_queue, get_queue, queue_mailbox, update_queue, validate_queue
from .secrets import mailbox_password, profile_credentials, profile_oauth_secrets
from .test_results import AlertDraft, ClaimLost, record_test_results
from .users import (
    create_user,
    delete_user,
    delete_users,
    get_user,
    owner_field_id,
    update_user,
    user_id_for_email,
    user_mailbox_id,
    validate_user,
)

__all__ = [
    "AlertDraft", "ClaimLost", "DefaultsPreview", "NotFound", "OrgSettings", "apply_default_settings", "create_forward_mailbox",
    "create_profile", "create_queue", "create_user", "delete_forward_mailboxes", "delete_mailbox", "delete_profile",
    "delete_queue", "delete_user", "delete_users", "get_mailbox", "get_profile", "get_queue", "get_user",
    "profile_auth_method",
    "mailbox_context", "mailbox_password",
    "org_settings", "owner_field_id", "preview_default_settings", "profile_credentials", "profile_oauth_secrets", "profile_usage",
    "queue_mailbox", "record_test_results", "set_approval", "set_mailbox_state", "update_mailbox",
    "update_org_settings", "update_profile", "update_queue", "update_user", "user_id_for_email",
    "user_mailbox_id", "validate_mailbox", "validate_org_settings", "validate_profile", "validate_queue",
    "validate_user",
]
