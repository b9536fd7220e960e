"""Many mailboxes fast, for scale tests and benchmarks: real rows through the bulk insert path."""

from __future__ import annotations

from mailbox_tui.store.convert import mailbox_columns, user_columns
from mailbox_tui.domain.effects import new_user_mailbox
from mailbox_tui.domain.records import UserDraft
from mailbox_tui.store import services
from mailbox_tui.store.models import AppUser, Mailbox, bulk_insert, reserve_ids


def add_users_with_mailboxes(store, count: int, prefix: str = "user") -> None:
    """`count` users named '<Prefix> 000001'… and their mailboxes, in one transaction."""
    org = services.org_settings(store)
    with store.transaction():
        ids = reserve_ids(AppUser, count)
        users, boxes = [], []
        for n, uid in enumerate(ids):
            draft = UserDraft(f"{prefix.title()} {n:06d}", f"{prefix}{n:06d}@example.com", 0, uid)
            users.append({**user_columns(draft), "id": uid})
            boxes.append(mailbox_columns(new_user_mailbox(draft, org)))
        for start in range(0, count, 5000):
            bulk_insert(AppUser, users[start:start + 5000])
            bulk_insert(Mailbox, boxes[start:start + 5000])
