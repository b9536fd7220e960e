"""The lists' filter with its trigram index (schema migration 3): the same rows as the plain LIKE
filter always gave, on SQLite (FTS5, kept in step by triggers) and PostgreSQL (pg_trgm)."""

from __future__ import annotations

import logging

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from peewee import fn
from support.builders import forward_draft, imap_profile, user
from support.postgres import limited_role_url

from mailbox_tui.domain.records import QueueDraft
from mailbox_tui.domain.text import natural_key
from mailbox_tui.store import migrations as migrations_module
from mailbox_tui.store import filter_index, queries, services
from mailbox_tui.store.database import Store, schema_version
from mailbox_tui.store.models import AppUser, EmailServerProfile, Mailbox, OrganizationSettings, Queue

FTS_TABLES = ("mailbox_filter", "app_user_filter", "queue_filter")


# ---------------------------------------------------------------- the filter's meaning, as it was


def plain_mailbox_ids(key: str) -> list[int]:
    """The Mailboxes filter before the index: LIKE on name, email and the profile's name."""
    profiles = EmailServerProfile.select(EmailServerProfile.id).where(EmailServerProfile.name_key.contains(key))
    query = Mailbox.select(Mailbox.id).where(Mailbox.name_key.contains(key) | Mailbox.email_key.contains(key)
                                             | Mailbox.profile.in_(profiles))
    return [m.id for m in query.order_by(Mailbox.name_key, Mailbox.id)]


def plain_user_ids(key: str) -> list[int]:
    query = AppUser.select(AppUser.id).where(fn.LOWER(AppUser.full_name).contains(key)
                                             | AppUser.email_key.contains(key))
    return [u.id for u in query.order_by(fn.LOWER(AppUser.full_name), AppUser.id)]


def plain_queue_ids(key: str) -> list[int]:
    query = Queue.select(Queue.id).where(Queue.name_key.contains(key) | Queue.email_key.contains(key))
    return [q.id for q in query.order_by(Queue.name_key, Queue.id)]


def fts_integrity(store) -> None:
    """SQLite: each FTS5 index holds exactly what its table holds (raises if not)."""
    if not store.is_postgres:
        for fts in FTS_TABLES:
            store.db.execute_sql(f"INSERT INTO {fts} ({fts}, rank) VALUES ('integrity-check', 1)")


# Letters that fold in interesting ways, LIKE's wildcards and escape, FTS5's quote and operators.
ALPHABET = list("abcxyzABCXYZ019 .@-_%\\\"'*:()^+") + ["ß", "ẞ", "İ", "ı", "Σ", "σ", "ς", "é", "É", "\u0301",
                                                      "Å", "å", "ǅ", "Ω", "K", "ﬁ", "😀", "ä"]
piece = st.text(st.sampled_from(ALPHABET), min_size=1, max_size=12)
records = st.lists(st.tuples(piece, piece, st.integers(0, 3)), min_size=1, max_size=14)


def _folds(text: str, how: str) -> str:
    return {"same": text, "upper": text.upper(), "lower": text.lower(), "swap": text.swapcase()}[how]


@st.composite
def needles(draw, values: list[str]) -> str:
    """A piece of a stored value (so something matches), cased differently, or anything at all."""
    if values and draw(st.integers(0, 3)):  # mostly a piece, of a trigram or more where it can
        value = draw(st.sampled_from(values))
        start = draw(st.integers(0, max(len(value) - 3, 0)))
        end = draw(st.integers(min(start + 3, len(value)), len(value)))
        return _folds(value[start:end], draw(st.sampled_from(["same", "upper", "lower", "swap"])))
    return draw(st.text(st.sampled_from(ALPHABET), min_size=1, max_size=5))


def _clear(store) -> None:
    with store.transaction():
        OrganizationSettings.update(default_profile=None).execute()
        Mailbox.delete().execute()
        Queue.delete().execute()
        AppUser.delete().execute()
        EmailServerProfile.delete().execute()


