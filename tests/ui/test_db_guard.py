"""The guard on the app's handlers (ui/db_trouble.py): a database-unreachable error in a plain, async or
generator handler reaches the app as `database_unreachable`, any other error goes on as before, and a
class made from a guarded one has its own handlers guarded too. The errors here are the driver's own
messages, raised by hand (the pty tests in test_ui_server_restart.py restart a real server)."""

from __future__ import annotations

import asyncio

import peewee
import pytest

from mailbox_tui.store.database import StoreError, is_unreachable
from mailbox_tui.ui.db_trouble import GuardsDatabase

REFUSED = peewee.OperationalError('connection failed: connection to server at "127.0.0.1", port 5432 failed: '
                                  "Connection refused")


class FakeApp:
    def __init__(self):
        self.told: list[BaseException] = []

    def database_unreachable(self, error, said=False):
        self.told.append(error)


class Page(GuardsDatabase):
    def __init__(self, error):
        self.app, self.error = FakeApp(), error

    def on_key(self, event=None):
        raise self.error

    async def action_go(self):
        raise self.error

    def compose(self):
        yield "title"
        raise self.error

    def helper(self):  # not a handler: not guarded
        raise self.error


class Subpage(Page):
    def on_click(self):
        raise self.error


@pytest.mark.parametrize("error", [REFUSED, StoreError("The database server db@host can't be reached (it may be "
                                                       "restarting, or the network is down): this was not done.")])
def test_an_unreachable_database_in_a_handler_goes_to_the_app(error):
    page = Subpage(error)
    page.on_key()
    asyncio.run(page.action_go())
    assert list(page.compose()) == ["title"]
    page.on_click()
    assert page.app.told == [error] * 4
    with pytest.raises(type(error)):
        page.helper()


@pytest.mark.parametrize("error", [ValueError("a bug"), peewee.IntegrityError("UNIQUE constraint failed"),
                                   StoreError("Mailbox 3 does not exist.")])
def test_any_other_error_is_raised_as_before(error):
    page = Subpage(error)
    for call in (page.on_key, page.on_click, lambda: list(page.compose()), lambda: asyncio.run(page.action_go())):
        with pytest.raises(type(error)):
            call()
    assert page.app.told == []


def test_what_counts_as_unreachable():
    assert is_unreachable(REFUSED)
    assert is_unreachable(peewee.InterfaceError("the connection is closed"))
    assert not is_unreachable(peewee.OperationalError("database is locked"))
    assert not is_unreachable(RuntimeError("connection refused"))  # not a database error
