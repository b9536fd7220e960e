"""Email server profiles (P1-P11): a changed connection makes its mailboxes' results stale (M17)."""

from __future__ import annotations

import logging
from dataclasses import replace

from ...domain.effects import stale_statuses
from ...domain.fields import PROFILE_FIELDS, secret_fields
from ...domain.records import ProfileDraft
from ...domain.secret_destinations import MAILBOX_PASSWORDS, profile_secret_moves
from ...domain.rules import check_profile, normalise_profile
from .. import contexts, history
from ..convert import password_column, profile_columns, profile_draft
from ..database import Store
from ..models import EmailServerProfile, Mailbox, OrganizationSettings, utcnow
from .guards import refuse_on_errors
from .records import RecordService, parent_of, recorded_create

log = logging.getLogger(__name__)

PROFILES: RecordService[ProfileDraft] = RecordService(
    kind="profile", what="Server profile", model=EmailServerProfile,
    draft=lambda store, row: profile_draft(row, store.key_ok), columns=profile_columns,
    build_context=contexts.profile_context, check=check_profile)

validate_profile = PROFILES.validate  # an open form passes its FactsSource: it counts mailboxes' passwords once
get_profile = PROFILES.get


def profile_auth_method(store: Store, profile_id: int | None) -> int | None:
    """The Authenticate Using code of a profile (None when there is none, or it is gone): one column read."""
    if profile_id is None:
        return None
    return (EmailServerProfile.select(EmailServerProfile.auth_method)
            .where(EmailServerProfile.id == profile_id).scalar())


def _profile_secrets(store: Store, d: ProfileDraft, row: EmailServerProfile | None) -> dict:
    """Every secret column (passwords, OAuth secrets: P6, P14) after the draft's edits, encrypted."""
    return {f.model_column: password_column(store.keyring, getattr(d, f.name),
                                            getattr(row, f.model_column) if row else None)
            for f in secret_fields(PROFILE_FIELDS)}


def create_profile(store: Store, d: ProfileDraft) -> ProfileDraft:
    with store.transaction():
        d = normalise_profile(d)
        PROFILES.refuse(store, d)
        row = EmailServerProfile.create(**profile_columns(d), **_profile_secrets(store, d, None))
        recorded_create(store, "profile", row)
        return profile_draft(row, store.key_ok)


def update_profile(store: Store, base: ProfileDraft, new: ProfileDraft, keep_secrets: bool = False) -> ProfileDraft:
    """P1–P10. A changed connection makes its mailboxes' test results stale (M17). P15: a stored secret
    the change would send to a new destination is cleared (the profile's, and its mailboxes' passwords),
    unless `keep_secrets`: the admin chose to keep them for the new destination."""
    with PROFILES.saving(store, base) as current:
        new = normalise_profile(new)
        ctx = PROFILES.context(store, new)
        refuse_on_errors(check_profile(new, ctx))
        moves = [] if keep_secrets else profile_secret_moves(new, ctx.stored_destinations, ctx.mailbox_passwords)
        for move in moves:
            if move.field != MAILBOX_PASSWORDS:
                setattr(new, move.field, replace(getattr(new, move.field), new=None, clear=True))
        clear_mailbox_passwords = any(move.field == MAILBOX_PASSWORDS for move in moves)
        row = EmailServerProfile.get_by_id(base.id)
        values = dict(profile_columns(new), **_profile_secrets(store, new, row))
        connection = [k for k in values if k not in ("name", "name_key", "state", "max_concurrent_connections",
                                                     "min_polling_minutes") and getattr(row, k) != values[k]]
        profile = history.Tracked(store, "profile", [base.id], history.UPDATE)
        profile.before = {base.id: dict(row.__data__)}  # read just above, in this transaction
        PROFILES.write(store, base, current, values)
        entries = profile.done()
        if connection:
            mailboxes = history.Tracked(store, "mailbox", _mailbox_ids(base.id), history.UPDATE)
            (Mailbox.update(**stale_statuses(["profile_id"]), version=Mailbox.version + 1, modified_on=utcnow())
             .where(Mailbox.profile == base.id).execute())
            if clear_mailbox_passwords:  # P15
                cleared = (Mailbox.update(password_enc=None)
                           .where(Mailbox.profile == base.id, Mailbox.password_enc.is_null(False)).execute())
                log.info("server profile %s: its servers changed; %s mailbox passwords cleared (P15)", base.id, cleared)
            mailboxes.done(parent=parent_of(entries))
        return get_profile(store, base.id)


def _mailbox_ids(profile_id: int) -> list[int]:
    return [r.id for r in Mailbox.select(Mailbox.id).where(Mailbox.profile == profile_id)]


def profile_usage(profile_id: int) -> int:
    return Mailbox.select().where(Mailbox.profile == profile_id).count()


def delete_profile(store: Store, profile_id: int) -> int:
    """P11: clears the profile from its mailboxes (their results go stale, M17). Returns how many."""
    with store.transaction():
        get_profile(store, profile_id)
        profile = history.Tracked(store, "profile", [profile_id], history.DELETE)
        mailboxes = history.Tracked(store, "mailbox", _mailbox_ids(profile_id), history.UPDATE)
        settings = history.Tracked(store, "settings", [1], history.UPDATE)
        count = (Mailbox.update(profile=None, **stale_statuses(["profile_id"]), version=Mailbox.version + 1,
                                modified_on=utcnow())
                 .where(Mailbox.profile == profile_id).execute())
        OrganizationSettings.update(default_profile=None).where(
            OrganizationSettings.default_profile == profile_id).execute()
        EmailServerProfile.delete().where(EmailServerProfile.id == profile_id).execute()
        parent = parent_of(profile.done())
        mailboxes.done(parent=parent)
        settings.done(parent=parent)
        log.info("server profile %s deleted; cleared from %s mailboxes", profile_id, count)
        return count