def _write(store, rows: list[tuple[str, str, int]], renames: list[int], deletions: list[int]) -> list[str]:
    """Users with mailboxes, queues and profiles named from `rows`, written straight to the tables
    (no rule judges these names: the filter must hold for any stored text); then some renamed and
    some deleted, through the triggers. Returns every stored text a needle may be cut from."""
    values = []
    with store.transaction():
        profiles = []
        for n in range(2):
            name = f"{rows[n % len(rows)][0]} {n}"
            profiles.append(EmailServerProfile.insert(name=name, name_key=natural_key(name), server_type=4).execute())
            values.append(name)
        for n, (name, local, profile) in enumerate(rows):
            email = f"{local}#{n}@example.com"
            uid = AppUser.insert(full_name=name, email=email, email_key=natural_key(email), state=n % 2).execute()
            Mailbox.insert(kind=0, name=name, name_key=natural_key(name), email=email, email_key=natural_key(email),
                           owner=uid, regarding_user=uid, profile=profiles[profile] if profile < 2 else None,
                           state=n % 2, approval=n % 3).execute()
            qname = f"{local} queue {n}"
            Queue.insert(name=qname, name_key=natural_key(qname), email=email, email_key=natural_key(email),
                         owner=uid).execute()
            values += [name, email, qname]
        users = [u.id for u in AppUser.select(AppUser.id).order_by(AppUser.id)]
        for n in renames:
            uid = users[n % len(users)]
            name = f"renamed {n} Ωmega"
            AppUser.update(full_name=name).where(AppUser.id == uid).execute()
            Mailbox.update(name=name, name_key=natural_key(name)).where(Mailbox.regarding_user == uid).execute()
            Queue.update(name_key=natural_key(name + " q")).where(Queue.owner == uid).execute()
            values.append(name)
        for n in deletions:
            uid = users[n % len(users)]
            Mailbox.delete().where(Mailbox.regarding_user == uid).execute()
            Queue.delete().where(Queue.owner == uid).execute()
            AppUser.delete().where(AppUser.id == uid).execute()
    return values


@pytest.mark.parametrize("narrow", [queries.NARROW, 0], ids=["index-first", "scan-when-any-candidate"])
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), rows=records, renames=st.lists(st.integers(0, 20), max_size=3),
       deletions=st.lists(st.integers(0, 20), max_size=3))
def test_indexed_filter_returns_exactly_what_the_plain_like_filter_returns(store, narrow, data, rows, renames,
                                                                          deletions):
    _clear(store)
    values = _write(store, rows, renames, deletions)
    fts_integrity(store)
    saved = queries.NARROW
    queries.NARROW = narrow
    try:
        for _ in range(6):
            text = data.draw(needles(values), label="filter")
            if not text.strip():
                continue
            key = queries.needle(text)
            expected = plain_mailbox_ids(key)
            assert [r.id for r in queries.mailbox_page("all", text, limit=10_000)] == expected, text
            assert queries.count_mailboxes("all", text) == len(expected)
            assert queries.count_mailboxes("all", text, cap=2) == min(len(expected), 3)
            assert [r.id for r in queries.user_page("all", text, limit=10_000)] == plain_user_ids(key), text
            assert queries.count_users("all", text) == len(plain_user_ids(key))
            assert [r.id for r in queries.queue_page("all", text, limit=10_000)] == plain_queue_ids(key), text
            assert queries.count_queues("all", text, cap=1) == min(len(plain_queue_ids(key)), 2)
            for view in queries.USER_VIEWS:  # counts agree with the pages in every view
                assert queries.count_users(view, text) == len(queries.user_page(view, text, limit=10_000))
            for view in ("active", "pending", "inactive"):
                assert queries.count_mailboxes(view, text) == len(queries.mailbox_page(view, text, limit=10_000))
    finally:
        queries.NARROW = saved


# ---------------------------------------------------------------- the index is used, and kept in step


