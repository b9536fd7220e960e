"""Test & Enable fixtures: a SQLite store, and the real test servers with their certificate trusted."""

from __future__ import annotations

import pytest


@pytest.fixture
def sqlite_store(sqlite_url):
    from mailbox_tui.store.database import Store

    s = Store(sqlite_url)
    yield s
    s.close()


@pytest.fixture
def servers(dovecot, smtp_servers, trust_mail_certificate):
    """Both servers, with the test certificate trusted."""
    return dovecot, smtp_servers
