"""Issue 13: the History page's `/` filter through its trigram index (schema migration 7) returns
exactly what the plain scan returns, on SQLite (FTS5, filled in bulk by the recorder) and
PostgreSQL (pg_trgm); the index is written in the entries' own transaction. Asserted on the
stored rows of change_entry and of the index."""

from __future__ import annotations

import json
import logging

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.builders import imap_profile, user
from support.postgres import limited_role_url

from mailbox_tui.store import migrations as migrations_module
from mailbox_tui.store import history, history_read, history_search
from mailbox_tui.store.database import Store, schema_version
from mailbox_tui.store.exchange import import_document
from mailbox_tui.store.history import ChangeEntry
from mailbox_tui.store.models import utcnow

FTS = history_search.TABLE


def plain_ids(text: str) -> list[int]:
    """The filter before the index: LIKE (ILIKE on PostgreSQL) on the four columns, newest first."""
    text = text.strip()
    query = ChangeEntry.select(ChangeEntry.id).where(
        ChangeEntry.record_key.contains(text) | ChangeEntry.admin.contains(text)
        | ChangeEntry.action.contains(text) | ChangeEntry.kind.contains(text))
    return [e.id for e in query.order_by(ChangeEntry.id.desc())]


def page_ids(store, text: str, view: str = "all", limit: int = 10_000, after=None) -> list[int]:
    return [e.id for e in history_read.history_page(store, view, text, limit=limit, after=after)]


def integrity(store) -> None:
    """SQLite: the FTS5 index holds exactly the entries change_entry holds (raises if not)."""
    if not store.is_postgres:
        store.db.execute_sql(f"INSERT INTO {FTS} ({FTS}, rank) VALUES ('integrity-check', 1)")


def indexed_ids(store, trigram: str) -> list[int]:
    """SQLite: the entries the index itself holds for one trigram (read from the index, not the entries)."""
    query = '"' + trigram.replace('"', '""') + '"'
    return sorted(r[0] for r in store.db.execute_sql(f"SELECT rowid FROM {FTS} WHERE {FTS} MATCH ?", (query,)))


def write_entries(store, specs: list[tuple[str, str, str, str]]) -> None:
    """Entries (record key, admin, action, kind) through the recorder's own insert, in one transaction."""
    with store.transaction():
        rows = []
        for n, (key, admin, action, kind) in enumerate(specs):
            store.actor = admin
            rows.append(history._entry(store, kind, action, n + 1, key, [], False, utcnow()))
        history._insert(rows, None)
    store.actor = ""


def _clear(store) -> None:
    """Tests only: entries are never deleted by mailbox-tui, so the index is emptied with them by hand."""
    with store.transaction():
        ChangeEntry.delete().execute()
        if not store.is_postgres:
            store.db.execute_sql(f"INSERT INTO {FTS} ({FTS}) VALUES ('delete-all')")


# Letters that fold in interesting ways, LIKE's wildcards and escape, FTS5's syntax, combining marks.
ALPHABET = (list("abcxyzABCXYZ019 .@-_%\\\"'*:()^+{}") + ["NEAR", "AND", "OR", "NOT"]
            + ["ß", "ẞ", "İ", "ı", "Σ", "σ", "ς", "é", "É", "\u0301", "\u0308", "Å", "å", "ǅ", "Ω", "K", "ﬁ", "😀",
               "ä", "\t"])
piece = st.lists(st.sampled_from(ALPHABET), min_size=0, max_size=8).map("".join)
spec = st.tuples(piece, piece, st.sampled_from(["update", "delete", "rotate key", "NEAR", 'a"b', "%_\\"]),
                 st.sampled_from(["mailbox", "user", "key", "*^-"]))


def _folds(text: str, how: str) -> str:
    return {"same": text, "upper": text.upper(), "lower": text.lower(), "swap": text.swapcase()}[how]


@st.composite
def needles(draw, values: list[str]) -> str:
    """A piece of a stored value (so something matches), cased differently, or anything at all (1–2
    characters included: they scan)."""
    values = [v for v in values if v]
    if values and draw(st.integers(0, 3)):
        value = draw(st.sampled_from(values))
        start = draw(st.integers(0, max(len(value) - 1, 0)))
        end = draw(st.integers(min(start + 1, len(value)), len(value)))
        return _folds(value[start:end], draw(st.sampled_from(["same", "upper", "lower", "swap"])))
    return draw(st.lists(st.sampled_from(ALPHABET), min_size=1, max_size=4).map("".join))


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), specs=st.lists(spec, min_size=1, max_size=12))
def test_the_indexed_filter_returns_exactly_what_the_plain_scan_returns(store, data, specs):
    _clear(store)
    write_entries(store, specs)
    integrity(store)
    values = [v for s in specs for v in s]
    for _ in range(6):
        text = data.draw(needles(values), label="filter")
        if not text.strip():
            continue
        expected = plain_ids(text)
        assert page_ids(store, text) == expected, text
        assert history_read.count_entries(store, "all", text, cap=None) == len(expected)
        assert history_read.count_entries(store, "all", text, cap=1) == min(len(expected), 2)
        # keyed pages of two, newest first, end to end: the same entries
        walked, after = [], None
        while True:
            page = page_ids(store, text, limit=2, after=after)
            if not page:
                break
            walked += page
            after = (page[-1],)
        assert walked == expected, text
        for view in ("today", "deletes", "mine"):  # a view and the filter: both conditions hold
            assert page_ids(store, text, view) == [i for i in expected if i in page_ids(store, "", view)]