def test_a_filter_matching_few_rows_reads_them_through_the_trigram_index(store):
    alice, _ = user(store, "Alice Berg", "alice@example.com")
    user(store, "Bob Dahl", "bob@example.com")
    assert queries.trigram_ready()
    query = queries._mailbox_query(Mailbox.select(Mailbox.id), "all", "berg")
    sql, _ = query.sql()
    if store.is_postgres:
        names = {r[0] for r in store.db.execute_sql("SELECT indexname FROM pg_indexes")}
        assert {"mailbox_name_key_trgm", "mailbox_email_key_trgm", "app_user_lower_full_name_trgm",
                "app_user_email_key_trgm", "queue_name_key_trgm", "queue_email_key_trgm"} <= names
    else:
        assert "mailbox_filter" in sql and "MATCH" in sql
    assert [r.name for r in queries.mailbox_page("all", "berg")] == ["Alice Berg"]
    # Two characters are below a trigram: the plain scan answers, the same way.
    assert "MATCH" not in queries._mailbox_query(Mailbox.select(Mailbox.id), "all", "be").sql()[0]
    assert [r.name for r in queries.mailbox_page("all", "ER")] == ["Alice Berg"]


def test_renamed_and_deleted_records_leave_the_index(store):
    profile = imap_profile(store, name="Branch IMAP")
    alice, box = user(store, "Alice Berg", "alice@example.com")
    bob, _ = user(store, "Bob Dahl", "bob@example.com")
    forward = services.create_forward_mailbox(store, forward_draft(alice.id, profile.id))
    queue, _, _ = services.create_queue(store, QueueDraft(name="Support Desk", email="desk@example.com",
                                                          owner_id=bob.id))
    draft = services.get_mailbox(store, forward.id)
    services.update_mailbox(store, draft, draft.copy(name="Inbound relay", email="relay@example.com"))
    services.delete_queue(store, queue.id)
    fts_integrity(store)
    assert [r.name for r in queries.mailbox_page("all", "relay")] == ["Inbound relay"]
    assert queries.mailbox_page("all", "collector") == []  # the old name
    assert queries.queue_page("all", "desk") == []
    if not store.is_postgres:
        old = store.db.execute_sql("SELECT rowid FROM mailbox_filter WHERE mailbox_filter MATCH '\"collector\"'")
        assert old.fetchall() == []
    services.delete_mailbox(store, forward.id)
    services.delete_user(store, alice.id)
    fts_integrity(store)
    assert queries.mailbox_page("all", "alice") == [] and queries.user_page("all", "alice") == []
    assert [r.name for r in queries.mailbox_page("all", "dahl")] == ["Bob Dahl"]
    assert box.id not in [r.id for r in queries.mailbox_page("all")]


def test_upper_case_names_are_found_by_any_case_through_the_index(store):
    """Users are filtered on LOWER(full_name): the index must fold case as LIKE does."""
    user(store, "ALICE BERG", "a.b@example.com")
    user(store, "Åsa Öberg", "asa@example.com")
    assert [r.full_name for r in queries.user_page("all", "alice b")] == ["ALICE BERG"]
    assert [r.full_name for r in queries.user_page("all", "Alice B")] == ["ALICE BERG"]
    assert [r.full_name for r in queries.user_page("all", "berg")] == ["ALICE BERG", "Åsa Öberg"]
    expected = plain_user_ids(queries.needle("åsa"))  # whatever LOWER() makes of Å on this database
    assert [r.id for r in queries.user_page("all", "åsa")] == expected


def test_a_bulk_insert_indexes_its_rows_at_once_and_leaves_the_trigger_on(store):
    from support.bulk import add_users_with_mailboxes

    from mailbox_tui.store.models import bulk_insert

    user(store, "Alice Berg", "alice@example.com")
    add_users_with_mailboxes(store, 250, prefix="bulk")
    fts_integrity(store)
    if not store.is_postgres:  # the insert triggers are back
        triggers = {r[0] for r in store.db.execute_sql("SELECT name FROM sqlite_master WHERE type = 'trigger'")}
        assert {f"{fts}_insert" for fts in FTS_TABLES} <= triggers
    assert [r.name for r in queries.mailbox_page("all", "bulk 000123")] == ["Bulk 000123"]
    assert queries.count_users("all", "bulk0001") == 100
    # rows given ids below the largest one are indexed by the trigger, one by one
    gone, _ = user(store, "Gone Soon", "gone@example.com")
    user(store, "Last One", "last@example.com")
    services.delete_user(store, gone.id)
    with store.transaction():
        bulk_insert(AppUser, [{"id": gone.id, "full_name": "Back Again", "email": "back@example.com",
                               "email_key": "back@example.com"}])
    fts_integrity(store)
    assert [r.full_name for r in queries.user_page("all", "again")] == ["Back Again"]
    # and a write after a bulk insert is indexed by the trigger again
    user(store, "Carla Dias", "carla@example.com")
    assert [r.name for r in queries.mailbox_page("all", "carla")] == ["Carla Dias"]
    fts_integrity(store)


