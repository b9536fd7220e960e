"""Issue 22, item 1: bulk writes (Apply Default Email Settings, approve, deactivate) are atomic against
a concurrent save, on PostgreSQL with real processes.

Admin A's app runs the bulk write in a process of its own (support/bulk_writer.py); admin B saves
through the services in this process. Each race is forced at one step: B's save lands between A's
preview and its apply, or while A's apply waits inside its transaction, or is open when A starts; or
A holds its rows and B's save comes. Before, the defaults went over a mailbox B had just saved, and a
bulk write that waited for B's save recorded B's change as its own, so undoing it took B's change back.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest

psycopg = pytest.importorskip("psycopg")

from support.builders import imap_profile, user
from support.races import Observer, RowHold, until

from mailbox_tui.domain.options import ApprovalStatus, RecordState
from mailbox_tui.store import services
from mailbox_tui.store.database import ConflictError, Store
from mailbox_tui.store.history import APPLY_DEFAULTS, ChangeEntry
from mailbox_tui.store.models import Mailbox
from mailbox_tui.store.undo import undo

WRITER = Path(__file__).parents[1] / "support" / "bulk_writer.py"


class OtherApp:
    """Admin A's app: the bulk writes in a process of its own, one command at a time."""

    def __init__(self, url: str):
        self.process = subprocess.Popen([sys.executable, str(WRITER), url], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, text=True)
        self.pid = self._answer()["pid"]

    def send(self, what: str, ids=(), **more) -> None:
        self.process.stdin.write(json.dumps({"do": what, "ids": list(ids), **more}) + "\n")
        self.process.stdin.flush()

    def run(self, what: str, ids=(), **more) -> dict:
        self.send(what, ids, **more)
        return self._answer()

    def _answer(self) -> dict:
        line = self.process.stdout.readline()
        assert line, f"the other app ended (exit {self.process.wait(timeout=30)})"
        return json.loads(line)

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait(timeout=60)


@pytest.fixture
def team(pg_database_url):
    """Two users' mailboxes that need the organisation's new defaults, a second profile, and A's app."""
    store = Store(pg_database_url)
    store.actor = "b@example.com"
    _, alice_box = user(store)
    _, bob_box = user(store, "Bob Stone", "bob@example.com")
    default = imap_profile(store)
    branch = imap_profile(store, "Branch IMAP", incoming_location="imap.branch.example.com",
                          outgoing_location="smtp.branch.example.com")
    org = services.org_settings(store)
    services.update_org_settings(store, org, services.OrgSettings(**{
        **org.__dict__, "default_profile_id": default.id, "default_incoming": 2, "default_outgoing": 0}))
    other = OtherApp(pg_database_url)
    observer = Observer(pg_database_url)
    yield store, other, observer, alice_box.id, bob_box.id, default.id, branch.id
    other.close()
    observer.close()
    store.close()


def save_profile(store, mailbox_id: int, profile_id: int) -> None:
    """B's save on the mailbox form: another profile, server-side sync."""
    base = services.get_mailbox(store, mailbox_id)
    services.update_mailbox(store, base, base.copy(profile_id=profile_id, incoming=2))


def test_a_save_between_the_preview_and_the_apply_makes_the_apply_refuse_naming_it(team):
    store, other, _, alice, bob, default, branch = team
    assert set(other.run("preview", [alice, bob])["changes"]) == {str(alice), str(bob)}
    save_profile(store, bob, branch)  # B: "Saved"
    refused = other.run("apply", [alice, bob])["refused"]
    assert "Mailbox 'Bob Stone'" in refused and "since the preview" in refused, refused
    assert "(Server Profile, Incoming Email): nothing was applied" in refused, refused
    assert Mailbox.get_by_id(bob).profile_id == branch  # B's save stands
    assert Mailbox.get_by_id(alice).profile_id is None  # and nothing else was applied
    assert not ChangeEntry.select().where(ChangeEntry.action == APPLY_DEFAULTS).exists()


def test_a_save_that_lands_while_the_apply_waits_inside_its_transaction_makes_it_refuse(team):
    store, other, observer, alice, bob, default, branch = team
    other.run("preview", [alice, bob])
    hold = RowHold(store.url, "mailbox", alice)  # the apply's first mailbox: it waits there
    try:
        other.send("apply", [alice, bob])
        until(lambda: observer.waits(other.pid), what="the apply to wait on Alice's mailbox")
        save_profile(store, bob, branch)  # B saves the second one meanwhile: not locked yet
    finally:
        hold.release()
    refused = other._answer()["refused"]
    assert "Mailbox 'Bob Stone'" in refused and "since the preview" in refused, refused
    assert Mailbox.get_by_id(bob).profile_id == branch  # before: the defaults went over B's save
    assert Mailbox.get_by_id(alice).profile_id is None


