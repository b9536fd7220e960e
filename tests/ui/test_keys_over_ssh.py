"""Keys over SSH: a burst of keys does exactly what the same keys typed slowly do.

The installed app runs in a real pseudo-terminal at 80×24 (TERM=xterm) on the demo organisation.
Each burst is ONE write, as keys arrive over a coalescing SSH link, from a fast typist, or from a
paste without bracketed paste. The same keys are then typed one at a time, waiting for the app to
finish each, into a second copy of the database: both databases must end the same, and the
burst must change only what its explicit saves, approvals or confirmed deletions ask for.
"""

from __future__ import annotations

import shutil
import sqlite3
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.terminal import TerminalApp, demo_database, keys


IGNORED_COLUMNS = {"created_on", "modified_on", "at"}  # when a save happened (or its history entry), not what it saved


@pytest.fixture(scope="module")
def demo_template(tmp_path_factory):
    """The demo organisation, seeded once per module; every test runs on its own copy."""
    return demo_database(tmp_path_factory.mktemp("demo"))


def copy_db(template: Path, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / "demo.db"
    shutil.copyfile(template, target)
    return target


def snapshot(path: Path) -> dict[str, list[tuple]]:
    """Every stored row of every table, without the columns that only say when."""
    out = {}
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in sorted(tables):
            columns = [r[1] for r in db.execute(f'PRAGMA table_info("{table}")')]
            keep = [c for c in columns if c not in IGNORED_COLUMNS]
            rows = db.execute(f'SELECT {", ".join(chr(34) + c + chr(34) for c in keep)} FROM "{table}"').fetchall()
            out[table] = sorted(rows, key=repr)
    return out


def query(path: Path, sql: str, *args) -> list[tuple]:
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        return db.execute(sql, args).fetchall()


class Session:
    """One app on one copy of the demo database."""

    def __init__(self, template, folder: Path) -> None:
        path, key, acting = template
        self.db = copy_db(path, folder)
        home = folder / "home"
        home.mkdir(exist_ok=True)
        self.env = {"MAILBOX_TUI_KEY": key, "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"),
                    "XDG_DATA_HOME": str(home / ".local" / "share")}
        self.args = ["--db", f"sqlite:///{self.db}", "--as", acting, "--no-mouse"]
        self.term: TerminalApp | None = None

    def start(self, wait: bool = True) -> TerminalApp:
        self.term = TerminalApp(self.args, self.env)
        if wait:
            self.term.wait_for("shown of")
            self.term.wait_quiet()
        return self.term

    def slowly(self, *parts: str) -> str:
        """Each key alone, after the app has finished with the one before."""
        for part in parts:
            for key in ([part] if part in _named_keys() else list(part)):
                before = self.term.bytes_out
                self.term.press(key)
                self.term.settle_after(before)
        return self.term.text()

    def burst(self, *parts: str) -> str:
        self.term.send(keys(*parts))
        time.sleep(0.3)
        return self.term.wait_quiet(0.5)

    def stop(self) -> None:
        if self.term is not None:
            self.term.quit()


def _named_keys():
    from support.terminal import KEYS

    return KEYS


@pytest.fixture
def sessions(demo_template, tmp_path):
    """Two apps on two copies of the same database: one gets bursts, the other slow keys."""
    made = []

    def make(name: str) -> Session:
        session = Session(demo_template, tmp_path / name)
        made.append(session)
        return session

    yield make
    for session in made:
        session.stop()


def burst_and_slow(sessions, setup: list[str], burst: list[str]) -> tuple[Session, str, Session, str]:
    """Run `setup` slowly in both apps, then `burst` as one write in one and key by key in the other."""
    fast, slow = sessions("burst"), sessions("slow")
    for session in (fast, slow):
        session.start()
        session.slowly(*setup)
    fast_screen = fast.burst(*burst)
    slow_screen = slow.slowly(*burst)
    return fast, fast_screen, slow, slow_screen


