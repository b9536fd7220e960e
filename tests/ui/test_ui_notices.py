"""Notices tied to their cause (issue 25, "Notices that outlive their truth"), read off the screen as
drawn, notifications included:

- a form's refused save says "Not saved" on its summary line for as long as the errors last, and
  nothing stays over the fields once the address is fixed;
- an undo offer is on its page's status line; it goes when the admin leaves the page, never follows
  onto the next one, and `u` there undoes nothing.
"""

from __future__ import annotations

from support.ui import screen_lines, screen_text, settle, type_text

from mailbox_tui.domain.options import ApprovalStatus
from mailbox_tui.store.models import Mailbox
from mailbox_tui.ui.screens.mailbox_form import MailboxFormScreen
from mailbox_tui.ui.screens.users import UserListScreen


def _summary(app) -> str:
    return str(app.screen.query_one("#summary").render())


async def test_a_refused_save_says_so_while_its_errors_last_and_not_after(app):
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("n")
        await settle(pilot)
        await type_text(pilot, "Collector")
        await pilot.press("tab", "tab")
        await type_text(pilot, "broken@exa,mple.com")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, MailboxFormScreen)
        assert _summary(app).startswith("Not saved: "), _summary(app)
        assert app.focused.id == "email"  # the first field in error
        assert not any("invalid characters" in line and "Not saved" in line for line in screen_lines(app))
        for _ in "broken@exa,mple.com":
            await pilot.press("backspace")
        await type_text(pilot, "collector@example.com")
        await settle(pilot)
        assert "invalid characters" not in screen_text(app)
        assert _summary(app).startswith("Not saved: 2 errors")  # still true: its credentials are missing
        await pilot.press("f3", "tab")
        await type_text(pilot, "collector")
        await pilot.press("tab")
        await type_text(pilot, "Pa55-word-xyz")
        await settle(pilot)
        screen = screen_text(app)
        assert "Not saved" not in screen, screen  # neither on the summary line nor in a notification
        assert "invalid characters" not in screen, screen
        assert "Not saved" not in _summary(app)


async def test_an_undo_offer_belongs_to_its_page_and_goes_when_the_admin_leaves(app, ui_store):
    bob_box = ui_store.seeded["bob_box"]
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("3")
        await settle(pilot)
        assert isinstance(app.screen, UserListScreen)
        while app.screen.table.current.full_name != "Bob Dahl":
            await pilot.press("down")
        users = app.screen
        await pilot.press("a")
        await settle(pilot)
        assert Mailbox.get_by_id(bob_box.id).approval == ApprovalStatus.APPROVED
        status = str(users.query_one("#status").render())
        assert status.startswith("u: undo Approve Email: 1 changed."), status
        await pilot.press("5")  # another page: the offer does not follow
        await settle(pilot)
        assert app.screen is not users
        screen = screen_text(app)
        assert "u: undo" not in screen and "Approve Email" not in screen, screen
        await pilot.press("3")  # back: the offer is gone with the visit it was made in
        await settle(pilot)
        assert isinstance(app.screen, UserListScreen)
        assert "u: undo" not in str(app.screen.query_one("#status").render())
        await pilot.press("u")
        await settle(pilot)
        assert Mailbox.get_by_id(bob_box.id).approval == ApprovalStatus.APPROVED  # nothing undone
