"""The Health page (issue 24 item 5) and the Mailboxes page's lifecycle views, driven by keys: key 7 shows
per profile the mailboxes enabled, failing, retrying and disabled by failures; a profile where more than half
of its mailboxes failed within the hour is flagged; Enter lists the mailboxes behind a row."""

from __future__ import annotations

import pytest
from support.terminal import TerminalApp
from support.ui import go, screen_lines, screen_text, seed_small_org, settle

from mailbox_tui.domain.failures import CAUSE
from mailbox_tui.domain.options import TestStatus
from mailbox_tui.store import queries, services
from mailbox_tui.store.database import Store
from mailbox_tui.store.models import Mailbox, utcnow
from mailbox_tui.ui.screens.health import HealthScreen
from mailbox_tui.ui.screens.mailbox_list import MailboxListScreen


def record(store, mailbox_id, status, cause=None):
    services.record_test_results(store, mailbox_id, {"incoming_status": status}, [], utcnow(),
                                 causes={"incoming_status": CAUSE[cause] if cause else None},
                                 messages={"incoming_status": "said"})


def failures(store, *, flagged: bool = False) -> dict:
    """Alice refused (disabled at once), Bob unreachable (retrying), Carol fine; with `flagged`, the
    queue's mailbox refused too: 3 of the 5 mailboxes on Corporate IMAP failed within the hour."""
    seeded = store.seeded
    record(store, seeded["alice_box"].id, TestStatus.FAILURE, "credentials")
    record(store, seeded["bob_box"].id, TestStatus.FAILURE, "connect-refused")
    record(store, seeded["carol_box"].id, TestStatus.SUCCESS)
    if flagged:
        record(store, seeded["queue_box"].id, TestStatus.FAILURE, "credentials")
    return seeded


def _row(app, profile: str) -> list[str]:
    [line] = [line for line in screen_lines(app) if profile in line]
    return line.split()


def test_the_retrying_and_disabled_views_list_what_the_lifecycle_left(ui_store):
    seeded = failures(ui_store)
    assert [r.name for r in queries.mailbox_page("retrying")] == ["Bob Dahl"]
    assert [r.name for r in queries.mailbox_page("disabled")] == ["Alice Berg"]
    assert queries.count_mailboxes("retrying") == queries.count_mailboxes("disabled") == 1
    [bob] = queries.mailbox_page("retrying")
    assert bob.next_test_attempt is not None  # the "Next attempt" column's value
    assert queries.mailbox_page("retrying", profile=seeded["pop"].id) == []
    # sorted by the next attempt: the retry first, then the rest
    assert queries.mailbox_page("active", sort="next_attempt", limit=1)[0].name == "Bob Dahl"


@pytest.mark.parametrize("view", ["retrying", "disabled"])
def test_the_lifecycle_views_read_an_index_never_the_table(ui_store, view):
    """Designed for 100,000 mailboxes: the count and the page read an index range, not every row."""
    for query in (queries._mailbox_query(Mailbox.select(Mailbox.id), view, ""),
                  queries._mailbox_query(Mailbox.select(Mailbox.id, Mailbox.name), view, "")
                  .order_by(Mailbox.name_key, Mailbox.id).limit(100)):
        sql, params = query.sql()
        plan = " ".join(row[-1] for row in ui_store.db.execute_sql("EXPLAIN QUERY PLAN " + sql, params))
        assert "SCAN t" not in plan and "mailbox_state_name_key_id" not in plan, plan
        assert ("mailbox_state_next_test_attempt" if view == "retrying" else "mailbox_state_last_error_on") in plan


async def test_the_mailbox_list_shows_the_next_attempt_in_the_retrying_view(app, ui_store):
    failures(ui_store)
    async with app.run_test(size=(200, 24)) as pilot:
        await settle(pilot)
        screen = app.screen
        screen.set_view("retrying")
        await settle(pilot)
        assert [screen.table.cache.get(i).name for i in range(screen.table.count)] == ["Bob Dahl"]
        text = screen_text(app)
        assert "Next attempt" in text and "Retrying" in text
        when = screen.table.current.next_test_attempt.strftime("%Y-%m-%d %H:%M")
        assert when in text