def assert_same_data(fast: Session, slow: Session) -> None:
    assert snapshot(fast.db) == snapshot(slow.db), "the burst left different data than the same keys typed slowly"


# -- every row of the table -------------------------------------------------------------

FILTER_ROWS = [
    pytest.param(["3"], ["/ra"], "filter: ra", id="users-slash-ra"),
    pytest.param(["3"], ["/sara"], "filter: sara", id="users-slash-sara"),
    pytest.param(["4"], ["/ar"], "filter: ar", id="queues-slash-ar"),
    pytest.param([], ["/test"], "filter: test", id="mailboxes-slash-test"),
    pytest.param([], ["/bjorn"], "filter: bjorn", id="mailboxes-slash-bjorn"),
    pytest.param([], ["/2"], "filter: 2", id="mailboxes-slash-2"),
    pytest.param(["2"], ["/branch"], "filter: branch", id="profiles-slash-branch"),
]


@pytest.mark.parametrize(("setup", "burst", "shown"), FILTER_ROWS)
def test_filter_burst_filters_and_changes_nothing(sessions, demo_template, setup, burst, shown):
    fast, screen, slow, slow_screen = burst_and_slow(sessions, setup, burst)
    assert shown in screen, screen
    assert shown in slow_screen
    assert "shown of" in screen, "still on the list, no form opened"
    assert_same_data(fast, slow)
    assert snapshot(fast.db) == snapshot(demo_template[0])


def test_mailboxes_slash_test_runs_no_test_and_keeps_the_sort(sessions, demo_template):
    fast, screen, slow, _ = burst_and_slow(sessions, [], ["/test"])
    assert "sort: Name ▲" in screen
    template = snapshot(demo_template[0])
    assert snapshot(fast.db) == template, "Test & Enable ran or something else changed"


def test_users_slash_ra_approves_and_rejects_nobody(sessions, demo_template):
    fast, screen, _, _ = burst_and_slow(sessions, ["3"], ["/ra"])
    assert snapshot(fast.db) == snapshot(demo_template[0])
    assert "Approve Email" not in screen and "Reject Email" not in screen


def test_filter_then_enter_enter_opens_the_filtered_mailbox(sessions):
    fast, screen, slow, slow_screen = burst_and_slow(sessions, [], ["/forward", "enter", "enter"])
    # On a busy machine opening the form can take longer than the burst's quiet period: wait for it.
    screen = fast.term.wait_for("General")  # the mailbox form is open
    assert "Forward collector" in screen
    assert "Name" in screen and "Forward collector" in [line for line in screen.splitlines() if "Name" in line][0]
    assert_same_data(fast, slow)


@pytest.mark.parametrize(("setup", "question"), [
    pytest.param(["3"], "Delete the user", id="users"),
    pytest.param(["2"], "Delete", id="profiles"),
    pytest.param(["/forward", "enter"], "Delete the forward mailbox", id="mailboxes"),
])
def test_delete_enter_deletes_nothing(sessions, demo_template, setup, question):
    fast = sessions("burst")
    fast.start()
    fast.slowly(*setup)
    screen = fast.burst("delete", "enter")
    assert question in screen, "the confirmation is still asking"
    assert snapshot(fast.db) == snapshot(demo_template[0])
    # the question is answered by keys typed after it appeared: n keeps everything
    fast.slowly("n")
    assert snapshot(fast.db) == snapshot(demo_template[0])


def test_delete_confirmed_after_the_question_appears_deletes(sessions):
    fast = sessions("burst")
    fast.start()
    fast.slowly("/forward", "enter", "delete")
    fast.term.wait_for("Delete the forward mailbox")
    fast.slowly("y")
    assert query(fast.db, "SELECT count(*) FROM mailbox WHERE name = 'Forward collector'") == [(0,)]


