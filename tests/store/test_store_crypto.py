"""Credentials at rest: key file, key check, rotation."""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import sys

import pytest
from cryptography.fernet import Fernet
from support.builders import forward_draft, imap_profile, user

from mailbox_tui.domain.records import PasswordEdit
from mailbox_tui.store import services
from mailbox_tui.store.crypto import KEY_ENV, KeyFileError, SecretUnreadable, read_key_file
from mailbox_tui.store.database import Store, StoreError
from mailbox_tui.store.exchange import import_document
from mailbox_tui.store.models import AppUser, EmailServerProfile
from mailbox_tui.store.rotation import rotate_key


@pytest.fixture
def key_file(tmp_path, monkeypatch):
    monkeypatch.delenv(KEY_ENV, raising=False)
    (tmp_path / "conf").mkdir(mode=0o700)
    return tmp_path / "conf" / "secret.key"


def test_key_file_created_on_first_run_with_mode_0600(key_file):
    from mailbox_tui.store.crypto import choose_keys

    ring = choose_keys(key_file, None).keyring
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert ring.decrypt(ring.encrypt("x")) == "x"
    assert choose_keys(key_file, None).keyring.keys == ring.keys  # the same key next time


def test_key_file_readable_by_others_is_refused_with_the_fix(key_file):
    from mailbox_tui.store.crypto import choose_keys

    choose_keys(key_file, None)
    os.chmod(key_file, 0o644)
    with pytest.raises(KeyFileError, match="chmod 600"):
        choose_keys(key_file, None)


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
    assert read_key_file(key_file) != old_keys
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


# ---------------------------------------------------------------- issue 12: keys that match the database


def _cli(*args, env=None) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, "-m", "mailbox_tui", *map(str, args)], capture_output=True, text=True,
                            env=env or os.environ.copy(), timeout=60, stdin=subprocess.DEVNULL)
    assert "Traceback" not in result.stderr, result.stderr
    return result


def _forward_box(store):
    alice, _ = user(store)
    return services.create_forward_mailbox(store, forward_draft(alice.id, imap_profile(store).id))


def test_rotation_committed_but_not_renamed_is_finished_on_next_start(sqlite_url, key_file):
    """Item 6: the state a rotation killed at its rename leaves: the database is under `.new`."""
    with Store(sqlite_url, key_path=key_file) as store:
        box = _forward_box(store)
    old = key_file.read_text()
    pending = key_file.with_name("secret.key.new")
    with Store(sqlite_url, key_path=key_file) as store:
        rotate_key(store)
    os.replace(key_file, pending)  # put the files back as the kill left them: new key in .new, old in the file
    key_file.write_text(old)
    os.chmod(key_file, 0o600)
    with Store(sqlite_url, key_path=key_file) as store:
        assert store.key_ok
        assert services.mailbox_password(store, box.id) == "s3cret-forward"
        assert not pending.exists() and key_file.read_text() != old  # the rename is finished
        assert any("Finished an interrupted key rotation" in n for n in store.key_notes)
    with Store(sqlite_url, key_path=key_file) as store:
        assert store.key_notes == []
        rotate_key(store)  # and a later rotation works from there
        assert services.mailbox_password(store, box.id) == "s3cret-forward"


def test_rotation_never_removes_a_pending_key_that_reads_the_database(sqlite_url, key_file):
    """Item 6: a `.new` that reads the database is its key: a rotation refuses rather than delete it."""
    with Store(sqlite_url, key_path=key_file) as store:
        box = _forward_box(store)
        pending = key_file.with_name("secret.key.new")
        pending.write_text(key_file.read_text())  # the database's key, also in .new (say a rename that failed)
        os.chmod(pending, 0o600)
        with pytest.raises(StoreError, match="holds this database's key"):
            rotate_key(store)
    assert pending.exists()
    with Store(sqlite_url, key_path=key_file) as store:
        assert services.mailbox_password(store, box.id) == "s3cret-forward"


