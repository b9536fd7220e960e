"""The History page (6), one record's history from its form (F10), and undo offered on the status
line after approve/reject/delete (issue 13): the real app, driven by keys."""

from __future__ import annotations

from support.ui import notices, screen_lines, screen_text, settle

from mailbox_tui.domain.options import ApprovalStatus
from mailbox_tui.store import history_read
from mailbox_tui.store.models import Mailbox
from mailbox_tui.ui.screens.history import EntryScreen, HistoryListScreen, RecordHistoryScreen
from mailbox_tui.ui.screens.users import UserListScreen


async def users_at_bob(pilot, app) -> UserListScreen:
    """The Users page (3) with Bob Dahl highlighted."""
    await settle(pilot)
    await pilot.press("3")
    await settle(pilot)
    assert isinstance(app.screen, UserListScreen)
    while app.screen.table.current.full_name != "Bob Dahl":
        await pilot.press("down")
    return app.screen


async def test_history_page_lists_entries_newest_first_with_views_and_filter(app, ui_store):
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("6")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, HistoryListScreen)
        newest = history_read.latest_id()
        assert screen.table.current.id == newest
        assert screen.table.count == history_read.count_entries(ui_store, "all", "")
        assert any("History: All" in line for line in screen_lines(app))
        await pilot.press("slash", *"bob")
        await settle(pilot)
        assert {e.record_key for e in screen.table.cache.pages[0]} <= {"Bob Dahl", "bob@example.com"}
        await pilot.press("escape")
        await settle(pilot)
        for view in ("today", "mine", "deletes"):
            await pilot.press("v")
            await settle(pilot)
            assert screen.view == view
        assert screen.table.count == 0  # nothing was deleted yet
        await pilot.press("v")
        await settle(pilot)
        assert screen.view == "credentials" and screen.table.count >= 1
        assert all(e.credentials for e in screen.table.cache.pages[0])


async def test_an_entry_shows_old_and_new_without_a_password_and_undo_reverses_it(app, ui_store):
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("6", "v", "v", "v", "v")  # credential changes: Bob's password was set
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, EntryScreen)
        text = screen_text(app)
        assert "Password: set" in text and "bob-secret-pw" not in text
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, HistoryListScreen)


async def test_approve_offers_undo_on_the_status_line_for_a_few_seconds(app, ui_store):
    bob_box = ui_store.seeded["bob_box"]
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await users_at_bob(pilot, app)
        await pilot.press("a")
        await settle(pilot)
        assert Mailbox.get_by_id(bob_box.id).approval == ApprovalStatus.APPROVED
        assert "u: undo" in str(screen.query_one("#status").render())
        await pilot.press("u")
        await settle(pilot)
        assert "u: undo" not in str(screen.query_one("#status").render())
        assert Mailbox.get_by_id(bob_box.id).approval == ApprovalStatus.PENDING
        newest = history_read.entry(history_read.latest_id())
        assert (newest.action, newest.admin) == ("undo", "alice@example.com")
        await pilot.press("u")  # the offer is used up
        await settle(pilot)
        assert Mailbox.get_by_id(bob_box.id).approval == ApprovalStatus.PENDING


async def test_the_undo_offer_ends_after_a_few_seconds(app, ui_store, monkeypatch):
    from mailbox_tui.ui import undo_offer

    monkeypatch.setattr(undo_offer, "UNDO_OFFER_S", 0.2)
    bob_box = ui_store.seeded["bob_box"]
    async with app.run_test(size=(80, 24)) as pilot:
        await users_at_bob(pilot, app)
        await pilot.press("r")
        await settle(pilot)
        await pilot.pause(0.4)
        assert "u: undo" not in str(app.screen.query_one("#status").render())
        await pilot.press("u")
        await settle(pilot)
        assert Mailbox.get_by_id(bob_box.id).approval == ApprovalStatus.REJECTED


async def test_a_form_shows_its_records_history(app, ui_store):
    async with app.run_test(size=(80, 24)) as pilot:
        await users_at_bob(pilot, app)
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("f10")
        await settle(pilot)
        assert isinstance(app.screen, RecordHistoryScreen)
        assert any("History of" in line for line in screen_lines(app))


async def test_a_short_filter_says_it_searched_only_the_newest_entries(app, ui_store, monkeypatch):
    """One or two characters search the newest entries only: the status line and an empty list say
    so, and a third character searches them all."""
    monkeypatch.setattr(history_read, "SHORT_FILTER_SCAN", 2)
    async with app.run_test(size=(100, 24)) as pilot:
        await settle(pilot)
        await pilot.press("6", "slash", "b")
        await settle(pilot)
        screen = app.screen
        assert "the newest 2 searched" in " ".join(screen.status_parts())
        assert screen.table.count <= 2
        await pilot.press(*"ob")
        await settle(pilot)
        assert not any("newest" in part for part in screen.status_parts())
        assert screen.table.count == history_read.count_entries(ui_store, "all", "bob", cap=None) > 2


