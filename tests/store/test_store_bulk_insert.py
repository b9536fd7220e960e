"""bulk_insert (an import's writes) stores what a save stores: its times too, which it turns into
SQLite's text once per batch rather than once per row."""

from __future__ import annotations

from datetime import datetime, timedelta

from mailbox_tui.domain.records import UserDraft
from mailbox_tui.store import services
from mailbox_tui.store.convert import user_columns
from mailbox_tui.store.models import AppUser, bulk_insert, utcnow


def _times(store, user_id: int) -> tuple:
    table = AppUser._meta.table_name
    if store.is_postgres:
        sql = f'SELECT created_on, modified_on FROM "{table}" WHERE id = %s'
        return store.db.execute_sql(sql, (user_id,)).fetchone()
    return store.db.execute_sql(f'SELECT created_on, modified_on, typeof(created_on), typeof(modified_on) '
                                f'FROM "{table}" WHERE id = ?', (user_id,)).fetchone()


def test_bulk_inserted_rows_keep_the_times_a_save_keeps(store):
    before = utcnow()
    saved, _, _ = services.create_user(store, UserDraft("Saved User", "saved@example.com"))
    with store.transaction():
        bulk_insert(AppUser, [user_columns(UserDraft(f"Bulk {n}", f"bulk{n}@example.com")) for n in range(3)])
    bulk = [u.id for u in AppUser.select().where(AppUser.email.startswith("bulk")).order_by(AppUser.id)]
    assert len(bulk) == 3
    after = utcnow()
    for user_id in (saved.id, *bulk):
        row = AppUser.get_by_id(user_id)
        assert type(row.created_on) is datetime and before <= row.created_on <= after + timedelta(seconds=1)
        assert row.modified_on == row.created_on
    stored = [_times(store, user_id) for user_id in (saved.id, *bulk)]
    assert len({r[:2] for r in stored[1:]}) == 1  # the batch's one time, on every row
    if not store.is_postgres:  # the same text as sqlite3's own adapter gives a save, to the second
        assert all(r[2:] == ("text", "text") for r in stored)
        for created, modified, *_ in stored:
            assert created == modified and created == datetime.fromisoformat(created).isoformat(" ")
            assert len(created) == len("2026-12-06 11:23:45")
