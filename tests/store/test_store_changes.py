"""Issue 22, item 4: another process's committed write is heard (store/changes.py), on SQLite (data_version)
and PostgreSQL (LISTEN/NOTIFY, sent in the writer's transaction); a write that rolls back is not heard,
and nothing is heard while nothing happens. The writer is a second process: the installed CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest
from support.builders import imap_profile

from mailbox_tui.store import changes
from mailbox_tui.store.database import Store
from mailbox_tui.store.models import AppUser


def cli(*args) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).with_name("mailbox-tui")
    command = [str(exe)] if exe.exists() else [sys.executable, "-m", "mailbox_tui"]
    return subprocess.run([*command, *map(str, args)], capture_output=True, text=True, env=os.environ.copy(),
                          timeout=120, stdin=subprocess.DEVNULL)


class Heard:
    """changes.watch in a thread, as the app runs it: the times it yielded."""

    def __init__(self, store):
        self.stop, self.times = threading.Event(), []
        self.thread = threading.Thread(target=self._run, args=(store,), daemon=True)
        self.thread.start()
        time.sleep(1.5)  # listening (PostgreSQL) / the first data_version read (SQLite)

    def _run(self, store):
        for _ in changes.watch(store, self.stop):
            self.times.append(time.monotonic())

    def close(self):
        self.stop.set()
        self.thread.join(10)
        assert not self.thread.is_alive()


def _import(tmp_path, url, name: str) -> float:
    doc = tmp_path / f"{name}.json"
    doc.write_text(json.dumps({"users": [{"fullname": name.title(), "internalemailaddress": f"{name}@example.com"}]}))
    done = cli("import", doc, "--db", url)
    assert done.returncode == 0, done.stderr
    return time.monotonic()


def test_another_process_committing_is_heard_within_two_seconds(store, db_url, tmp_path):
    imap_profile(store)
    heard = Heard(store)
    try:
        time.sleep(1.5)
        assert heard.times == []  # nothing happened: nothing heard
        written = _import(tmp_path, db_url, "bea")
        deadline = written + 2.0
        while not heard.times and time.monotonic() < deadline:
            time.sleep(0.05)
        assert heard.times, "not heard within 2 s"
        assert heard.times[0] - written < 2.0
    finally:
        heard.close()


def test_a_refused_write_is_not_heard(store, db_url, tmp_path):
    heard = Heard(store)
    try:
        bad = tmp_path / "bad.json"
        bad.write_text(json.dumps({"users": [{"fullname": "", "internalemailaddress": "nobody"}]}))
        refused = cli("import", bad, "--db", db_url)
        assert refused.returncode == 1
        time.sleep(2.5)
        assert heard.times == []
        assert AppUser.select().count() == 0
    finally:
        heard.close()


def test_a_listener_that_lost_its_server_listens_again(tmp_path):
    """PostgreSQL restarted under the listener: it reconnects by itself and hears the next write."""
    from support.postgres import available, restart_postgres, start_postgres, stop_postgres

    if not available():
        pytest.skip("needs a PostgreSQL server binary to restart")
    url, handle = start_postgres(tempfile.mkdtemp(prefix="mailbox-tui-listen-"))
    try:
        with Store(url) as store:
            heard = Heard(store)
            try:
                restart_postgres(handle, 1.0)
                time.sleep(changes.RETRY_S + 1.5)
                heard.times.clear()  # (it says once that it missed what happened meanwhile)
                written = _import(tmp_path, url, "cai")
                deadline = written + 3.0
                while not heard.times and time.monotonic() < deadline:
                    time.sleep(0.05)
                assert heard.times, "not heard after the restart"
            finally:
                heard.close()
    finally:
        stop_postgres(handle)