@pytest.mark.parametrize("bulk, field", [("approve", "approval"), ("deactivate", "state")])
def test_a_bulk_write_that_waited_for_a_save_records_only_its_own_change(team, bulk, field):
    store, other, observer, alice, bob, default, branch = team
    with store.transaction():  # B's save is made, its lock held, not yet committed
        save_profile(store, bob, branch)
        other.send(bulk, [bob])
        until(lambda: observer.waits(other.pid), what=f"the {bulk} to wait on B's save")
    assert other._answer() == {"count": 1}
    row = Mailbox.get_by_id(bob)
    assert (row.profile_id, row.approval if bulk == "approve" else row.state) == (
        branch, ApprovalStatus.APPROVED if bulk == "approve" else RecordState.INACTIVE)
    entry = ChangeEntry.select().where(ChangeEntry.action == bulk).get()
    assert [c[0] for c in json.loads(entry.changes)] == [field]  # before: B's profile and Incoming too
    undo(store, entry.id)  # so undoing it puts back only what it changed
    assert Mailbox.get_by_id(bob).profile_id == branch


def test_a_save_that_comes_while_the_apply_holds_its_mailboxes_waits_and_is_refused(team):
    store, other, observer, alice, bob, default, branch = team
    other.run("preview", [alice, bob])
    base = services.get_mailbox(store, bob)  # B opened the form before
    other.run("begin")
    assert other.run("apply", [alice, bob]) == {"count": 2}  # written, held, not committed
    outcome: dict = {}

    def save() -> None:
        try:
            services.update_mailbox(store, base, base.copy(profile_id=branch, incoming=2))
            outcome["saved"] = True
        except ConflictError as exc:
            outcome["refused"] = str(exc)

    saver = threading.Thread(target=save)
    saver.start()
    until(lambda: observer.waiting({other.pid}) >= 1 or not saver.is_alive(), what="B's save to wait on the apply")
    assert saver.is_alive(), outcome
    other.run("commit")
    saver.join(timeout=60)
    assert "saved" not in outcome, outcome
    assert "Mailbox 'Bob Stone' was changed by someone else" in outcome["refused"], outcome
    assert Mailbox.get_by_id(bob).profile_id == default  # the apply's, and B was told


@pytest.mark.parametrize("bulk", ["approve", "reject"])
def test_an_approval_that_waited_for_a_change_of_address_refuses_naming_the_mailbox(team, bulk):
    """A approves (rejects) Bob's mailbox as the list showed it, bob@example.com; B is saving a new address
    for it. A's approval waits for B's save, then judges the address now stored: not the one A saw, so
    nothing is approved and A is told which mailbox and why (before: A approved an address never seen)."""
    store, other, observer, alice, bob, default, branch = team
    seen = {alice: "alice@example.com", bob: "bob@example.com"}
    with store.transaction():  # B's save is made, its lock held, not yet committed
        base = services.get_mailbox(store, bob)
        services.update_mailbox(store, base, base.copy(email="bob.stone@elsewhere.example"))
        other.send(bulk, [alice, bob], seen=seen)
        until(lambda: observer.waits(other.pid), what=f"the {bulk} to wait on B's save")
    refused = other._answer()["refused"]
    assert ("Mailbox 'Bob Stone' was changed by someone else since you chose it (Email Address: bob@example.com "
            f"→ bob.stone@elsewhere.example): nothing was {bulk.rstrip('e')}ed; look at its new address first.") == refused
    row = Mailbox.get_by_id(bob)
    assert (row.email, row.approval) == ("bob.stone@elsewhere.example", ApprovalStatus.PENDING)  # M18, B's
    assert Mailbox.get_by_id(alice).approval == ApprovalStatus.PENDING  # nothing else was changed either
    assert not ChangeEntry.select().where(ChangeEntry.action == bulk).exists()
    # Seen as it is now, it is approved.
    assert other.run(bulk, [bob], seen={bob: "bob.stone@elsewhere.example"}) == {"count": 1}


def test_an_approval_that_waited_for_a_save_that_kept_the_address_approves(team):
    store, other, observer, alice, bob, default, branch = team
    with store.transaction():
        save_profile(store, bob, branch)
        other.send("approve", [bob], seen={bob: "bob@example.com"})
        until(lambda: observer.waits(other.pid), what="the approve to wait on B's save")
    assert other._answer() == {"count": 1}
    assert Mailbox.get_by_id(bob).approval == ApprovalStatus.APPROVED