@pytest.mark.parametrize("save", ["ctrl+s", "ctrl+w"])
def test_text_then_save_saves_exactly_what_was_typed(sessions, demo_template, save):
    acting = demo_template[2]
    (name,) = query(demo_template[0], "SELECT full_name FROM app_user WHERE email = ?", acting)[0]
    fast, screen, slow, _ = burst_and_slow(sessions, ["3"], ["enter", " Jr", save])
    assert query(fast.db, "SELECT full_name FROM app_user WHERE email = ?", acting) == [(name + " Jr",)]
    assert "unsaved changes" not in screen
    assert_same_data(fast, slow)


def test_new_user_fields_get_what_was_typed_for_them(sessions):
    fast, screen, slow, _ = burst_and_slow(sessions, ["3"], ["n", "Greta Holm", "tab", "greta@example.com", "ctrl+s"])
    assert query(fast.db, "SELECT full_name, email FROM app_user WHERE email = 'greta@example.com'") == [
        ("Greta Holm", "greta@example.com")]
    assert query(fast.db, "SELECT count(*) FROM app_user WHERE email LIKE '%erson%' OR full_name LIKE 'greta%'") \
        == [(1,)], "one Greta, and no address made of split keys"
    assert_same_data(fast, slow)


def test_section_key_then_text_lands_in_that_section(sessions):
    # Billing (a queue mailbox) is the first row: F3 goes to Credentials, Tab to User Name.
    fast, screen, slow, _ = burst_and_slow(sessions, [], ["enter", "f3", "tab", "svc-billing", "ctrl+s"])
    assert query(fast.db, "SELECT name, username FROM mailbox WHERE name = 'Billing'") == [("Billing", "svc-billing")]
    assert_same_data(fast, slow)


def test_tab_tab_then_text_lands_where_slow_typing_puts_it(sessions):
    fast, _, slow, _ = burst_and_slow(sessions, [], ["enter", "tab", "tab", "billing2@example.com", "ctrl+s"])
    assert_same_data(fast, slow)
    assert query(fast.db, "SELECT count(*) FROM mailbox WHERE name = 'Billing'") == [(1,)]


@pytest.mark.parametrize(("burst", "expected"), [
    pytest.param(["n", "Collector 2"], "Collector 2", id="n-then-text"),
    pytest.param(["enter", "XY"], "BillingXY", id="enter-then-text"),
])
def test_text_after_opening_a_form_goes_into_its_first_field(sessions, demo_template, burst, expected):
    fast = sessions("burst")
    fast.start()
    fast.burst(*burst)
    screen = fast.term.wait_for(lambda s: "General" in s)  # the form is open (it may take a while)
    screen = fast.term.wait_quiet(0.5)
    name_lines = [line for line in screen.splitlines() if line.lstrip().startswith("Name")]
    assert name_lines and expected in name_lines[0], screen
    assert snapshot(fast.db) == snapshot(demo_template[0])


def test_text_after_ctrl_p_goes_into_the_palette(sessions):
    fast = sessions("burst")
    fast.start()
    screen = fast.burst("ctrl+p", "approve")
    assert "approve" in screen and "Approve Email" in screen


def test_keys_typed_during_launch_go_to_the_first_screen(sessions, demo_template):
    fast = sessions("burst")
    term = fast.start(wait=False)
    term.send(keys("3", "/bruno"))  # before the first screen is up
    screen = term.wait_for("filter: bruno")
    assert "Users" in screen
    assert snapshot(fast.db) == snapshot(demo_template[0])


def test_escape_then_y_in_a_dirty_form_types_nothing_and_discards_nothing(sessions, demo_template):
    fast = sessions("burst")
    fast.start()
    fast.burst("enter", "X", "escape", "y")
    # On a busy machine building the form can take longer than the burst's quiet period: wait for the
    # question (if y had answered it, the form would be gone and the Name line below would fail).
    screen = fast.term.wait_for("Discard your unsaved changes")
    screen = fast.term.wait_quiet(0.5)
    assert "Discard your unsaved changes" in screen, "the question is still asking: y came before it"
    fast.slowly("n")  # keep editing
    screen = fast.term.wait_quiet()
    name_line = [line for line in screen.splitlines() if line.lstrip().startswith("Name")][0]
    assert "BillingX" in name_line and "BillingXy" not in name_line and "^" not in name_line
    assert snapshot(fast.db) == snapshot(demo_template[0])


