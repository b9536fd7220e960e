"""List queries: views, SQL filter, keyed pages."""

from __future__ import annotations

from support.builders import forward_draft, imap_profile, user

from mailbox_tui.domain.options import TestStatus
from mailbox_tui.store import queries, services


def _people(store, n):
    return [user(store, f"Person {i:03d}", f"person{i:03d}@example.com") for i in range(n)]


def test_keyed_pages_cover_every_row_once_in_name_order(store):
    _people(store, 45)
    seen, after = [], None
    while True:
        page = queries.mailbox_page("all", limit=10, after=after)
        if not page:
            break
        seen += [r.name for r in page]
        after = queries.sort_key(page[-1])
    assert seen == sorted(seen) and len(seen) == len(set(seen)) == 45


def test_filter_matches_name_email_or_profile_case_insensitively(store):
    profile = imap_profile(store, name="Branch IMAP")
    alice, _ = user(store, "Alice Berg", "alice@example.com")
    user(store, "Bob Dahl", "bob@sales.example.com")
    services.create_forward_mailbox(store, forward_draft(alice.id, profile.id))
    assert [r.name for r in queries.mailbox_page("all", "ALICE")] == ["Alice Berg"]
    assert [r.name for r in queries.mailbox_page("all", "sales.")] == ["Bob Dahl"]
    assert [r.name for r in queries.mailbox_page("all", "branch")] == ["Forward collector"]
    assert queries.count_mailboxes("all", "zzz") == 0


def test_filter_treats_percent_and_underscore_literally(store):
    user(store, "Alice Berg", "alice@example.com")
    user(store, "Ops_100%", "ops@example.com")
    assert [r.name for r in queries.mailbox_page("all", "_100%")] == ["Ops_100%"]
    assert queries.count_mailboxes("all", "%") == 1


def test_views_forward_failed_never_tested_pending(store):
    profile = imap_profile(store)
    alice, box = user(store)
    fwd = services.create_forward_mailbox(store, forward_draft(alice.id, profile.id))
    services.record_test_results(store, fwd.id, {"incoming_status": TestStatus.FAILURE}, [])
    assert [r.id for r in queries.mailbox_page("forward")] == [fwd.id]
    assert [r.id for r in queries.mailbox_page("failed")] == [fwd.id]
    assert [r.id for r in queries.mailbox_page("never_tested")] == [box.id]
    assert [r.id for r in queries.mailbox_page("pending")] == [box.id]
    assert queries.mailbox_page("failed")[0].mailbox_status == TestStatus.FAILURE


def test_list_rows_carry_no_password(store):
    alice, _ = user(store)
    services.create_forward_mailbox(store, forward_draft(alice.id, imap_profile(store).id))
    for row in queries.mailbox_page("all"):
        assert "s3cret" not in repr(row)
        assert not hasattr(row, "password_enc")
