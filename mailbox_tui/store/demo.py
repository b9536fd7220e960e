"""`mailbox-tui demo`: a realistic sample organisation, written through the services."""

from __future__ import annotations

import random
from datetime import timedelta

from ..domain.failures import CAUSE
from ..domain.options import AuthMethod, IncomingMethod, MailboxKind, OutgoingMethod, ServerType, TestStatus, TlsMode
from ..domain.records import MailboxDraft, PasswordEdit, ProfileDraft, QueueDraft, UserDraft
from ..i18n import say
from . import services
from .database import Store, StoreError
from .models import utcnow

FIRST = ["Alice", "Bruno", "Chiara", "Dmitri", "Elena", "Farid", "Greta", "Hiro", "Ines", "Jonas", "Kemal",
         "Lena", "Marco", "Nadia", "Oskar", "Priya", "Quentin", "Rosa", "Sven", "Tariq", "Ulla", "Viktor",
         "Wen", "Xavier", "Yara", "Zoltan"]
LAST = ["Berg", "Costa", "Dahl", "Eriksen", "Fischer", "Garcia", "Horvat", "Ivanova", "Jensen", "Kowalski",
        "Larsen", "Moreau", "Novak", "Okafor", "Petrov", "Quinn", "Rossi", "Silva", "Tanaka", "Weber"]
QUEUES = ["Support", "Sales", "Billing", "Human Resources", "IT Helpdesk"]
MAX_USERS = len(FIRST) * len(LAST)  # every user has a distinct name


def seed_demo(store: Store, users: int = 50, seed: int = 7) -> dict[str, int]:
    """Profiles, users, queues, a forward mailbox, approvals and past test results."""
    from .models import AppUser

    if not 1 <= users <= MAX_USERS:
        raise StoreError(say("The demo seeds 1 to {high} users (its distinct names), not {value}.", high=MAX_USERS,
                             value=users))
    if AppUser.select().exists():
        raise StoreError(say("This database already has users: the demo seeds only an empty database."))
    rnd = random.Random(seed)
    with store.transaction():
        imap = services.create_profile(store, ProfileDraft(
            name="Corporate IMAP", server_type=ServerType.IMAP_SMTP, incoming_location="imap.example.com",
            outgoing_location="smtp.example.com", incoming_tls=TlsMode.IMPLICIT, outgoing_tls=TlsMode.STARTTLS,
            auth_method=AuthMethod.USER_OR_QUEUE_CREDENTIALS, move_undelivered=True))
        services.create_profile(store, ProfileDraft(
            name="Branch POP3", server_type=ServerType.POP3_SMTP, incoming_location="pop.branch.example.com",
            outgoing_location="smtp.branch.example.com", auth_method=AuthMethod.PROFILE_CREDENTIALS,
            username="sync@branch.example.com", password=PasswordEdit(new="demo-" + str(rnd.getrandbits(48)))))
        services.create_profile(store, ProfileDraft(
            name="Exchange Online", server_type=ServerType.EXCHANGE_ONLINE_HYBRID,
            incoming_location="https://graph.microsoft.com",
            outgoing_location="https://graph.microsoft.com", auth_method=AuthMethod.OAUTH,
            oauth_client_id="00000000-0000-0000-0000-00000000d3e0", oauth_tenant_id="example.onmicrosoft.com",
            oauth_client_secret=PasswordEdit(new="demo-" + str(rnd.getrandbits(48)))))
        org = services.org_settings(store)
        org_new = services.OrgSettings(**{**org.__dict__, "default_profile_id": imap.id,
                                            "default_incoming": IncomingMethod.SERVER_SIDE_SYNC,
                                            "default_outgoing": OutgoingMethod.SERVER_SIDE_SYNC})
        services.update_org_settings(store, org, org_new)

        people = []
        names = set()
        while len(people) < users:
            first, last = rnd.choice(FIRST), rnd.choice(LAST)
            if (first, last) in names:
                continue
            names.add((first, last))
            user, box, _ = services.create_user(store, UserDraft(
                full_name=f"{first} {last}", email=f"{first}.{last}@example.com".lower()))
            people.append((user, box))
        for user, box in people:
            draft = box.copy(allow_credentials=True, username=user.email,
                             password=PasswordEdit(new="pw-" + str(rnd.getrandbits(40))))
            if rnd.random() < 0.15:
                draft.incoming = IncomingMethod.FORWARD_MAILBOX
            if rnd.random() < 0.1:
                draft.incoming, draft.outgoing = IncomingMethod.OUTLOOK, OutgoingMethod.OUTLOOK
            services.update_mailbox(store, box, draft)
        owner = people[0][0]
        forward = services.create_forward_mailbox(store, MailboxDraft(
            kind=MailboxKind.FORWARD, name="Forward collector", email="forward@example.com", owner_id=owner.id,
            profile_id=imap.id, incoming=2, outgoing=0, act=2, delete_after_processing=True,
            allow_credentials=True, username="forward@example.com", password=PasswordEdit(new="fw-demo")))
        for name in QUEUES:
            queue, qbox, _ = services.create_queue(store, QueueDraft(
                name=name, email=f"{name.split()[0].lower()}@example.com", owner_id=rnd.choice(people)[0].id,
                incoming=2, outgoing=2))
            services.update_mailbox(store, qbox, qbox.copy(
                allow_credentials=True, username=qbox.email, password=PasswordEdit(new="q-demo")))
        _seed_results(store, [b.id for _, b in people] + [forward.id], rnd)
    return {"profiles": 3, "users": users, "queues": len(QUEUES), "forward_mailboxes": 1}


def _seed_results(store: Store, mailbox_ids: list[int], rnd: random.Random) -> None:
    """Approvals and earlier Test & Enable outcomes, so every view has something in it."""
    approve = [m for m in mailbox_ids if rnd.random() < 0.6]
    reject = [m for m in mailbox_ids if m not in approve and rnd.random() < 0.2]
    services.set_approval(store, approve, True)
    services.set_approval(store, reject, False)
    now = utcnow()
    for mid in mailbox_ids:
        box = services.get_mailbox(store, mid)
        if box.incoming != IncomingMethod.SERVER_SIDE_SYNC or box.outgoing != OutgoingMethod.SERVER_SIDE_SYNC:
            continue  # only what server-side sync would have tested
        roll = rnd.random()
        when = now - timedelta(hours=rnd.randint(1, 72))
        if roll < 0.45:
            services.record_test_results(store, mid, {"incoming_status": TestStatus.SUCCESS,
                                                      "outgoing_status": TestStatus.SUCCESS}, [], when)
        elif roll < 0.6:
            services.record_test_results(store, mid, {"incoming_status": TestStatus.FAILURE,
                                                      "outgoing_status": TestStatus.SUCCESS}, [
                services.AlertDraft("error", "authentication",
                                    "Login rejected by imap.example.com:993: AUTHENTICATIONFAILED. "
                                    "Check the user name and password.")], when,
                causes={"incoming_status": CAUSE["credentials"]},
                messages={"incoming_status": "Login rejected by imap.example.com:993: AUTHENTICATIONFAILED."})
