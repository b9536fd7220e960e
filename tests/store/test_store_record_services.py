"""The one generic record service (store/services/records.py) on a real SQLite file and a real PostgreSQL
database: every kind of record is named the same way when it is gone, and when someone else saved it first,
and a stale save writes nothing (issue 25 item 8: mailboxes, users, queues and profiles share it)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from support.builders import forward_draft, imap_profile, user

from mailbox_tui.domain.records import QueueDraft
from mailbox_tui.store import services
from mailbox_tui.store.database import ConflictError

# kind: (get, update, what a message calls it, the field that names one)
KINDS = {
    "mailbox": (services.get_mailbox, services.update_mailbox, "Mailbox", "name"),
    "user": (services.get_user, services.update_user, "User", "full_name"),
    "queue": (services.get_queue, services.update_queue, "Queue", "name"),
    "profile": (services.get_profile, services.update_profile, "Server profile", "name"),
}

GONE = {
    "mailbox": "Mailbox 987654 does not exist (it may have been deleted).",
    "user": "User 987654 does not exist.",
    "queue": "Queue 987654 does not exist.",
    "profile": "Server profile 987654 does not exist.",
}


def _one_of_each(store) -> dict[str, int]:
    profile = imap_profile(store)
    alice, _ = user(store)
    box = services.create_forward_mailbox(store, forward_draft(alice.id, profile.id))
    queue, _, _ = services.create_queue(store, QueueDraft(name="Support", email="support@example.com",
                                                          owner_id=alice.id))
    return {"mailbox": box.id, "user": alice.id, "queue": queue.id, "profile": profile.id}


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_a_record_that_is_gone_is_named_in_one_sentence(store, kind):
    get = KINDS[kind][0]
    _one_of_each(store)
    with pytest.raises(services.NotFound) as err:
        get(store, 987654)
    assert str(err.value) == GONE[kind]


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_a_stale_save_names_the_record_and_what_changed_and_writes_nothing(store, kind):
    get, update, what, title = KINDS[kind]
    record_id = _one_of_each(store)[kind]
    mine = get(store, record_id)
    theirs = get(store, record_id)
    update(store, theirs, replace(theirs, **{title: "Renamed by Bob"}))
    with pytest.raises(ConflictError) as err:
        update(store, mine, replace(mine, **{title: "Mine"}))
    assert err.value.record == f"{what} 'Renamed by Bob'"
    assert err.value.changed == [title]
    assert str(err.value) == f"{what} 'Renamed by Bob' was changed by someone else since you opened it ({title})."
    now = get(store, record_id)
    assert getattr(now, title) == "Renamed by Bob" and now.version == theirs.version + 1


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_a_save_on_the_record_as_read_bumps_its_version_once(store, kind):
    get, update, _, title = KINDS[kind]
    record_id = _one_of_each(store)[kind]
    before = get(store, record_id)
    saved = update(store, before, replace(before, **{title: "Renamed"}))
    assert getattr(saved, title) == "Renamed" and saved.version == before.version + 1
    assert get(store, record_id) == saved


def test_the_profile_form_passes_what_it_remembers_as_it_always_did(store):
    """The profile form calls validate_profile(store, draft, facts): the generic service keeps that call."""
    from mailbox_tui.store.contexts import DatabaseFacts

    profile = services.get_profile(store, imap_profile(store).id)
    other = services.create_profile(store, replace(profile, id=None, version=0, name="Other"))
    taken = replace(other, name="Corporate IMAP")  # P1: the name is the first profile's
    assert [f.rule for f in services.validate_profile(store, taken, DatabaseFacts(store))] == ["P1"]
    assert services.validate_profile(store, taken) == services.validate_profile(store, taken, DatabaseFacts(store))
