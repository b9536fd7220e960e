"""Issue 22, item 2, in the app: PostgreSQL restarting (or down for a while) under an open app is met
with a sentence, never a traceback, and the app carries on once the server is back. The installed app in
a real pseudo-terminal, on a PostgreSQL cluster of this module's own, really restarted."""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import threading
import time

import pytest
from cryptography.fernet import Fernet
from support.postgres import available, restart_postgres, start_postgres, stop_postgres
from support.terminal import TerminalApp
from support.ui import seed_small_org

from mailbox_tui.domain.records import UserDraft
from mailbox_tui.store import services
from mailbox_tui.store.database import Store
from mailbox_tui.store.models import AppUser

pytestmark = [pytest.mark.postgres,
              pytest.mark.skipif(not available(), reason="needs a PostgreSQL server binary to restart")]


KEY = Fernet.generate_key().decode()  # the module's database is seeded and opened with one key


@pytest.fixture(scope="module")
def own_server():
    url, handle = start_postgres(tempfile.mkdtemp(prefix="mailbox-tui-ui-restart-"))
    try:
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("MAILBOX_TUI_KEY", KEY)
            with Store(url) as store:
                seed_small_org(store)
        yield url, handle
    finally:
        stop_postgres(handle)


def _app(url: str, tmp_path) -> TerminalApp:
    log = tmp_path / "app.log"
    return TerminalApp(["--db", url, "--as", "alice@example.com", "--log", str(log)], {"MAILBOX_TUI_KEY": KEY}), log


def _no_traceback(app: TerminalApp) -> None:
    screen = app.text()
    assert "Traceback" not in screen and "OperationalError" not in screen, screen
    assert app.proc.isalive(), screen


def test_a_restart_between_keys_is_not_noticed(own_server, tmp_path):
    url, handle = own_server
    app, _ = _app(url, tmp_path)
    try:
        app.wait_for("Alice Berg", timeout=30)
        restart_postgres(handle)
        for key in ("2", "1", "f5", "enter"):
            app.press(key)
            app.wait_quiet(0.5, timeout=30)
            _no_traceback(app)
        app.press("escape")
        app.wait_for("Alice Berg", timeout=30)
    finally:
        app.close()


def test_keys_while_the_server_is_down_get_a_sentence_and_the_app_carries_on(own_server, tmp_path):
    url, handle = own_server
    app, log = _app(url, tmp_path)
    try:
        app.wait_for("Alice Berg", timeout=30)
        down = threading.Thread(target=restart_postgres, args=(handle, 8.0))
        down.start()
        time.sleep(2.0)  # the server is stopped now, for 8 s
        for key in ("2", "f5", "1"):
            app.press(key)
            app.wait_quiet(0.5, timeout=60)
            _no_traceback(app)
        app.wait_for(lambda s: "can't be reached" in s or "unreachable" in s, timeout=30)
        down.join(120)
        app.press("f5")
        app.wait_for("Alice Berg", timeout=60)
        _no_traceback(app)
    finally:
        app.close()
    assert "Traceback" in log.read_text() or "reach" in log.read_text()  # the details went to the log


def test_a_save_while_the_server_is_down_keeps_the_edits_and_saves_once_it_is_back(own_server, tmp_path):
    url, handle = own_server
    app, _ = _app(url, tmp_path)
    try:
        app.wait_for("Alice Berg", timeout=30)
        app.press("3")  # Users
        app.wait_for("Bob Dahl", timeout=30)
        app.press("down")  # Alice, Bob, Carol: Bob
        app.press("enter")
        app.wait_for("Full Name", timeout=30)
        app.press("end", *" Jr")
        app.wait_quiet(0.5)
        down = threading.Thread(target=restart_postgres, args=(handle, 6.0))
        down.start()
        time.sleep(2.0)
        app.press("ctrl+s")
        app.wait_for(lambda s: "not saved" in s.lower() or "Not saved" in s, timeout=30)
        _no_traceback(app)
        assert "Bob Dahl Jr" in app.text()  # the edit is still on screen
        down.join(120)
        app.press("ctrl+s")
        app.wait_for("Saved", timeout=60)
    finally:
        app.close()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MAILBOX_TUI_KEY", KEY)
        store = Store(url)
    with store:
        assert AppUser.get(AppUser.email_key == "bob@example.com").full_name == "Bob Dahl Jr"
        bob = services.get_user(store, services.user_id_for_email("bob@example.com"))
        services.update_user(store, bob, UserDraft(**{**bob.__dict__, "full_name": "Bob Dahl"}))


# ---------------------------------------------------------------- `mailbox-tui test --all` across a restart


def test_a_test_run_across_a_restart_records_every_result_or_names_it(own_server, tmp_path):
    """Before: "Database …: the connection is closed", exit 1, 30 of 59 results recorded and 29 neither
    recorded nor named. Now the run goes on; a result waits for the server and is recorded once it is
    back, and whatever could not be is named with its reason."""
    from support.hostile import HostileServer
    from support.terminal import console_script

    from mailbox_tui.domain.options import AuthMethod, ServerType, TlsMode
    from mailbox_tui.domain.records import MailboxDraft, PasswordEdit, ProfileDraft
    from mailbox_tui.store.models import Mailbox

    url, handle = own_server
    with HostileServer(lambda session: session.sleep(30), lifetime=120) as slow, \
            pytest.MonkeyPatch.context() as mp:
        mp.setenv("MAILBOX_TUI_KEY", KEY)
        with Store(url) as store:
            Mailbox.delete().where(Mailbox.name.startswith("Slow ")).execute()
            profile = services.create_profile(store, ProfileDraft(
                name=f"Slow {slow.port}", server_type=ServerType.IMAP_SMTP, incoming_location="127.0.0.1",
                incoming_port=slow.port, incoming_tls=TlsMode.NONE, outgoing_location="127.0.0.1",
                outgoing_port=slow.port, outgoing_tls=TlsMode.NONE, timeout_seconds=2,
                auth_method=AuthMethod.USER_OR_QUEUE_CREDENTIALS))
            owner = services.user_id_for_email("alice@example.com")
            ids = [services.create_forward_mailbox(store, MailboxDraft(
                kind=2, name=f"Slow {n:02}", email=f"slow{n:02}@example.com", owner_id=owner,
                profile_id=profile.id, incoming=2, outgoing=0, act=2, delete_after_processing=True,
                allow_credentials=True, username=f"slow{n:02}", password=PasswordEdit(new="pw-12345678"))).id
                   for n in range(12)]
        emails = [f"slow{n:02}@example.com" for n in range(12)]
        run = subprocess.Popen([console_script(), "test", *emails, "--db", url, "--json", "--concurrency", "2"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "MAILBOX_TUI_KEY": KEY})
        time.sleep(3.0)
        restart_postgres(handle, 4.0)
        out, err = run.communicate(timeout=240)
    assert "Traceback" not in err, err
    report = json.loads(out)
    named = {n["id"]: n["reason"] for n in report["not_run"]}
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MAILBOX_TUI_KEY", KEY)
        store = Store(url)
    with store:
        recorded = {m.id for m in Mailbox.select().where(Mailbox.id.in_(ids), Mailbox.test_completed_on.is_null(False))}
    assert set(ids) == recorded | set(named), (recorded, named)  # each recorded, or named with why
    assert report["tested"] + len(named) == len(ids)
    assert recorded, "the results that waited for the server were recorded once it was back"
    assert all("database" in why for mid, why in named.items() if mid not in recorded), named
