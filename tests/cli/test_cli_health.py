"""`mailbox-tui health` (issue 24 item 6), in its own process: the monitoring plugins' exit convention
(0 OK, 1 retrying, 2 disabled by failures, 3 unknown), --json, and --prometheus's text format."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from support import builders

from mailbox_tui.domain.failures import CAUSE
from mailbox_tui.domain.options import TestStatus
from mailbox_tui.store import services
from mailbox_tui.store.database import Store
from mailbox_tui.store.models import utcnow


def cli(*args) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).with_name("mailbox-tui")
    command = [str(exe)] if exe.exists() else [sys.executable, "-m", "mailbox_tui"]
    return subprocess.run([*command, *map(str, args)], capture_output=True, text=True, env=os.environ.copy(),
                          timeout=120, stdin=subprocess.DEVNULL)


def record(store, mailbox_id, status, cause=None):
    services.record_test_results(store, mailbox_id, {"incoming_status": status}, [], utcnow(),
                                 causes={"incoming_status": CAUSE[cause] if cause else None},
                                 messages={"incoming_status": "said"})


@pytest.fixture
def org(sqlite_url):
    store = Store(sqlite_url)
    profile = builders.imap_profile(store, 'Corporate "IMAP"\\')  # a quote and a backslash, to be escaped
    ids = []
    for name in ("alice", "bob"):
        _, mailbox = builders.user(store, name.title(), f"{name}@example.com")
        services.update_mailbox(store, mailbox, mailbox.copy(profile_id=profile.id))
        ids.append(mailbox.id)
    record(store, ids[0], TestStatus.SUCCESS)
    record(store, ids[1], TestStatus.SUCCESS)
    yield store, sqlite_url, ids
    store.close()


def test_nothing_failing_is_0_retrying_is_1_disabled_by_failures_is_2(org):
    store, url, (alice, bob) = org
    done = cli("--db", url, "health")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("MAILBOX-TUI OK - 2 mailboxes, 0 retrying, 0 disabled by failures")
    record(store, bob, TestStatus.FAILURE, "connect-refused")
    assert cli("--db", url, "health").returncode == 1
    record(store, alice, TestStatus.FAILURE, "credentials")
    done = cli("--db", url, "--json", "health")
    assert done.returncode == 2
    said = json.loads(done.stdout)
    assert (said["status"], said["state"]) == (2, "CRITICAL")
    [profile] = said["profiles"]
    assert {k: profile[k] for k in ("mailboxes", "enabled", "failing", "retrying", "disabled", "failed_1h",
                                    "tested_1h", "flagged")} == {
        "mailboxes": 2, "enabled": 1, "failing": 2, "retrying": 1, "disabled": 1, "failed_1h": 2, "tested_1h": 2,
        "flagged": True}


def test_prometheus_text_names_every_metric_and_escapes_the_profile(org):
    store, url, (alice, bob) = org
    record(store, bob, TestStatus.FAILURE, "connect-refused")
    done = cli("--db", url, "health", "--prometheus")
    assert done.returncode == 1
    samples = [line for line in done.stdout.splitlines() if line and not line.startswith("#")]
    assert all(re.fullmatch(r'mailbox_tui_[a-z0-9_]+(\{profile="(?:[^"\\]|\\.)*"\})? -?[0-9.e+]+', s)
               for s in samples), samples
    assert 'mailbox_tui_mailboxes_retrying{profile="Corporate \\"IMAP\\"\\\\"} 1' in samples
    assert "mailbox_tui_health_status 1" in samples
    from mailbox_tui.cli_health import METRICS

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    assert all(f"`{name}`" in readme for name in [*METRICS, "mailbox_tui_health_status"])  # documented


def test_a_database_that_cannot_be_read_and_a_usage_error_are_unknown(tmp_path, org):
    done = cli("--db", f"sqlite:///{tmp_path / 'missing' / 'none.db'}", "health")
    assert done.returncode == 3 and "health UNKNOWN" in done.stderr
    (tmp_path / "junk.db").write_bytes(b"not a database at all" * 100)
    assert cli("--db", f"sqlite:///{tmp_path / 'junk.db'}", "health").returncode == 3
    assert cli("--db", org[1], "health", "--no-such-option").returncode == 3