def test_rotation_refuses_while_a_password_is_unreadable_and_changes_nothing(sqlite_url, key_file):
    with Store(sqlite_url, key_path=key_file) as store:
        box = _forward_box(store)
    foreign = Fernet(Fernet.generate_key()).encrypt(b"written under another key").decode()
    con = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"))
    con.execute("update mailbox set password_enc=? where id=?", (foreign, box.id))
    con.commit()
    con.close()
    key_before = key_file.read_text()
    with Store(sqlite_url, key_path=key_file) as store:
        with pytest.raises(StoreError, match="can't be read with the current key"):
            rotate_key(store)
    assert key_file.read_text() == key_before and not key_file.with_name("secret.key.new").exists()
    assert _column(sqlite_url, box.id) == foreign


def test_session_opened_before_a_rotation_saves_under_the_new_key(db_url, key_file):
    """Item 7 (design: re-load). The app's session keeps its store open while another process rotates
    the key; its next password save notices the key-check value changed, finds the new key in the
    key file, and encrypts under it."""
    store = Store(db_url, key_path=key_file)
    try:
        box = _forward_box(store)
        rotated = _cli("rotate-key", "--db", db_url, "--key-file", key_file,
                       env={k: v for k, v in os.environ.items() if k != KEY_ENV})
        assert rotated.returncode == 0, rotated.stderr
        base = services.get_mailbox(store, box.id)
        services.update_mailbox(store, base, base.copy(password=PasswordEdit(new="after-rotation")))
    finally:
        store.close()
    with Store(db_url, key_path=key_file) as fresh:
        assert services.mailbox_password(fresh, box.id) == "after-rotation"


def test_session_whose_key_was_rotated_away_refuses_to_save_a_password(db_url, tmp_path, monkeypatch):
    """Item 7: the key is in $MAILBOX_TUI_KEY, which this process cannot re-read: refuse, clearly."""
    store = Store(db_url)
    try:
        box = _forward_box(store)
        rotated = _cli("rotate-key", "--db", db_url, "--out", tmp_path / "new.key")
        assert rotated.returncode == 0, rotated.stderr
        base = services.get_mailbox(store, box.id)
        with pytest.raises(StoreError, match="changed .*since this session started"):
            services.update_mailbox(store, base, base.copy(password=PasswordEdit(new="after-rotation")))
        services.update_mailbox(store, base, base.copy(name="Renamed"))  # a save without a secret still works
    finally:
        store.close()
    monkeypatch.setenv(KEY_ENV, (tmp_path / "new.key").read_text().strip())
    with Store(db_url) as fresh:
        assert services.mailbox_password(fresh, box.id) == "s3cret-forward"
        assert services.get_mailbox(fresh, box.id).name == "Renamed"


def test_no_secret_is_written_under_a_key_that_does_not_match(db_url, monkeypatch):
    """Item 8: the guard sits where secrets are encrypted, so a form save, a new profile and an import
    are all refused, and nothing of them is written."""
    with Store(db_url) as store:
        box = _forward_box(store)
    monkeypatch.setenv(KEY_ENV, Fernet.generate_key().decode())
    with Store(db_url) as store:
        assert not store.key_ok
        base = services.get_mailbox(store, box.id)
        with pytest.raises(StoreError, match="A team shares one key"):
            services.update_mailbox(store, base, base.copy(name="Changed", password=PasswordEdit(new="x1")))
        with pytest.raises(StoreError):
            imap_profile(store, name="Second", auth_method=1, username="svc", password=PasswordEdit(new="x2"))
        doc = {"users": [{"fullname": "Bob Dahl", "internalemailaddress": "bob@example.com"}],
               "mailboxes": [{"regarding": {"user": "bob@example.com"}, "allowemailconnectortousecredentials": True,
                              "username": "bob", "password": "x3"}]}
        with pytest.raises(StoreError):
            import_document(store, doc)
        assert services.get_mailbox(store, box.id).name == "Forward collector"
        assert EmailServerProfile.select().count() == 1 and AppUser.select().count() == 1
        saved = services.update_mailbox(store, base, base.copy(name="Renamed"))  # no secret: allowed
        assert saved.name == "Renamed"