async def test_undo_of_an_import_asks_how_many_records_will_change_then_undoes_it_all(app, ui_store):
    from mailbox_tui.store.exchange import import_document
    from mailbox_tui.store.models import AppUser
    from mailbox_tui.ui.dialogs.confirm import ConfirmDialog

    users_before, boxes_before = AppUser.select().count(), Mailbox.select().count()
    doc = {"users": [{"fullname": f"Imported {i}", "internalemailaddress": f"imported{i}@example.com"}
                     for i in range(3)],
           "mailboxes": [{"regarding": {"user": "imported0@example.com"}, "allowemailconnectortousecredentials": True,
                          "username": "imported0@example.com", "password": "imported-secret-pw"}]}
    assert import_document(ui_store, doc, source="newcomers.json").written
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("6", "slash", *"newcomers.json", "enter")
        await settle(pilot)
        screen = app.screen
        assert (screen.table.current.action, screen.table.current.record_key) == ("import", "newcomers.json")
        await pilot.press("u")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmDialog)
        question = app.screen.question
        assert question.startswith("Undo import #") and "(newcomers.json) as a whole?" in question
        assert "6 records will change: 3 users deleted, 3 mailboxes deleted" in question
        assert "imported-secret-pw" not in question
        await pilot.press("n")
        await settle(pilot)
        assert AppUser.select().count() == users_before + 3  # Keep: nothing undone
        await pilot.press("u")
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
        assert (AppUser.select().count(), Mailbox.select().count()) == (users_before, boxes_before)
        newest = history_read.entry(history_read.latest_id())
        assert newest.action == "undo" and newest.admin == "alice@example.com"
        assert any("Undid import #" in text for text in notices(app))


async def test_undo_of_an_import_refused_says_why_and_changes_nothing(app, ui_store):
    from mailbox_tui.store import services
    from mailbox_tui.store.exchange import import_document
    from mailbox_tui.store.models import AppUser

    doc = {"users": [{"fullname": f"Imported {i}", "internalemailaddress": f"imported{i}@example.com"}
                     for i in range(3)]}
    assert import_document(ui_store, doc, source="newcomers.json").written
    one = services.get_user(ui_store, AppUser.get(AppUser.email == "imported1@example.com").id)
    services.update_user(ui_store, one, type(one)(**{**one.__dict__, "full_name": "Renamed"}))
    users = AppUser.select().count()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("6", "slash", *"newcomers.json", "enter")
        await settle(pilot)
        await pilot.press("u")
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
        errors = notices(app, "error")
        assert any("Undo failed: Import #" in m and "user 'imported1@example.com' (Full Name)" in m for m in errors)
        assert AppUser.select().count() == users


async def test_over_ten_thousand_entries_the_status_says_ten_thousand_plus_of_the_true_total(app, ui_store):
    """README: the History counts a filter's matches up to 10,000; it never claims a false total."""
    from mailbox_tui.store.history import ChangeEntry

    with ui_store.transaction():
        ChangeEntry.insert_many([{"kind": "user", "record_key": f"bulk{i}@example.com",
                                  "action": "delete" if i % 1000 == 0 else "update"} for i in range(12_000)]).execute()
    exact = history_read.count_entries(ui_store, "all", "", cap=None)
    assert exact > 12_000
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("6")
        await settle(pilot)
        status = next(line for line in screen_lines(app) if "History: All" in line)
        assert f"10,000+ shown of {exact:,}" in status
        await pilot.press("v", "v", "v")  # the view "deletes": 12 entries, counted exactly, of the true total
        await settle(pilot)
        status = next(line for line in screen_lines(app) if "History: Deletes" in line)
        assert f"12 shown of {exact:,}" in status


async def test_the_undo_question_says_what_will_happen_in_the_admins_terms(app, ui_store):
    from mailbox_tui.ui.dialogs.confirm import ConfirmDialog

    forward = ui_store.seeded["forward"]
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("6")
        await settle(pilot)
        screen = app.screen
        for _ in range(40):
            e = screen.table.current
            if (e.kind, e.action, e.record_id) == ("mailbox", "create", forward.id):
                break
            await pilot.press("down")
        else:
            raise AssertionError("the forward mailbox's create entry is not listed")
        assert "created" in screen_text(app)  # the Action column in words
        await pilot.press("u")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmDialog)
        text = screen_text(app)
        assert f"Delete the mailbox '{forward.name}', created by this" in text, text
        await pilot.press("escape")
        await settle(pilot)
    assert Mailbox.get_or_none(Mailbox.id == forward.id) is not None  # asked, not done


async def test_after_an_import_its_entry_is_the_first_row_then_its_records(app, ui_store):
    """Issue 22 item 6: the import's entry right above its records, not below the oldest of them."""
    from mailbox_tui.store.exchange import import_document

    doc = {"users": [{"fullname": f"Imported {i}", "internalemailaddress": f"imported{i}@example.com"}
                     for i in range(3)]}
    event = import_document(ui_store, doc, source="newcomers.json").entry
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("6")
        await settle(pilot)
        table = app.screen.table
        assert (table.current.id, table.current.action) == (event, "import")
        shown = []
        for _ in range(table.count):
            shown.append(table.current.id)
            await pilot.press("down")
        assert shown[1:7] == sorted(shown[1:7], reverse=True) and {history_read.entry(i).batch
                                                                  for i in shown[1:7]} == {event}
        assert sorted(shown) == sorted(set(shown)) and len(shown) == history_read.count_entries(ui_store)
