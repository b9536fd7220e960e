"""Schema versions: a new database is created at the latest version; a newer one is refused."""

from __future__ import annotations

import pytest
from support.builders import user

from mailbox_tui.store.database import SCHEMA_VERSION, Store, StoreError, schema_version
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