async def test_key_7_shows_each_profiles_figures(app, ui_store):
    failures(ui_store)
    async with app.run_test(size=(80, 24)) as pilot:
        await go(pilot, "7")
        assert isinstance(app.screen, HealthScreen)
        text = screen_text(app)
        for title in ("Profile", "Enabled", "Failing", "Retrying", "Disabled", "Last success", "Fail 1h"):
            assert title in text, text
        # Corporate IMAP: Alice disabled, Bob retrying (still enabled), Carol enabled; 2 of 3 tested failed
        row = _row(app, "Corporate IMAP")
        assert row[2:7] == ["2", "2", "1", "1", "1"] and row[-1] == "67%", row
        assert "No profile flagged" in text and "0 flagged" in text


async def test_a_profile_where_more_than_half_failed_within_the_hour_is_flagged(app, ui_store):
    failures(ui_store, flagged=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await go(pilot, "7")
        text = screen_text(app)
        said = " ".join(text.split())  # the sentence wraps at 80 columns
        assert "! FLAGGED: more than half of the mailboxes failed within the hour: Corporate IMAP." in said, text
        assert "! Corporate I…" in text and "1 flagged" in text


async def test_enter_lists_the_profiles_mailboxes_in_the_view_that_needs_an_admin_first(app, ui_store):
    failures(ui_store)
    async with app.run_test(size=(80, 24)) as pilot:
        await go(pilot, "7")
        health = app.screen
        names = [health.table.cache.get(i).name for i in range(health.table.count)]
        health.table._move_to(names.index("Corporate IMAP"))
        await pilot.press("enter")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, MailboxListScreen) and screen.view == "disabled"
        assert [screen.table.cache.get(i).name for i in range(screen.table.count)] == ["Alice Berg"]
        assert "profile: Corporate IMAP" in screen_text(app)
        await pilot.press("7")
        await settle(pilot)
        app.screen.table._move_to(names.index("Corporate IMAP"))
        await pilot.press("r")
        await settle(pilot)
        assert app.screen.view == "retrying" and app.screen.table.current.name == "Bob Dahl"
        await pilot.press("escape")  # every profile again
        await settle(pilot)
        assert app.screen.profile_scope is None and "profile:" not in screen_text(app)


async def test_a_profiles_name_is_shown_as_written_never_as_markup(app, ui_store):
    profile = ui_store.seeded["imap"]
    services.update_profile(ui_store, profile, profile.copy(name="[red]Evil[/red] IMAP"))
    failures(ui_store, flagged=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await go(pilot, "7")
        text = screen_text(app)
        assert "! [red]Evil[/…" in text and "hour: [red]Evil[/red] IMAP." in " ".join(text.split()), text


def test_the_health_page_at_80x24_in_a_terminal(sqlite_url):
    """The installed app in a pseudo-terminal: key 7 shows the figures, the flag, and Enter lists them."""
    with Store(sqlite_url) as store:
        store.seeded = seed_small_org(store)
        failures(store, flagged=True)
    app = TerminalApp(["--db", sqlite_url, "--as", "alice@example.com"], {}, cols=80, rows=24)
    try:
        app.wait_for("Alice Berg", timeout=30)
        app.press("7")
        screen = app.wait_for("! Corporate I…", timeout=15)
        assert "FLAGGED: more than half of the mailboxes failed within the hour" in screen, screen
        [row] = [line for line in screen.splitlines() if "! Corporate I…" in line]
        assert row.split()[3:8] == ["2", "3", "1", "2", "2"], row
        assert row.rstrip().endswith("75%"), row
        assert all(len(line) <= 80 for line in screen.splitlines())
        app.press("enter")
        screen = app.wait_for("profile: Corporate IMAP", timeout=15)
        assert "Alice Berg" in screen and "Support" in screen and "Bob Dahl" not in screen, screen
    finally:
        app.close()


@pytest.mark.parametrize("flagged", [True, False], ids=["flagged", "not-flagged"])
async def test_a_flagged_profile_says_so_on_its_own_form(app, ui_store, flagged):
    """Issue 24: the flag is an alert on the profile too, where the admin looks at it (its form)."""
    from support.ui import open_imap_profile

    failures(ui_store, flagged=flagged)
    async with app.run_test(size=(80, 24)) as pilot:
        form = await open_imap_profile(pilot, ui_store.seeded["imap"])
        usage = str(form.query_one("#usage").render())
        assert ("More than half of its mailboxes failed within the hour (3 of 5)" in usage) is flagged, usage
        assert "mailboxes use this profile" in usage
