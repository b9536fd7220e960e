"""Credentials at rest: key file, key check, rotation."""

from __future__ import annotations

import os
import sqlite3
import stat

import pytest
from support.builders import forward_draft, imap_profile, user

from mailbox_tui.store import services
from mailbox_tui.store.crypto import KEY_ENV, KeyError_, SecretUnreadable, load_keyring
from mailbox_tui.store.database import Store
from mailbox_tui.store.rotation import rotate_key


@pytest.fixture
def key_file(tmp_path, monkeypatch):
    monkeypatch.delenv(KEY_ENV, raising=False)
    return tmp_path / "conf" / "secret.key"


def test_key_file_created_on_first_run_with_mode_0600(key_file):
    ring = load_keyring(key_file)
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert ring.decrypt(ring.encrypt("x")) == "x"
    assert load_keyring(key_file).keys == ring.keys  # the same key next time


def test_key_file_readable_by_others_is_refused_with_the_fix(key_file):
    load_keyring(key_file)
    os.chmod(key_file, 0o644)
    with pytest.raises(KeyError_, match="chmod 600"):
        load_keyring(key_file)


def test_wrong_key_gives_one_clear_message_and_records_still_open(sqlite_url, monkeypatch):
    with Store(sqlite_url) as store:
        alice, _ = user(store)
        box = services.create_forward_mailbox(store, forward_draft(alice.id, imap_profile(store).id))
    from cryptography.fernet import Fernet

    monkeypatch.setenv(KEY_ENV, Fernet.generate_key().decode())
    with Store(sqlite_url) as store:
        assert not store.key_ok
        assert "stored passwords can't be read" in store.key_message
        opened = services.get_mailbox(store, box.id)
        assert opened.name == "Forward collector"
        assert opened.password.stored and not opened.password.readable
        with pytest.raises(SecretUnreadable):
            services.mailbox_password(store, box.id)


def test_rotate_key_reencrypts_every_secret_and_old_key_no_longer_reads(sqlite_url, key_file, tmp_path):
    with Store(sqlite_url, key_path=key_file) as store:
        alice, _ = user(store)
        box = services.create_forward_mailbox(store, forward_draft(alice.id, imap_profile(store).id))
        old_keys = list(store.keyring.keys)
        before = _column(sqlite_url, box.id)
        count, where = rotate_key(store)
        assert count == 1 and where == key_file
        assert services.mailbox_password(store, box.id) == "s3cret-forward"
    assert _column(sqlite_url, box.id) != before
    assert load_keyring(key_file).keys != old_keys
    assert not key_file.with_name("secret.key.new").exists()
    with Store(sqlite_url, key_path=key_file) as store:
        assert store.key_ok
        assert services.mailbox_password(store, box.id) == "s3cret-forward"


def test_interrupted_rotation_leaves_a_readable_database(sqlite_url, key_file):
    """A crash after commit but before the key file is renamed: both files are read at start."""
    with Store(sqlite_url, key_path=key_file) as store:
        alice, _ = user(store)
        box = services.create_forward_mailbox(store, forward_draft(alice.id, imap_profile(store).id))
        rotate_key(store)
    # Simulate the crash: put the new key back as .new and an old key in the key file.
    new = key_file.read_text()
    key_file.with_name("secret.key.new").write_text(new)
    os.chmod(key_file.with_name("secret.key.new"), 0o600)
    from cryptography.fernet import Fernet

    key_file.write_text(Fernet.generate_key().decode())
    with Store(sqlite_url, key_path=key_file) as store:
        assert store.key_ok
        assert services.mailbox_password(store, box.id) == "s3cret-forward"


def _column(url: str, mailbox_id: int) -> str:
    con = sqlite3.connect(url.removeprefix("sqlite:///"))
    try:
        return con.execute("select password_enc from mailbox where id=?", (mailbox_id,)).fetchone()[0]
    finally:
        con.close()
