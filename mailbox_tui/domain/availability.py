"""Which fields of a draft can be edited, and why not: the screens ask, never re-derive."""

from __future__ import annotations

from dataclasses import dataclass

from ..i18n import N_
from .oauth import OAUTH_FIELDS, methods_of, used_fields
from .options import EXCHANGE_TYPES, AuthMethod, MailboxKind
from .records import MailboxDraft, ProfileDraft
from .rules import ALLOWED_ACT, ALLOWED_AUTH, ALLOWED_INCOMING, ALLOWED_OUTGOING


@dataclass(frozen=True)
class FieldState:
    editable: bool = True
    visible: bool = True
    reason: str = ""  # why it is locked or hidden
    allowed: frozenset[int] | None = None  # for option sets: the codes that may be chosen


def mailbox_fields(d: MailboxDraft) -> dict[str, FieldState]:
    kind = d.kind
    out = {
        "name": FieldState(),
        "email": FieldState(),
        "username": FieldState(),
        "password": FieldState(),
        "allow_credentials": FieldState(),
        "profile_id": FieldState(),
        "process_after": FieldState(),
        "regarding_id": FieldState(False, reason=(
            N_("A forward mailbox has no regarding record (M7).") if kind == MailboxKind.FORWARD
            else N_("Set by the system: this is the user's mailbox (M7).") if kind == MailboxKind.USER
            else N_("Set by the system: this is the queue's mailbox (M7)."))),
        "kind": FieldState(False, reason=N_("Fixed when the mailbox is created (M8).")),
        "owner_id": FieldState() if kind == MailboxKind.FORWARD else FieldState(False, reason=(
            N_("A user mailbox is owned by its user (M2).") if kind == MailboxKind.USER
            else N_("A queue mailbox is owned by the queue's owner: change it on the queue (M2)."))),
        "delete_after_processing": FieldState() if kind != MailboxKind.USER else FieldState(False, reason=(
            N_("Only forward and queue mailboxes can delete messages after processing (M6)."))),
        "incoming": FieldState(kind != MailboxKind.FORWARD, allowed=ALLOWED_INCOMING[kind], reason=(
            N_("A forward mailbox always uses Server-Side Synchronization (M12).")
            if kind == MailboxKind.FORWARD else "")),
        "outgoing": FieldState(kind != MailboxKind.FORWARD, allowed=ALLOWED_OUTGOING[kind], reason=(
            N_("A forward mailbox sends no email: Outgoing is None (M13).") if kind == MailboxKind.FORWARD else "")),
        "act": FieldState(kind == MailboxKind.USER, allowed=ALLOWED_ACT[kind], reason=(
            "" if kind == MailboxKind.USER
            else N_("Appointments, contacts and tasks are personal: None for queue and forward mailboxes (M14)."))),
    }
    if not d.allow_credentials:
        why = N_("Set Allow to Use Credentials to Yes to enter credentials (M9).")
        out["username"] = FieldState(False, reason=why)
        out["password"] = FieldState(False, reason=why)
    for name in ("incoming_status", "outgoing_status", "act_status", "test_completed_on"):
        out[name] = FieldState(False, reason=N_("Written only by Test & Enable."))
    return out


_OUT_OWN = N_("Only when Use Same Settings for Outgoing is No and outgoing authenticates with the "
              "profile's own credentials (P6, P7).")


def profile_fields(d: ProfileDraft) -> dict[str, FieldState]:
    exchange = d.server_type in EXCHANGE_TYPES
    auto = exchange and d.auto_discover
    own = d.auth_method == AuthMethod.PROFILE_CREDENTIALS
    out_own = (not d.use_same_settings_for_outgoing) and d.outgoing_auth_method == AuthMethod.PROFILE_CREDENTIALS
    allowed = ALLOWED_AUTH.get(d.server_type)
    loc_reason = N_("Auto Discover finds the servers (P8).") if auto else ""
    out = {
        "auto_discover": FieldState(exchange, visible=exchange, reason="" if exchange else
                                    N_("Auto Discover exists only for Exchange server types (P8).")),
        "incoming_location": FieldState(not auto, reason=loc_reason),
        "outgoing_location": FieldState(not auto, reason=loc_reason),
        "incoming_port": FieldState(not auto, reason=loc_reason),
        "outgoing_port": FieldState(not auto, reason=loc_reason),
        "incoming_tls": FieldState(not auto, visible=not exchange, reason=loc_reason),
        "outgoing_tls": FieldState(not auto, visible=not exchange, reason=loc_reason),
        "auth_method": FieldState(allowed=allowed),
        "outgoing_auth_method": FieldState(
            not d.use_same_settings_for_outgoing, allowed=allowed,
            reason=N_("Follows incoming: Use Same Settings for Outgoing is Yes (P7).")
            if d.use_same_settings_for_outgoing else ""),
        "username": FieldState(own, visible=own, reason="" if own else
                               N_("Only when authenticating with the profile's own credentials (P6).")),
        "password": FieldState(own, visible=own, reason="" if own else
                               N_("Only when authenticating with the profile's own credentials (P6).")),
        "outgoing_username": FieldState(out_own, visible=out_own, reason="" if out_own else _OUT_OWN),
        "outgoing_password": FieldState(out_own, visible=out_own, reason="" if out_own else _OUT_OWN),
    }
    used = used_fields(methods_of(d))  # P14: only what the chosen OAuth method needs
    for name in OAUTH_FIELDS:
        shown = name in used
        out[name] = FieldState(shown, visible=shown, reason="" if shown else
                               N_("Only when Authenticate Using is OAuth, Server to Server Authentication, Exchange "
                                  "Hybrid Modern Auth or Gmail OAuth, as that method needs (P14)."))
    return out

