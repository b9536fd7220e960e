"""Issue 22, item 6: an import is listed as one group, its own entry then its records newest first, and no
other entry among them (SQLite and PostgreSQL), on every page size, in every view that shows it.

The import's entry is written first (its records name it as their batch), so newest first by id it
came below the oldest of its records: after an import of 100,000 users, line 200,001 of `history`."""

from __future__ import annotations

import pytest
from support.builders import user

from mailbox_tui.domain.records import UserDraft
from mailbox_tui.store import history_read, services
from mailbox_tui.store.exchange import import_document
from mailbox_tui.store.undo import undo

USERS = 3


def walk(store, limit: int, view: str = "all", text: str = "", **where) -> list[int]:
    """Every entry the view lists, page by page, each page going on from the key of the one before."""
    ids, after = [], None
    while True:
        page = history_read.history_page(store, view, text, limit=limit, after=after, **where)
        if not page:
            return ids
        ids += [e.id for e in page]
        after = page[-1].key


@pytest.fixture
def imported(store):
    """An entry before the import, the import (USERS users, each with a mailbox), an entry after it."""
    store.actor = "admin@example.com"
    before, _ = user(store, "Zoe Before", "zoe@example.com")
    report = import_document(store, {"users": [{"fullname": f"User {n}", "internalemailaddress": f"u{n}@example.com"}
                                               for n in range(USERS)]}, source="users.json")
    later = services.get_user(store, before.id)
    services.update_user(store, later, UserDraft(**{**later.__dict__, "full_name": "Zoe After"}))
    return store, report.entry


def test_the_import_entry_is_listed_right_above_its_records_on_every_page_size(imported):
    store, event = imported
    everything = sorted((e.id for e in history_read.history_page(store, limit=1000)), reverse=True)
    records = [i for i in everything if i > event and history_read.entry(i).batch == event]
    assert len(records) == 2 * USERS  # the users and their mailboxes
    later = [i for i in everything if i > max(records)]
    earlier = [i for i in everything if i < event]
    expected = later + [event] + records + earlier
    for limit in range(1, len(expected) + 2):  # the import's entry last on a page, first on the next…
        assert walk(store, limit) == expected, limit
    assert history_read.count_entries(store) == len(expected)


def test_the_undo_of_an_import_is_listed_right_above_its_records_too(imported):
    store, event = imported
    own = undo(store, event)[0]
    shown = walk(store, 2)
    records = sorted((e.id for e in history_read.history_page(store, limit=1000)
                      if e.batch == own), reverse=True)
    assert len(records) == 2 * USERS
    assert shown[:len(records) + 1] == [own] + records
    assert shown.index(event) == shown.index(own) + len(records) + 2  # below the save that came after it


def test_a_view_without_the_import_entry_lists_its_records_alone(imported):
    store, event = imported
    created = walk(store, 2, text="u1@example")  # the records that match; the import's entry does not
    assert created and event not in created
    assert walk(store, 2, view="deletes") == []
    assert walk(store, 2, text="users.json") == [event]  # only the import's entry matches: in its place
    mine = walk(store, 2, view="mine")
    assert mine.index(event) == 1  # the save after it, then the import, then its records


# id: (admin, kind, record_key, action, batch) — two imports (#2, #7) whose records have others' entries
# among them, as on PostgreSQL when admins save while an import writes (its ids come from the same sequence).
INTERLEAVED = {
    1: ("a", "user", "zoe@example.com", "update", None),
    2: ("a", "import", "users.json", "import", None),
    3: ("a", "user", "u3@example.com", "create", 2),
    4: ("a", "user", "carol.other@example.com", "create", 2),
    5: ("b", "user", "carol@example.com", "update", None),  # B's save while #2 writes
    6: ("a", "mailbox", "u3@example.com", "create", 2),
    7: ("b", "import", "more.json", "import", None),  # B's import while #2 writes
    8: ("a", "user", "u8@example.com", "delete", 2),
    9: ("b", "user", "carol.more@example.com", "create", 7),
    10: ("b", "mailbox", "gone", "delete", None),
    11: ("b", "user", "u11@example.com", "delete", 7),
    12: ("a", "user", "u12@example.com", "create", 2),
    13: ("a", "user", "zoe@example.com", "update", None),
}


@pytest.fixture
def interleaved(store):
    """The entries of INTERLEAVED, stored with those ids as the two imports and the saves among them
    leave them on PostgreSQL (SQLite's one writer cannot interleave them: written here as they would be)."""
    from mailbox_tui.store import history
    from mailbox_tui.store.models import bulk_insert

    store.actor = "a"
    with store.transaction():
        bulk_insert(history.ChangeEntry, [
            {"id": i, "admin": admin, "os_user": "t", "host": "h", "kind": kind, "record_key": key, "record_id": i,
             "action": action, "changes": "[]", "credentials": False, "batch": batch, "parent": None,
             "undoes": None} for i, (admin, kind, key, action, batch) in INTERLEAVED.items()])
        history._index(1, 13)  # the History filter's index, as the recorder adds them
    return store


@pytest.mark.parametrize("view, text, expected", [
    ("all", "", [13, 10, 7, 11, 9, 5, 2, 12, 8, 6, 4, 3, 1]),  # each import's records right below it, no other
    ("mine", "", [13, 2, 12, 8, 6, 4, 3, 1]),
    ("deletes", "", [10, 11, 8]),  # records whose import is not in the view: still in its group's place
    ("all", "carol", [9, 5, 4]),
])
def test_pages_that_end_inside_a_group_with_others_entries_among_its_ids_go_on_in_order(interleaved, view, text,
                                                                                       expected):
    for limit in range(1, len(expected) + 2):  # a page boundary at every place, inside each group too
        assert walk(interleaved, limit, view, text) == expected, limit
    assert history_read.count_entries(interleaved, view, text) == len(expected)