# ---------------------------------------------------------------- the index is used, and kept in step


def test_a_filter_of_three_characters_reads_the_index_newest_first_and_stops_at_the_page(sqlite_url):
    with Store(sqlite_url) as store:
        write_entries(store, [(f"Box {n:03d}", "alice@example.com", "update", "mailbox") for n in range(30)])
        query, key = history_read._query(store, "all", "box 01")
        sql, params = query.order_by(key.desc()).limit(5).sql()
        plan = " | ".join(r[3] for r in store.db.execute_sql(f"EXPLAIN QUERY PLAN {sql}", params))
        assert plan.startswith("SCAN t2 VIRTUAL TABLE") and "TEMP B-TREE" not in plan, plan
        assert [e.record_key for e in history_read.history_page(store, "all", "box 01", limit=5)] == [
            f"Box 01{n}" for n in range(9, 4, -1)]
        # What finds an entry is the index: one left out of it is not found by a 3-character filter
        # (a 2-character filter scans, and finds it). Tests only: the recorder never leaves one out.
        store.db.execute_sql(f"INSERT INTO {FTS} ({FTS}, rowid, record_key, admin, action, kind) "
                             "SELECT 'delete', id, record_key, admin, action, kind FROM change_entry "
                             "WHERE record_key = 'Box 007'")
        assert history_read.history_page(store, "all", "box 007") == []
        assert "Box 007" in [e.record_key for e in history_read.history_page(store, "all", "07")]


def test_every_recorder_path_indexes_its_entries_in_their_transaction(db_url):
    """One entry (record_event, _insert of one), many (_insert in bulk), an import's (record_created,
    in SQL from the new rows on SQLite, and as values): all in the index, and nothing else."""
    with Store(db_url) as store:
        store.actor = "alice@example.com"
        profile = imap_profile(store, name="Branch IMAP")
        user(store, "Alice Berg", "alice@example.com")
        doc = {"users": [{"fullname": f"Imported {n}", "internalemailaddress": f"imp{n}@example.com"}
                         for n in range(3)],
               "mailboxes": [{"regarding": {"user": f"imp{n}@example.com"}, "emailserverprofile": "Branch IMAP",
                              "username": f"imp{n}@example.com", "password": f"pw-{n}"} for n in range(3)]}
        report = import_document(store, doc, source="people.json")
        assert report.written and not report.errors, report.findings[:3]
        assert profile.id
        integrity(store)
        entries = list(ChangeEntry.select().order_by(ChangeEntry.id))
        assert {e.action for e in entries} >= {"create", "import"}
        for e in entries:  # each one found by its own record key, admin, action and kind
            for column in history_search.COLUMNS:
                value = getattr(e, column)
                if len(value) >= 3:
                    assert e.id in page_ids(store, value), (column, value)
        if not store.is_postgres:
            assert indexed_ids(store, "imp") == sorted(
                e.id for e in entries if any("imp" in getattr(e, c).lower() for c in history_search.COLUMNS))


def test_a_rolled_back_write_leaves_no_index_rows(db_url):
    with Store(db_url) as store:
        write_entries(store, [("Kept Record", "alice@example.com", "update", "mailbox")])
        with pytest.raises(RuntimeError), store.transaction():
            history.record_event(store, "import", history.IMPORT, "Gone Record")
            write_entries(store, [("Gone Record 2", "bob@example.com", "delete", "queue")])
            assert page_ids(store, "gone record") != []  # visible inside the transaction
            raise RuntimeError("the write fails after recording")
        assert page_ids(store, "gone record") == [] and page_ids(store, "bob@") == []
        assert [e.record_key for e in ChangeEntry.select()] == ["Kept Record"]
        integrity(store)
        if not store.is_postgres:
            assert indexed_ids(store, "gon") == [] and indexed_ids(store, "kep") == [ChangeEntry.get().id]


# ---------------------------------------------------------------- migration 7


