"""The real app on a real SQLite file, driven by keystrokes."""

from __future__ import annotations

import pytest
from support.ui import seed_small_org

from mailbox_tui.store.database import Store
from mailbox_tui.ui.app import MailboxApp


@pytest.fixture
def ui_store(sqlite_url):
    store = Store(sqlite_url)
    store.seeded = seed_small_org(store)
    yield store
    store.close()


@pytest.fixture
def app(ui_store):
    return MailboxApp(ui_store, acting="alice@example.com")