def test_key_file_readable_by_its_group_is_accepted_and_by_others_refused(sqlite_url, key_file):
    """Item 8: a team shares a key file through its group (0640); never through others."""
    with Store(sqlite_url, key_path=key_file) as store:
        box = _forward_box(store)
    os.chmod(key_file, 0o640)
    with Store(sqlite_url, key_path=key_file) as store:
        assert store.key_ok and services.mailbox_password(store, box.id) == "s3cret-forward"
    for mode, fix in ((0o644, "chmod 600"), (0o604, "chmod 600"), (0o660, "chmod 640")):
        os.chmod(key_file, mode)
        with pytest.raises(KeyFileError, match=fix):
            Store(sqlite_url, key_path=key_file)


@pytest.mark.parametrize("content", [b"\xff\xfe\x00key", "clé-ünïcode".encode(), b"", b"x" * 100_000],
                         ids=["binary", "non-ascii", "empty", "huge"])
def test_key_file_that_is_not_a_key_is_one_clear_sentence(sqlite_url, key_file, content):
    """Item 13: non-ASCII bytes (and other non-keys) in the key file."""
    key_file.write_bytes(content)
    os.chmod(key_file, 0o600)
    with pytest.raises(KeyFileError, match="not a mailbox-tui key file|No key found|not a valid Fernet key"):
        Store(sqlite_url, key_path=key_file)


def test_key_file_path_mistakes_create_nothing(sqlite_url, tmp_path, monkeypatch):
    """Item 16: a missing folder is not created; a folder is not a key file (no `chmod 600 /tmp`)."""
    monkeypatch.delenv(KEY_ENV)
    with pytest.raises(KeyFileError, match="There is no folder .*missing"):
        Store(sqlite_url, key_path=tmp_path / "missing" / "dir" / "key")
    assert not (tmp_path / "missing").exists()
    with pytest.raises(KeyFileError, match="is a folder, not a key file") as err:
        Store(sqlite_url, key_path=tmp_path)
    assert "chmod" not in str(err.value)


def test_missing_key_file_for_a_database_with_secrets_creates_no_key(sqlite_url, tmp_path, monkeypatch):
    """Items 8 and 16: a new key could never read this database; say what to do instead."""
    with Store(sqlite_url) as store:
        _forward_box(store)
    monkeypatch.delenv(KEY_ENV)
    default_key = tmp_path / "home" / ".config" / "mailbox-tui" / "secret.key"  # see conftest.isolated_env
    with Store(sqlite_url) as store:  # the records still open, to look at
        assert not store.key_ok
        assert "no key file" in store.key_message and "A team shares one key" in store.key_message
    assert not default_key.exists() and not default_key.parent.exists()
    (tmp_path / "conf").mkdir(exist_ok=True)
    named = tmp_path / "conf" / "mine.key"
    with pytest.raises(KeyFileError, match="There is no key file at .*mine.key"):  # a key file named but missing
        Store(sqlite_url, key_path=named)
    assert not named.exists()


def test_rotating_a_team_key_keeps_it_the_teams(sqlite_url, key_file, tmp_path):
    """Item 8: a key shared through its group (0640), reached through a symlink, stays shared after
    rotate-key: same group, same mode, the shared file itself updated (not the link replaced)."""
    team = tmp_path / "team"
    team.mkdir()
    shared = team / "team.key"
    with Store(sqlite_url, key_path=shared) as store:
        box = _forward_box(store)
    group = 100 if os.geteuid() == 0 else os.getegid()  # root can give it any group
    os.chown(shared, -1, group)
    os.chmod(shared, 0o640)
    key_file.symlink_to(shared)
    old = shared.read_text()
    with Store(sqlite_url, key_path=key_file) as store:
        rotate_key(store)
    assert key_file.is_symlink() and shared.read_text() != old
    assert stat.S_IMODE(shared.stat().st_mode) == 0o640 and shared.stat().st_gid == group
    assert sorted(p.name for p in team.iterdir()) == ["team.key"]
    with Store(sqlite_url, key_path=shared) as store:
        assert services.mailbox_password(store, box.id) == "s3cret-forward"
