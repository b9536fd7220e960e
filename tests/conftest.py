"""Shared fixtures: an isolated environment per test, and a store on each real backend."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

pytest_plugins = ["support.postgres", "support.mailservers", "support.oauth", "support.graph", "support.kerberos",
                  "support.ews"]


@pytest.fixture(autouse=True)
def isolated_env(tmp_path, monkeypatch):
    """No test reads or writes the real config/data directories; each has its own key."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
    monkeypatch.setenv("MAILBOX_TUI_KEY", Fernet.generate_key().decode())
    for name in ("MAILBOX_TUI_DB", "MAILBOX_TUI_LOG"):
        monkeypatch.delenv(name, raising=False)
    # Kerberos (EWS, Windows Integrated Authentication): never this machine's krb5.conf, keytab or ticket; the
    # `kerberos` fixture (support/kerberos.py) points these at its test KDC.
    (home / "krb5.conf").write_text("[libdefaults]\n    dns_lookup_kdc = false\n    dns_lookup_realm = false\n")
    monkeypatch.setenv("KRB5_CONFIG", str(home / "krb5.conf"))
    monkeypatch.setenv("KRB5CCNAME", f"FILE:{home / 'no-ticket.ccache'}")
    monkeypatch.setenv("KRB5_KTNAME", f"FILE:{home / 'no.keytab'}")
    monkeypatch.setenv("KRB5RCACHEDIR", str(home))
    # English unless a test asks for Swedish, whatever locale the machine running the tests has; and
    # a test that switched this process's language leaves it English for the next.
    monkeypatch.setenv("LANG", "C.UTF-8")
    for name in ("LC_ALL", "LC_MESSAGES", "LANGUAGE"):
        monkeypatch.delenv(name, raising=False)
    from mailbox_tui import i18n

    i18n.use(i18n.ENGLISH)
    yield home
    i18n.use(i18n.ENGLISH)


@pytest.fixture
def swedish():
    """The app's words in Swedish for this test (the fixture above puts English back after it)."""
    from mailbox_tui import i18n

    i18n.use(i18n.SWEDISH)


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'mailboxes.db'}"


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request, tmp_path) -> str:
    """The same test on a real SQLite file and on a real PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'mailboxes.db'}"
    return request.getfixturevalue("pg_database_url")


@pytest.fixture
def store(db_url):
    from mailbox_tui.store.database import Store

    s = Store(db_url)
    yield s
    s.close()
