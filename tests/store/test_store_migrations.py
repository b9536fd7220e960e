"""Schema versions: a new database is created at the latest version; a newer one is refused."""

from __future__ import annotations

import peewee
import pytest
from support.builders import user

from mailbox_tui.store.database import SCHEMA_VERSION, Store, StoreError, make_database, schema_version
from mailbox_tui.store.models import AppUser, Meta


def test_new_database_is_at_the_latest_schema_version(store):
    assert schema_version(store.db) == SCHEMA_VERSION


def test_reopening_keeps_data(db_url):
    with Store(db_url) as store:
        user(store)
    with Store(db_url) as store:
        assert AppUser.select().count() == 1


def test_database_from_a_newer_release_is_refused_with_a_message(db_url):
    with Store(db_url):
        Meta.update(value=str(SCHEMA_VERSION + 1)).where(Meta.key == "schema_version").execute()
    with pytest.raises(StoreError, match="upgrade mailbox-tui"):
        Store(db_url)


def test_unsupported_url_is_a_clear_error_without_the_password():
    with pytest.raises(StoreError, match="Unsupported database URL") as err:
        Store("mysql://root:hunter2@localhost/x")
    assert "hunter2" not in str(err.value)


# ---------------------------------------------------------------- issue 12: databases that are not ours


def test_schema_version_that_is_not_a_number_is_one_clear_sentence(db_url):
    """Item 13: schema version 'two'."""
    with Store(db_url):
        Meta.update(value="two").where(Meta.key == "schema_version").execute()
    with pytest.raises(StoreError, match="schema version is 'two', not a number"):
        Store(db_url)


def test_foreign_database_with_other_tables_is_refused_and_left_alone(db_url):
    """Item 16: `--db` at someone else's database adds nothing to it."""
    def plain():  # the database as any other program opens it
        if db_url.startswith("sqlite:///"):
            return peewee.SqliteDatabase(db_url.removeprefix("sqlite:///"))
        return make_database(db_url)

    db = plain()
    db.connect()
    db.execute_sql("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total INTEGER)")
    db.close()
    with pytest.raises(StoreError, match="not a mailbox-tui database: it already holds 1 other table"):
        Store(db_url)
    db = plain()
    db.connect()
    try:
        assert db.get_tables() == ["invoices"]
    finally:
        db.close()


@pytest.mark.parametrize("content", [b"just some text\n" * 20, bytes(range(256)) * 20], ids=["text", "random"])
def test_file_that_is_not_sqlite_is_refused_untouched(tmp_path, content):
    """Item 13: a text file or random bytes given as the database."""
    path = tmp_path / "notes.db"
    path.write_bytes(content)
    with pytest.raises(StoreError, match="is not an SQLite database"):
        Store(f"sqlite:///{path}")
    assert path.read_bytes() == content
    assert sorted(p.name for p in tmp_path.iterdir()) == ["home", "notes.db"]  # no -wal, no -shm


def test_truncated_database_is_one_clear_sentence(tmp_path):
    """Item 13: the first pages of a real database, the rest lost."""
    whole = tmp_path / "whole.db"
    with Store(f"sqlite:///{whole}") as store:
        for i in range(40):
            user(store, name=f"User {i}", email=f"user{i}@example.com")
    cut = tmp_path / "cut.db"
    cut.write_bytes(whole.read_bytes()[:12288])
    with pytest.raises(StoreError, match="damaged|malformed"):
        Store(f"sqlite:///{cut}")


def test_sqlite_url_in_a_missing_folder_creates_nothing(tmp_path, monkeypatch):
    """Item 16: `sqlite:///missing-dir/x.db` is a relative path whose folder does not exist."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(StoreError, match="There is no folder .*missing-dir"):
        Store("sqlite:///missing-dir/x.db")
    assert list(tmp_path.iterdir()) == [tmp_path / "home"]