def test_after_a_bulk_insert_new_records_get_fresh_ids(store):
    """PostgreSQL: bulk ids come from the table's sequence, so the next record does not collide
    with them (it did: the proxy hid the database's kind and max(id)+1 was used)."""
    from support.bulk import add_users_with_mailboxes

    add_users_with_mailboxes(store, 3)
    created, mailbox = user(store, "New One", "new@example.com")
    assert created.id not in (1, 2, 3) and AppUser.select().count() == 4
    assert [r.name for r in queries.mailbox_page("all", "new one")] == ["New One"]


def test_postgres_bulk_insert_leaves_no_pending_trigram_entries(store):
    """Searches read a GIN index's pending list whole: a bulk insert merges it at once."""
    if not store.is_postgres:
        pytest.skip("PostgreSQL's GIN indexes only")
    from support.bulk import add_users_with_mailboxes

    add_users_with_mailboxes(store, 1500)
    left = store.db.execute_sql("SELECT sum(gin_clean_pending_list(indexname::regclass)) FROM pg_indexes "
                                "WHERE indexname LIKE %s", ("%\\_trgm",)).fetchone()[0]
    assert left == 0
    assert queries.count_mailboxes("all", "user0014") == 100


def test_a_failed_bulk_insert_leaves_the_trigger_and_the_index_as_they_were(store):
    from mailbox_tui.store.models import bulk_insert

    user(store, "Alice Berg", "alice@example.com")
    twins = [{"full_name": name, "email": "twin@example.com", "email_key": "twin@example.com"}
             for name in ("Twin One", "Twin Two")]
    with pytest.raises(Exception, match="(?i)unique|duplicate"), store.transaction():
        bulk_insert(AppUser, twins)
    fts_integrity(store)
    user(store, "Carla Dias", "carla@example.com")  # indexed by the trigger, as ever
    fts_integrity(store)
    assert queries.user_page("all", "twin") == []
    assert [r.full_name for r in queries.user_page("all", "carla")] == ["Carla Dias"]


def test_capped_count_stops_after_the_cap(store):
    for n in range(5):
        user(store, f"Person {n}", f"person{n}@example.com")
    assert queries.count_mailboxes("all", "person", cap=3) == 4  # "3+"
    assert queries.count_mailboxes("all", "person", cap=10) == 5
    assert queries.count_mailboxes("all", "", cap=2) == 3
    assert queries.count_users("all", "person 1", cap=3) == 1
    assert queries.count_profiles("all", "", cap=3) == 0


# ---------------------------------------------------------------- migration 3


def test_migration_3_indexes_the_records_already_there(db_url, monkeypatch):
    monkeypatch.setattr(migrations_module, "SCHEMA_VERSION", 2)
    with Store(db_url) as store:
        assert schema_version(store.db) == 2
        profile = imap_profile(store, name="Branch IMAP")
        alice, _ = user(store, "Alice Berg", "alice@example.com")
        bob, _ = user(store, "Bob Dahl", "bob@sales.example.com")
        services.create_forward_mailbox(store, forward_draft(alice.id, profile.id))
        services.create_queue(store, QueueDraft(name="Support Desk", email="desk@example.com", owner_id=bob.id))
        tables = store.db.get_tables()
        assert not [t for t in tables if t.endswith("_filter")]
    monkeypatch.undo()
    with Store(db_url) as store:
        assert schema_version(store.db) == migrations_module.SCHEMA_VERSION
        fts_integrity(store)
        assert queries.trigram_ready()
        assert [r.name for r in queries.mailbox_page("all", "ALICE")] == ["Alice Berg"]
        assert [r.name for r in queries.mailbox_page("all", "sales.")] == ["Bob Dahl"]
        assert [r.name for r in queries.mailbox_page("all", "branch")] == ["Forward collector"]
        assert [r.full_name for r in queries.user_page("all", "dahl")] == ["Bob Dahl"]
        assert [r.name for r in queries.queue_page("all", "desk@")] == ["Support Desk"]
        # and what is written from now on is indexed too
        user(store, "Carla Dias", "carla@example.com")
        assert [r.name for r in queries.mailbox_page("all", "carla")] == ["Carla Dias"]
        fts_integrity(store)