def test_escape_then_key_in_one_read_is_two_keys(sessions):
    fast = sessions("burst")
    fast.start()
    fast.slowly("3")
    screen = fast.burst("/zzz", "escape", "4")  # Escape clears the filter, 4 goes to Queues
    assert "Queues" in screen.splitlines()[1], screen


def test_palette_go_to_users_then_n_opens_a_new_user(sessions):
    fast = sessions("burst")
    fast.start()
    fast.burst("ctrl+p", "Go to Users", "enter", "n")
    screen = fast.term.wait_for("Primary Email")  # the new user's form (it may take a while)
    screen = fast.term.wait_quiet(0.5)
    assert "Full Name" in screen and "Primary Email" in screen and "required" in screen, screen
    assert "filter: n" not in screen


def test_bracketed_paste_goes_whole_to_the_filter(sessions, demo_template):
    fast = sessions("burst")
    fast.start()
    fast.slowly("3", "/")
    fast.term.paste("ra")
    screen = fast.term.wait_for("filter: ra")
    assert snapshot(fast.db) == snapshot(demo_template[0])
    assert "Approve Email" not in screen


def test_paste_on_a_list_changes_no_data(sessions, demo_template):
    fast = sessions("burst")
    fast.start()
    fast.slowly("3")
    fast.term.paste("ardelete")
    fast.term.wait_quiet()
    assert snapshot(fast.db) == snapshot(demo_template[0])


# -- random bursts ------------------------------------------------------------------------------

# Keys that move, filter, open, type and go back, but never save, approve, reject, delete, test,
# confirm or open the palette: a burst of them must change nothing at all.
HARMLESS = ["j", "k", "g", "G", "space", "v", "V", "s", "S", "/", "escape", "enter", "tab", "shift+tab",
            "backspace", "1", "2", "3", "4", "n", "b", "o", "e", "l", "f2", "f3", "f4", "f5", "up", "down",
            "pagedown", "x", "z", "@", "."]


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from(HARMLESS), min_size=4, max_size=30))
def test_random_bursts_without_saves_change_nothing(demo_template, tmp_path_factory, burst):
    session = Session(demo_template, tmp_path_factory.mktemp("random"))
    try:
        session.start()
        session.burst(*burst)
        assert session.term.proc.isalive(), "the app ended"
        assert "Traceback" not in session.term.text()
    finally:
        session.stop()
    assert snapshot(session.db) == snapshot(demo_template[0])


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from(["j", "k", "down", "up", "g", "G"]), max_size=6), st.text(
    alphabet="abcdefghijklmnopqrstuvwxyz ", min_size=1, max_size=12))
def test_random_moves_then_edit_and_save_changes_only_that_record(demo_template, tmp_path_factory, moves, text):
    """On Users: move, open, type, save & close — in one burst. Only the opened user changes."""
    fast = Session(demo_template, tmp_path_factory.mktemp("edit-fast"))
    slow = Session(demo_template, tmp_path_factory.mktemp("edit-slow"))
    try:
        for session in (fast, slow):
            session.start()
            session.slowly("3")
        fast.burst(*moves, "enter", text, "ctrl+w")
        slow.slowly(*moves, "enter", *list(text), "ctrl+w")
    finally:
        fast.stop()
        slow.stop()
    assert snapshot(fast.db) == snapshot(slow.db)
    changed = {row for row in query(fast.db, "SELECT id, full_name FROM app_user")} - {
        row for row in query(demo_template[0], "SELECT id, full_name FROM app_user")}
    assert len(changed) <= 1
