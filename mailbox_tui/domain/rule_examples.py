"""Drafts that break one rule each: docs/RULES.md quotes the messages the rules give for them.

Each case starts from a valid record and changes one thing. The rules document runs every rule
function over every case and lists what they say, so its messages are the code's own; the
registry tests check that every declared rule and severity has an example here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime

from .context import EmailUse, MailboxContext, ProfileContext, ProfileFacts, QueueContext, Stage, UserContext
from .effects import mailbox_edit_notices
from .findings import Finding
from .options import (
    ActMethod,
    ApprovalStatus,
    AuthMethod,
    IncomingMethod,
    MailboxKind,
    OutgoingMethod,
    ServerType,
    TestStatus,
    TlsMode,
)
from .records import MailboxDraft, OrgSettings, PasswordEdit, ProfileDraft, QueueDraft, UserDraft
from .registry import Record
from .secret_destinations import stored_profile_destinations
from .rules import MAILBOX_RULES, ORG_RULES, PROFILE_RULES, QUEUE_RULES, USER_RULES

RULES_OF = {
    Record.MAILBOX: MAILBOX_RULES,
    Record.PROFILE: PROFILE_RULES,
    Record.USER: USER_RULES,
    Record.QUEUE: QUEUE_RULES,
    Record.ORG: ORG_RULES,
}
ALICE, BOB, SUPPORT = 10, 11, 20
IMAP = ProfileFacts(1, "Corporate IMAP", ServerType.IMAP_SMTP, AuthMethod.USER_OR_QUEUE_CREDENTIALS)
SHARED = ProfileFacts(1, "Shared IMAP", ServerType.IMAP_SMTP, AuthMethod.PROFILE_CREDENTIALS)


@dataclass(frozen=True)
class Case:
    record: Record
    draft: object
    context: object  # the record's context; for organisation settings, the default profile (None: gone)


@dataclass(frozen=True)
class NoticeCase:
    """An edit of a stored mailbox, for what the form says saving will also do."""

    before: MailboxDraft
    after: MailboxDraft
    org: OrgSettings


def user_mailbox(**changes) -> MailboxDraft:
    return MailboxDraft(kind=MailboxKind.USER, name="Alice Berg", email="alice@example.com", owner_id=ALICE,
                        regarding_id=ALICE, allow_credentials=True, username="alice@example.com",
                        password=PasswordEdit(stored=True), profile_id=1, incoming=IncomingMethod.SERVER_SIDE_SYNC,
                        outgoing=OutgoingMethod.SERVER_SIDE_SYNC, act=ActMethod.NONE,
                        approval=ApprovalStatus.APPROVED).copy(**changes)


def queue_mailbox(**changes) -> MailboxDraft:
    return user_mailbox(kind=MailboxKind.QUEUE, name="Support", email="support@example.com", regarding_id=SUPPORT,
                        username="support@example.com", delete_after_processing=True).copy(**changes)


def forward_mailbox(**changes) -> MailboxDraft:
    return user_mailbox(kind=MailboxKind.FORWARD, name="Forward collector", email="forward@example.com",
                        regarding_id=None, username="forward@example.com", delete_after_processing=True,
                        outgoing=OutgoingMethod.NONE, approval=ApprovalStatus.EMPTY).copy(**changes)


def context(**changes) -> MailboxContext:
    return MailboxContext(**{"profile": IMAP, "expected_owner_id": ALICE, **changes})


def profile(**changes) -> ProfileDraft:
    return ProfileDraft(name="Corporate IMAP", server_type=ServerType.IMAP_SMTP,
                        incoming_location="imap.example.com", incoming_port=993,
                        outgoing_location="smtp.example.com", outgoing_port=465).copy(**changes)


def _mailboxes() -> Iterator[Case]:
    def case(draft, **ctx):
        return Case(Record.MAILBOX, draft, context(**ctx))

    yield case(user_mailbox(name=""))
    yield case(user_mailbox(name="A" * 201))
    yield case(user_mailbox(name="Alice\tBerg"))
    yield case(user_mailbox(name="Alice\u202eBerg"))
    yield case(forward_mailbox(owner_id=None))
    yield case(forward_mailbox(owner_id=BOB), owner_exists=False)
    yield case(user_mailbox(owner_id=BOB))
    yield case(queue_mailbox(owner_id=BOB))
    yield case(forward_mailbox(email=""))
    yield case(user_mailbox(email=""))
    yield case(user_mailbox(email="alice.example.com"))
    yield case(user_mailbox(), same_email=(EmailUse("Alice (old)", False),))
    yield case(user_mailbox(), same_email=(EmailUse("Alice (old)", True),), stage=Stage.TEST)
    yield case(user_mailbox(delete_after_processing=True))
    yield case(forward_mailbox(regarding_id=ALICE))
    yield case(user_mailbox(), regarding_exists=False)
    yield case(forward_mailbox(), original=user_mailbox())
    yield case(user_mailbox(username="", password=PasswordEdit()))
    yield case(user_mailbox(username="a" * 201))
    yield case(user_mailbox(allow_credentials=False, username="", password=PasswordEdit()))
    yield case(forward_mailbox(allow_credentials=False, username="", password=PasswordEdit()))
    yield case(user_mailbox(), profile=SHARED)
    yield case(user_mailbox(profile_id=None), profile=None)
    yield case(forward_mailbox(profile_id=None), profile=None)
    yield case(user_mailbox(), profile=None)
    yield case(queue_mailbox(incoming=IncomingMethod.OUTLOOK))
    yield case(user_mailbox(incoming=7))
    yield case(forward_mailbox(outgoing=OutgoingMethod.SERVER_SIDE_SYNC))
    yield case(queue_mailbox(act=ActMethod.OUTLOOK))
    yield case(user_mailbox(act=ActMethod.SERVER_SIDE_SYNC))
    yield case(user_mailbox(incoming=IncomingMethod.FORWARD_MAILBOX), active_forward_mailbox_exists=False)
    yield case(user_mailbox(process_after=datetime(2026, 1, 1)), now=datetime(2026, 6, 1))  # long ago
    yield case(user_mailbox(process_after=datetime(2026, 7, 1)), now=datetime(2026, 6, 1))  # in the future
    yield case(user_mailbox(username="alice@example.com\r\nDELE 1"))
    yield case(user_mailbox(password=PasswordEdit(stored=True, new="pw\nRSET")))
    # P15: its new profile's servers are not the old one's, and the password is not entered again
    yield case(user_mailbox(profile_id=2), profile=ProfileFacts(2, "New IMAP", ServerType.IMAP_SMTP,
                                                              AuthMethod.USER_OR_QUEUE_CREDENTIALS,
                                                              destinations=frozenset({"imap.new.example"})),
               stored_profile_destinations=frozenset({"imap.example.com", "smtp.example.com"}))
    yield case(user_mailbox(approval=9))
    yield case(user_mailbox(approval=ApprovalStatus.PENDING), approval_required=True, stage=Stage.TEST)
    yield case(user_mailbox(state=5))


def _profiles() -> Iterator[Case]:
    def case(draft, **ctx):
        return Case(Record.PROFILE, draft, ProfileContext(**ctx))

    own = {"auth_method": AuthMethod.PROFILE_CREDENTIALS, "username": "sync@example.com",
           "password": PasswordEdit(stored=True)}
    yield case(profile(name=""))
    yield case(profile(), name_taken=True)
    yield case(profile(server_type=None))
    yield case(profile(server_type=9))
    yield case(profile(incoming_location=""))
    yield case(profile(outgoing_location="smtps://smtp.example.com"))
    yield case(profile(incoming_location="imap.example.com:993"))
    yield case(profile(server_type=ServerType.EXCHANGE, incoming_location="http://mail.example.com/EWS",
                       outgoing_location=""))
    yield case(profile(incoming_port=70000))
    yield case(profile(server_type=ServerType.POP3_SMTP, auth_method=AuthMethod.GMAIL_OAUTH))
    yield case(profile(use_same_settings_for_outgoing=False, outgoing_auth_method=AuthMethod.ANONYMOUS))
    yield case(profile(auth_method=AuthMethod.PROFILE_CREDENTIALS))
    yield case(profile(**{**own, "username": "u" * 201}))
    yield case(profile(outgoing_username="smtp@example.com"))
    yield case(profile(auto_discover=True))
    yield case(profile(max_concurrent_connections=0, min_polling_minutes=2000, timeout_seconds=0))
    yield case(profile(incoming_tls=TlsMode.NONE, incoming_port=143))
    yield case(profile(move_undelivered="maybe"))
    yield case(profile(incoming_cert_sha256="ab:cd:ef"))
    yield case(profile(**{**own, "username": "sync@example.com\nQUIT"}))
    oauth = {"auth_method": AuthMethod.OAUTH}
    yield case(profile(**oauth))
    yield case(profile(**oauth, oauth_client_id="app", oauth_client_secret=PasswordEdit(new="s"),
                       oauth_tenant_id="not a tenant", oauth_token_endpoint="http://login.example.com/token"))
    yield case(profile(**oauth, oauth_client_id="app", oauth_tenant_id="contoso.onmicrosoft.com",
                       oauth_certificate=PasswordEdit(
                           new="-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----")))
    yield case(profile(auth_method=AuthMethod.GMAIL_OAUTH))
    yield case(profile(auth_method=AuthMethod.GMAIL_OAUTH, oauth_service_account_key=PasswordEdit(new='{"type": "x"}')))
    stored = stored_profile_destinations(profile(**own, oauth_tenant_id="contoso.onmicrosoft.com"))
    yield case(profile(**own, incoming_location="imap.new.example"), stored_destinations=stored)  # P15
    yield case(profile(incoming_location="imap.new.example"), stored_destinations=stored, mailbox_passwords=120)
    yield case(profile(**oauth, oauth_client_id="app", oauth_client_secret=PasswordEdit(stored=True),
                       oauth_tenant_id="fabrikam.onmicrosoft.com"), stored_destinations=stored)
    yield case(profile(server_type=ServerType.EXCHANGE_ONLINE_HYBRID, **oauth, oauth_client_id="app",  # P16
                       oauth_client_secret=PasswordEdit(stored=True), oauth_tenant_id="contoso.onmicrosoft.com",
                       incoming_location="https://outlook.office365.com/EWS/Exchange.asmx",
                       outgoing_location="https://graph.microsoft.com"))
    yield case(profile(state=3))


def _users_queues_org() -> Iterator[Case]:
    user = UserDraft(full_name="Alice Berg", email="alice@example.com")
    yield Case(Record.USER, UserDraft(full_name="", email=""), UserContext())
    yield Case(Record.USER, UserDraft(full_name="Alice Berg", email="alice@example.test"), UserContext())
    yield Case(Record.USER, user, UserContext(email_taken=True))
    yield Case(Record.USER, UserDraft(full_name="Alice Berg", email="alice@example.com", state=2), UserContext())
    queue = {"name": "Support", "email": "support@example.com", "owner_id": ALICE,
             "incoming": IncomingMethod.SERVER_SIDE_SYNC, "outgoing": OutgoingMethod.SERVER_SIDE_SYNC}
    yield Case(Record.QUEUE, QueueDraft(**{**queue, "name": "", "owner_id": None}), QueueContext())
    yield Case(Record.QUEUE, QueueDraft(**queue), QueueContext(name_taken=True, owner_exists=False))
    yield Case(Record.QUEUE, QueueDraft(**{**queue, "email": ""}), QueueContext())
    yield Case(Record.QUEUE, QueueDraft(**{**queue, "email": "support at example.com"}), QueueContext())
    yield Case(Record.QUEUE, QueueDraft(**{**queue, "incoming": IncomingMethod.OUTLOOK,
                                           "outgoing": OutgoingMethod.OUTLOOK}), QueueContext())
    yield Case(Record.QUEUE, QueueDraft(**{**queue, "state": 7}), QueueContext())
    org = {"default_profile_id": 1, "default_incoming": IncomingMethod.SERVER_SIDE_SYNC,
           "default_outgoing": OutgoingMethod.SERVER_SIDE_SYNC, "default_act": ActMethod.NONE}
    yield Case(Record.ORG, OrgSettings(**{**org, "default_incoming": 4, "default_outgoing": 3, "default_act": 5}),
               True)
    yield Case(Record.ORG, OrgSettings(**org), None)
    yield Case(Record.ORG, OrgSettings(**{**org, "default_profile_id": None}), None)


def cases() -> list[Case]:
    return [*_mailboxes(), *_profiles(), *_users_queues_org()]


def notice_cases() -> list[NoticeCase]:
    tested = user_mailbox(id=1, incoming_status=TestStatus.SUCCESS, outgoing_status=TestStatus.SUCCESS)
    return [NoticeCase(tested, tested.copy(email="alice.berg@example.com"), OrgSettings())]


def run(case: Case) -> Iterator[tuple[Callable, Finding]]:
    """Every rule function of the case's record over its draft: (function, finding) pairs."""
    for function in RULES_OF[case.record]:
        for finding in function(case.draft, case.context):
            yield function, finding


def run_notices(case: NoticeCase) -> Iterator[tuple[Callable, Finding]]:
    for finding in mailbox_edit_notices(case.before, case.after, case.org):
        yield mailbox_edit_notices, finding
