"""A team on PostgreSQL (issue 22, item 2): the connection is a thing that can drop. The server is
really restarted (`pg_ctl restart -m fast`, which terminates every connection), on a cluster of this
module's own so no other test's connection is cut."""

from __future__ import annotations

import tempfile
import threading

import pytest
from support.postgres import available, restart_postgres, start_postgres, stop_postgres
from support.ui import seed_small_org

from mailbox_tui.domain.records import UserDraft
from mailbox_tui.store import services
from mailbox_tui.store.database import Store, StoreError
from mailbox_tui.store.models import AppUser

pytestmark = [pytest.mark.postgres,
              pytest.mark.skipif(not available(), reason="needs a PostgreSQL server binary to restart")]


@pytest.fixture(scope="module")
def own_server():
    url, handle = start_postgres(tempfile.mkdtemp(prefix="mailbox-tui-restart-"))
    try:
        yield url, handle
    finally:
        stop_postgres(handle)


@pytest.fixture
def seeded(own_server):
    url, handle = own_server
    with Store(url) as store:
        if not AppUser.select().exists():
            seed_small_org(store)
    return url, handle


def users(store) -> list[str]:
    return [u.email for u in AppUser.select(AppUser.email).order_by(AppUser.email)]


def test_reads_after_a_restart_carry_on_on_a_new_connection(seeded):
    url, handle = seeded
    with Store(url) as store:
        before = users(store)
        restart_postgres(handle)
        assert users(store) == before
        with store.reading():
            assert users(store) == before


def test_a_write_after_a_restart_is_saved(seeded):
    url, handle = seeded
    with Store(url) as store:
        alice = services.get_user(store, services.user_id_for_email("alice@example.com"))
        restart_postgres(handle)
        saved = services.update_user(store, alice, UserDraft(**{**alice.__dict__, "full_name": "Alice After"}))
        assert saved.full_name == "Alice After"
    with Store(url) as other:
        assert services.get_user(other, alice.id).full_name == "Alice After"


def test_a_write_in_flight_when_the_server_restarts_is_refused_in_a_sentence_and_not_half_done(seeded):
    url, handle = seeded
    with Store(url) as store:
        before = users(store)
        started, restarted = threading.Event(), threading.Event()

        def restart():
            started.wait(30)
            restart_postgres(handle)
            restarted.set()

        threading.Thread(target=restart, daemon=True).start()
        with pytest.raises(StoreError, match=r"can't be reached \(it may be restarting.*nothing was saved"):
            with store.transaction():
                AppUser.create(full_name="Half Done", email="half@example.com", email_key="half@example.com")
                started.set()
                assert restarted.wait(60)
                AppUser.create(full_name="Half Two", email="half2@example.com", email_key="half2@example.com")
        assert users(store) == before  # the first insert went with the transaction
        with store.transaction():  # and the next write works, on a new connection
            AppUser.create(full_name="Whole", email="whole@example.com", email_key="whole@example.com")
        assert "whole@example.com" in users(store)
