"""What several records' rules share: limits, allowed codes, and checks used under more than one ID."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from ..i18n import Said, say
from .findings import Finding, Severity
from .options import (
    ActMethod,
    AuthMethod,
    IncomingMethod,
    MailboxKind,
    OutgoingMethod,
    RecordState,
    ServerType,
)
from .records import MailboxDraft
from .text import has_control_chars, has_invisible_chars, natural_key, normalise_email

E, W = Severity.ERROR, Severity.WARNING

# M12, M13, M14: the codes each kind of mailbox may hold.
ALLOWED_INCOMING = {
    MailboxKind.USER: frozenset({0, 1, 2, 3}),
    MailboxKind.QUEUE: frozenset({0, 2, 3}),
    MailboxKind.FORWARD: frozenset({2}),
}
ALLOWED_OUTGOING = {
    MailboxKind.USER: frozenset({0, 1, 2}),
    MailboxKind.QUEUE: frozenset({0, 2}),
    MailboxKind.FORWARD: frozenset({0}),
}
ALLOWED_ACT = {
    MailboxKind.USER: frozenset({0, 1, 2}),
    MailboxKind.QUEUE: frozenset({2}),
    MailboxKind.FORWARD: frozenset({2}),
}
# P5. Exchange Server (Hybrid) is an on-premises Exchange: it takes what Exchange Server takes.
ALLOWED_AUTH = {
    ServerType.POP3_SMTP: frozenset({0, 1, 7}),
    ServerType.IMAP_SMTP: frozenset({0, 1, 5, 7}),
    ServerType.EXCHANGE: frozenset({0, 1, 3, 6}),
    ServerType.EXCHANGE_HYBRID: frozenset({0, 1, 3, 6}),
    ServerType.EXCHANGE_ONLINE_HYBRID: frozenset({2, 7}),
}
NAME_MAX, EMAIL_MAX, USERNAME_MAX, PASSWORD_MAX, PROFILE_NAME_MAX = 200, 100, 200, 200, 100
USER_NAME_MAX = 200
LOCATION_MAX = 500  # a server location (P3): a host name, an IP address or an https URL
PASSWORD_AUTH = frozenset({AuthMethod.USER_OR_QUEUE_CREDENTIALS, AuthMethod.PROFILE_CREDENTIALS})

Rule = Callable[..., Iterator[Finding]]


def uses_server_side_sync(d: MailboxDraft) -> bool:
    return (
        d.incoming == IncomingMethod.SERVER_SIDE_SYNC
        or d.outgoing == OutgoingMethod.SERVER_SIDE_SYNC
        or d.act == ActMethod.SERVER_SIDE_SYNC
    )


def name_rule(rule: str, field: str, value: str, limit: int, label: str) -> Iterator[Finding]:
    """Required, at most `limit` characters, no control or invisible characters (M1, P1, Q1, U1)."""
    if not value.strip():
        yield Finding(rule, field, E, say("{label} is required.", label=label))
    elif len(value) > limit:
        yield Finding(rule, field, E, say("{label} is at most {limit} characters (now {length}).", label=label,
                                          limit=limit, length=len(value)))
    elif has_control_chars(value):
        yield Finding(rule, field, E, say("{label} cannot contain control characters (tabs, line breaks).",
                                          label=label))
    elif has_invisible_chars(value):
        yield Finding(rule, field, E, say("{label} cannot contain invisible characters (bidirectional overrides, "
                                          "zero-width characters): they make different names look the same.",
                                          label=label))
    elif not value.isascii() and len(natural_key(value)) > limit:  # İ grows under lower(): its key must fit
        yield Finding(rule, field, E, say("{label} is at most {limit} characters once compared "
                                          "case-insensitively (İ counts as two).", label=label, limit=limit))


NAME_TEXT = ("required and at most {limit} characters (also once lower-cased, where İ counts as two); it holds "
             "no control characters (tabs, line breaks) and no invisible characters (bidirectional overrides, "
             "zero-width characters), which make two different names look the same")


def email_problem(email: str, label: str) -> str | None:
    """Why a stripped, non-empty address cannot be stored (M3, U1, Q1), or None."""
    if len(email) > EMAIL_MAX:
        return say("{label} is at most {limit} characters (now {length}).", label=label, limit=EMAIL_MAX,
                   length=len(email))
    normalised, problem = normalise_email(email)
    if problem:
        return problem
    if len(normalised) > EMAIL_MAX or (not normalised.isascii() and len(natural_key(normalised)) > EMAIL_MAX):
        return say("{label} is at most {limit} characters once normalised.", label=label, limit=EMAIL_MAX)
    return None


EMAIL_TEXT = (f"must be a valid address (syntax only, no DNS lookup; special-use domains such as .test, .local "
              f"and localhost are refused) of at most {EMAIL_MAX} characters; it is stored normalised (domain "
              "lower-cased)")


def option_rule(rule, field, code, allowed, options, kind) -> Iterator[Finding]:
    """M12, M13, M14: `code` must be one of the codes `kind` allows."""
    if code not in allowed:
        mailbox, names = kind_of_mailbox(kind), choices(options, allowed)
        yield Finding(rule, field, E, say("“{option}” is not allowed for a {kind}: choose {options}.",
                                          option=options(code).label, kind=mailbox, options=names)
                      if code in set(options) else
                      say("Code {code} is not allowed for a {kind}: choose {options}.", code=code_text(code),
                          kind=mailbox, options=names))


def kind_of_mailbox(kind: MailboxKind) -> Said:
    """How a message names a kind of mailbox ("not allowed for a user mailbox")."""
    if kind == MailboxKind.USER:
        return say("user mailbox")
    return say("queue mailbox") if kind == MailboxKind.QUEUE else say("forward mailbox")


_NAMES = ("first", "second", "then", "option")  # placeholders of our own words (i18n.OWN_WORDS)


def choices(options, codes) -> Said:
    """“A” or “B”: the labels of `codes` (at most four), each shown in the admin's language. (The names of
    the placeholders sort the longer lists first in the catalogue: a stored list is read back whole.)"""
    labels = [options.label_of(c) for c in sorted(codes)]
    if len(labels) == 1:
        return say("“{what}”", what=labels[0])
    if len(labels) == 2:
        return say("“{second}” or “{then}”", second=labels[0], then=labels[1])
    if len(labels) == 3:
        return say("“{kind}” or “{second}” or “{then}”", kind=labels[0], second=labels[1], then=labels[2])
    return say("“{first}” or “{second}” or “{then}” or “{option}”", **dict(zip(_NAMES, labels)))


_LIST = ("{first}", "{first}, {second}", "{first}, {second}, {then}", "{first}, {second}, {then}, {option}")


def label_list(options, codes) -> Said:
    """A, B, C: the labels of `codes` (at most four), each shown in the admin's language (a comma joins in
    every language: the templates are not in the catalogue)."""
    labels = dict(zip(_NAMES, (options.label_of(c) for c in sorted(codes))))
    return say(_LIST[len(labels) - 1], **labels)


def credential_control_rule(user_field: str, username: str, password_field: str,
                            password: str | None) -> Iterator[Finding]:
    """M20: a control character (C0, DEL or C1) in a user name or password would reach the mail server as
    extra protocol commands (CR, LF, NUL) or SASL fields (^A), or change what a terminal shows (ESC)."""
    if has_control_chars(username):
        yield Finding("M20", user_field, E, _control_message("User Name"))
    if password and has_control_chars(password):
        yield Finding("M20", password_field, E, _control_message("Password"))


def _control_message(label: str) -> Said:
    return say("{label} cannot contain control characters (line breaks, tabs, NUL, escape sequences or any other): "
               "they would reach the mail server as extra protocol commands or fields.", label=label)


_STATES = frozenset(RecordState)


def check_state(code) -> Iterator[Finding]:
    """R1: Status (statecode) is 0 Active or 1 Inactive, for every record."""
    if code not in _STATES:
        yield Finding("R1", "state", E, say("Status code {code} is not one of 0 Active, 1 Inactive.",
                                                 code=code_text(code)))


def code_text(value) -> str:
    """A code as a message quotes it: a hostile value is cut short."""
    text = str(value)
    return text if len(text) <= 24 else text[:20] + "…"


def codes_text(options, codes) -> str:
    """'0 None, 2 Server-Side Synchronization or Email Router': codes with their labels, for the rules document."""
    return ", ".join(f"{c} {options.label_of(c)}" for c in sorted(codes))