def test_migration_7_indexes_the_entries_of_a_schema_6_database(db_url, monkeypatch):
    monkeypatch.setattr(migrations_module, "SCHEMA_VERSION", 6)
    with Store(db_url) as store:
        assert schema_version(store.db) == 6
        store.actor = "carla@example.com"
        user(store, "Alice Berg", "alice@example.com")
        write_entries(store, [(f"Old {n}", "dora@example.com", "approve", "mailbox") for n in range(5)])
        assert FTS not in store.db.get_tables()
        before = plain_ids("old 3")
        assert len(before) == 1
    monkeypatch.undo()
    with Store(db_url) as store:
        assert schema_version(store.db) == migrations_module.SCHEMA_VERSION >= 7
        assert history_search.ready(store.db)
        integrity(store)
        assert page_ids(store, "OLD 3") == before
        assert page_ids(store, "alice@ex") == plain_ids("alice@ex") != []
        assert page_ids(store, "carla") == plain_ids("carla") != []
        assert history_read.count_entries(store, "all", "dora@", cap=None) == 5
        write_entries(store, [("New One", "erin@example.com", "update", "mailbox")])  # and from now on
        assert [e.record_key for e in history_read.history_page(store, "all", "new one")] == ["New One"]
        integrity(store)


def test_migration_7_runs_again_harmlessly(db_url):
    from mailbox_tui.store.models import Meta

    with Store(db_url) as store:
        write_entries(store, [("Again Record", "alice@example.com", "update", "mailbox")])
        Meta.update(value="6").where(Meta.key == "schema_version").execute()
    with Store(db_url) as store:
        assert schema_version(store.db) == migrations_module.SCHEMA_VERSION
        integrity(store)
        assert [e.record_key for e in history_read.history_page(store, "all", "again")] == ["Again Record"]


@pytest.mark.postgres
def test_postgres_without_the_right_to_create_pg_trgm_filters_history_by_scanning_and_says_so(pg_database_url,
                                                                                            caplog):
    pytest.importorskip("psycopg")
    with limited_role_url(pg_database_url) as url:
        with caplog.at_level(logging.WARNING, logger="mailbox_tui.store.history_search"):
            store = Store(url)
        try:
            assert "History filter scans the entries" in caplog.text
            assert history_search.PG_INDEX in caplog.text  # what a database owner can run
            assert not history_search.ready(store.db)
            write_entries(store, [("Scanned Record", "alice@example.com", "update", "mailbox")])
            assert [e.record_key for e in history_read.history_page(store, "all", "SCANNED")] == ["Scanned Record"]
        finally:
            store.close()


def test_sqlite_without_the_trigram_tokenizer_filters_history_by_scanning_and_says_so(sqlite_url, monkeypatch,
                                                                                     caplog):
    """SQLite before 3.34 has no trigram tokenizer. This one has, so the refusal is provoked (the one
    fake in this file, saying so): the migration asks for a tokenizer that does not exist."""
    def old_sqlite(db):
        db.execute_sql(f"CREATE VIRTUAL TABLE {FTS} USING fts5(x, tokenize='no_such_tokenizer')")

    monkeypatch.setattr(history_search, "_create_fts", old_sqlite)
    with caplog.at_level(logging.WARNING, logger="mailbox_tui.store.history_search"):
        store = Store(sqlite_url)
    try:
        assert "can't build the History filter's index" in caplog.text
        assert FTS not in store.db.get_tables()
        write_entries(store, [("Scanned Record", "alice@example.com", "update", "mailbox")])
        assert [e.record_key for e in history_read.history_page(store, "all", "scanned")] == ["Scanned Record"]
        assert json.loads(ChangeEntry.get().changes) == []
    finally:
        store.close()


def test_the_sqlite_index_does_not_merge_as_it_is_written(sqlite_url):
    """automerge 0: an import's write does no merging (FTS5 still merges 16 segments of a level)."""
    with Store(sqlite_url) as store:
        config = dict(store.db.execute_sql(f"SELECT k, v FROM {FTS}_config").fetchall())
        assert config.get("automerge") == 0


def test_a_filter_of_one_or_two_characters_searches_only_the_newest_entries_and_says_so(store, monkeypatch):
    """No trigram to look up: one or two characters search the newest SHORT_FILTER_SCAN entries (at a
    million entries a rare one scanned them all, about 0.3 s a keystroke), and the page says so.
    Three characters search everything through the index."""
    monkeypatch.setattr(history_read, "SHORT_FILTER_SCAN", 3)
    _clear(store)
    write_entries(store, [("old-qz-box", "a@x", "update", "mailbox")]
                  + [(f"new-{n}", "a@x", "update", "mailbox") for n in range(5)])
    newest = [e.id for e in ChangeEntry.select(ChangeEntry.id).order_by(ChangeEntry.id.desc()).limit(3)]
    assert page_ids(store, "qz") == []  # the old entry is beyond the newest three
    assert page_ids(store, "new") == plain_ids("new")  # three characters: all of them
    assert page_ids(store, "-q") == [] and page_ids(store, "w-") == newest
    assert history_read.count_entries(store, "all", "w-", cap=None) == 3
    assert "newest 3 searched" in history_read.short_filter_note("qz")
    assert history_read.short_filter_note("qzb") == "" and history_read.short_filter_note("") == ""
    assert page_ids(store, "old-qz") == plain_ids("old-qz")  # found with three or more
