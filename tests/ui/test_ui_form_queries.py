"""A mailbox-form keystroke costs at most one indexed lookup.

What does not change while a form is open (the organisation's settings, the chosen profile's
facts, the record as it was read, its user or queue) is read when the form opens; a keystroke
reads only what the key changed: the owner typed, the address typed, the profile chosen. Counted
on the real SQLite file by wrapping the database's execute_sql (every thread's statements pass
through it), and each statement's plan must use an index: SEARCH, never SCAN."""

from __future__ import annotations

from contextlib import contextmanager

from support.ui import settle

from mailbox_tui.domain.options import ActMethod
from mailbox_tui.ui.screens.mailbox_form import MailboxFormScreen


async def open_row(pilot, name: str) -> None:
    """Filter the list down to one mailbox by name and open it, by keys."""
    await pilot.press("slash", *["space" if ch == " " else ch for ch in name.lower()])
    await settle(pilot)
    await pilot.press("enter", "enter")
    await settle(pilot)


@contextmanager
def statements(db):
    """Every SQL statement the database runs while inside, from any thread."""
    seen: list[tuple[str, tuple]] = []
    original = db.execute_sql

    def counting(sql, params=None, *args, **kwargs):
        seen.append((sql, tuple(params or ())))
        return original(sql, params, *args, **kwargs)

    db.execute_sql = counting
    try:
        yield seen
    finally:
        del db.execute_sql


def plan(db, sql: str, params: tuple) -> list[str]:
    return [row[-1] for row in db.execute_sql(f"EXPLAIN QUERY PLAN {sql}", params).fetchall()]


async def keystroke_costs(pilot, db, keys) -> list[list[tuple[str, tuple]]]:
    """The statements each key runs, from the key press until the app has settled."""
    out = []
    for key in keys:
        with statements(db) as seen:
            await pilot.press("space" if key == " " else key)
            await settle(pilot)
        out.append(list(seen))
    return out


def assert_at_most_one_indexed_lookup(db, costs, where: str) -> None:
    for n, seen in enumerate(costs):
        assert len(seen) <= 1, f"key {n + 1} in {where} ran {len(seen)} statements: {[s for s, _ in seen]}"
        for sql, params in seen:
            steps = plan(db, sql, params)
            assert not any(step.startswith("SCAN") for step in steps), f"{where}: {sql} scans: {steps}"


async def focus(pilot, form, field: str) -> None:
    """Into the field, the cursor after its text (focus selects it all)."""
    form.query_one(f"#{field}").focus()
    await settle(pilot)
    await pilot.press("end")
    await settle(pilot)


async def test_a_keystroke_in_a_forward_mailbox_form_runs_at_most_one_indexed_lookup(app, ui_store):
    db = ui_store.db
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await open_row(pilot, "Forward collector")
        form = app.screen
        assert isinstance(form, MailboxFormScreen)
        reads = {}
        for field, keys in (("name", " two"), ("email", "x"), ("username", "ab"), ("owner_id", "x")):
            await focus(pilot, form, field)
            costs = await keystroke_costs(pilot, db, keys)
            assert_at_most_one_indexed_lookup(db, costs, field)
            reads[field] = [len(c) for c in costs]
        # only the fields whose facts live outside the draft read, each key once: M5 and M2 stay live
        assert reads == {"name": [0, 0, 0, 0], "email": [1], "username": [0, 0], "owner_id": [1]}
        assert "no user has that email" in str(form.query_one("#msg-owner_id").render())
        costs = await keystroke_costs(pilot, db, ["backspace"])  # alice@example.com again
        assert_at_most_one_indexed_lookup(db, costs, "owner_id")
        assert "Owner: Alice Berg" in str(form.query_one("#owner-name").render())
        await pilot.press("ctrl+u")
        await settle(pilot)
        costs = await keystroke_costs(pilot, db, "bob@example.com")
        assert_at_most_one_indexed_lookup(db, costs, "owner_id")
        assert "Owner: Bob Dahl" in str(form.query_one("#owner-name").render())
        assert str(form.query_one("#msg-owner_id").render()) == ""


async def test_a_keystroke_in_a_user_mailbox_form_runs_at_most_one_indexed_lookup(app, ui_store):
    db = ui_store.db
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await open_row(pilot, "Bob Dahl")
        form = app.screen
        assert isinstance(form, MailboxFormScreen)
        for field, keys in (("name", "xy"), ("email", "zz"), ("username", "q")):
            await focus(pilot, form, field)
            assert_at_most_one_indexed_lookup(db, await keystroke_costs(pilot, db, keys), field)


async def test_typing_a_name_reads_nothing_at_all(app, ui_store):
    """Name, user name and password are judged by facts read when the form opened."""
    db = ui_store.db
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("n")
        await settle(pilot)
        costs = await keystroke_costs(pilot, db, "Collector three")
        assert costs == [[] for _ in "Collector three"]


async def test_choosing_another_profile_reads_its_facts_once_and_the_rules_follow(app, ui_store):
    seeded = ui_store.seeded
    db = ui_store.db
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await open_row(pilot, "Bob Dahl")
        form = app.screen
        with statements(db) as seen:
            form.query_one("#profile_id").value = seeded["exchange"].id
            await settle(pilot)
        assert len(seen) == 1
        with statements(db) as seen:
            form.query_one("#act").value = ActMethod.SERVER_SIDE_SYNC
            await settle(pilot)
        assert seen == []
        assert "M15" not in str(form.query_one("#msg-act").render())  # Exchange syncs ACT
        with statements(db) as seen:
            form.query_one("#profile_id").value = seeded["pop"].id
            await settle(pilot)
        assert len(seen) == 1
        assert "M15" in str(form.query_one("#msg-act").render())  # POP3 does not