def test_migration_3_runs_again_harmlessly(db_url):
    """A database put back to version 2 by hand (its objects left in place) migrates again."""
    from mailbox_tui.store.models import Meta

    with Store(db_url) as store:
        user(store, "Alice Berg", "alice@example.com")
        Meta.update(value="2").where(Meta.key == "schema_version").execute()
    with Store(db_url) as store:
        assert schema_version(store.db) == migrations_module.SCHEMA_VERSION
        fts_integrity(store)
        assert [r.name for r in queries.mailbox_page("all", "berg")] == ["Alice Berg"]


@pytest.mark.postgres
def test_postgres_without_the_right_to_create_pg_trgm_filters_by_scanning_and_says_so(pg_database_url, caplog):
    pytest.importorskip("psycopg")
    with limited_role_url(pg_database_url) as url:
        with caplog.at_level(logging.WARNING, logger="mailbox_tui.store.filter_index"):
            store = Store(url)
        try:
            assert schema_version(store.db) == migrations_module.SCHEMA_VERSION
            assert "did not let mailbox-tui create the extension pg_trgm" in caplog.text
            assert "permission denied" in caplog.text
            assert "CREATE EXTENSION pg_trgm" in caplog.text  # what a database owner can run
            assert not queries.trigram_ready()
            user(store, "Alice Berg", "alice@example.com")
            user(store, "Bob Dahl", "bob@example.com")
            assert [r.name for r in queries.mailbox_page("all", "berg")] == ["Alice Berg"]
            assert queries.count_mailboxes("all", "example") == 2
            assert [r.full_name for r in queries.user_page("all", "DAHL")] == ["Bob Dahl"]
        finally:
            store.close()


def test_sqlite_without_the_trigram_tokenizer_filters_by_scanning_and_says_so(sqlite_url, monkeypatch, caplog):
    """SQLite before 3.34 has no trigram tokenizer. This one has, so the refusal is provoked: the
    migration asks for a tokenizer that does not exist (the one fake in this file, saying so)."""
    def old_sqlite(db, table, fts, columns):
        db.execute_sql(f"CREATE VIRTUAL TABLE {fts} USING fts5(x, tokenize='no_such_tokenizer')")

    monkeypatch.setattr(filter_index, "_sqlite_trigram_index", old_sqlite)
    with caplog.at_level(logging.WARNING, logger="mailbox_tui.store.filter_index"):
        store = Store(sqlite_url)
    try:
        assert "can't build the filter's index" in caplog.text
        assert not [t for t in store.db.get_tables() if t.endswith("_filter")]
        assert not queries.trigram_ready()
        user(store, "Alice Berg", "alice@example.com")
        assert [r.name for r in queries.mailbox_page("all", "berg")] == ["Alice Berg"]
    finally:
        store.close()


def test_a_mailbox_deleted_by_a_foreign_key_cascade_leaves_the_index(store):
    bob, _ = user(store, "Bob Dahl", "bob@example.com")
    queue, mailbox, _ = services.create_queue(store, QueueDraft(name="Support Desk", email="desk@example.com",
                                                                owner_id=bob.id))
    assert [r.id for r in queries.mailbox_page("all", "support")] == [mailbox.id]
    with store.transaction():
        Queue.delete().where(Queue.id == queue.id).execute()  # its mailbox goes by ON DELETE CASCADE
    assert Mailbox.get_or_none(Mailbox.id == mailbox.id) is None
    fts_integrity(store)
    assert queries.mailbox_page("all", "support") == [] and queries.queue_page("all", "support") == []
