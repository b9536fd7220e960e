"""Issue 22, item 6: an import's own entry is listed with its records, right above the newest of them
(SQLite and PostgreSQL), on every page size, in every view that shows it.

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
