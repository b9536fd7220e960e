"""The input queue (ui/terminal/input_queue.py) fails open and never holds ctrl+q for long.

The installed app runs in a real pseudo-terminal (tests/support/terminal.py) on the demo
organisation; keys are written in bursts, as they arrive over SSH. Where the queue's settle check
must fail, a FAKE check stands in for it (a renamed Textual internal cannot be provoked otherwise):
the app is started through a few lines of Python that replace `InputQueue.settle` and then run the
installed command's entry point. Everything else is the real app. ctrl+q in a form with unsaved
changes is driven with Pilot (the real app in-process).
"""

from __future__ import annotations

import ast
import asyncio
import shutil
import sys
import time
from pathlib import Path

import pytest
from support.terminal import TerminalApp, demo_database, keys
from support.ui import settle

import mailbox_tui.ui.terminal.input_queue as input_queue
from mailbox_tui.ui.dialogs.confirm import ConfirmDialog
from mailbox_tui.ui.screens.record_form import RecordFormScreen

QUIT_WITHIN = 1.0  # seconds from writing ctrl+q to the process's end
# On a busy machine Textual's own shutdown takes most of that: the limit is then what a plain
# ctrl+q takes on this machine now (measured once, `quit_limit`) and this much more.
QUIT_MARGIN = 0.5

# The app with a FAKE settle check: "raises" as a renamed Textual internal would make it raise,
# "never" never says the app has settled (the check keeps saying busy).
FAKE_SETTLE = """
import asyncio, sys
from mailbox_tui.ui.terminal.input_queue import InputQueue

mode = sys.argv.pop(1)

async def raises(self):
    raise AttributeError("'Screen' object has no attribute '_callbacks' (a FAKE settle check)")

async def never(self):
    await asyncio.Event().wait()

InputQueue.settle = {"raises": raises, "never": never}[mode]
from mailbox_tui.cli import entry
sys.exit(entry())
"""


@pytest.fixture(scope="module")
def demo_template(tmp_path_factory):
    return demo_database(tmp_path_factory.mktemp("demo"))


class Run:
    """One app on its own copy of the demo database, with a log file."""

    def __init__(self, template, folder: Path, fake: str | None = None) -> None:
        path, key, acting = template
        folder.mkdir(parents=True, exist_ok=True)
        db = folder / "demo.db"
        shutil.copyfile(path, db)
        self.log = folder / "app.log"
        env = {"MAILBOX_TUI_KEY": key, "HOME": str(folder), "XDG_CONFIG_HOME": str(folder / ".config")}
        program = None if fake is None else [sys.executable, "-c", FAKE_SETTLE, fake]
        self.term = TerminalApp(["--db", f"sqlite:///{db}", "--as", acting, "--no-mouse", "--log", str(self.log)],
                                env, program=program)
        self.term.wait_for("shown of", timeout=30)
        self.term.wait_quiet()

    def seconds_to_quit(self, timeout: float = 120.0) -> float:
        """ctrl+q, and how long until the process has ended."""
        sent = time.monotonic()
        self.term.press("ctrl+q")
        while self.term.proc.isalive() and time.monotonic() - sent < timeout:
            time.sleep(0.005)
        took = time.monotonic() - sent
        assert not self.term.proc.isalive(), f"ctrl+q did not end the app in {timeout} s"
        return took

    def flood(self, burst: bytes, count: int, every: float = 0.1) -> None:
        """`burst` (one write) `count` times, one every `every` seconds: 1,000 keys a second for
        bursts of 100, within what Textual reads on a busy machine (keys written faster pile up
        in front of the app before it has read them: the queue cannot see them; see
        benchmarks/keys_bench.py)."""
        start = time.monotonic()
        for n in range(count):
            time.sleep(max(0.0, start + n * every - time.monotonic()))
            self.term.send(burst)

    def log_lines(self, text: str) -> list[str]:
        return [line for line in self.log.read_text(encoding="utf-8").splitlines() if text in line] \
            if self.log.exists() else []


@pytest.fixture(scope="module")
def quit_limit(demo_template, tmp_path_factory) -> float:
    """Seconds ctrl+q may take: QUIT_WITHIN, or on a busy machine a plain ctrl+q (the app at rest,
    nothing queued, measured twice) and QUIT_MARGIN more."""
    folder = tmp_path_factory.mktemp("plain-quit")
    plain = []
    for n in range(2):
        run = Run(demo_template, folder / str(n))
        plain.append(run.seconds_to_quit())
        run.term.close()
    return max(QUIT_WITHIN, max(plain) + QUIT_MARGIN)


@pytest.fixture
def runs(demo_template, tmp_path):
    made = []

    def make(fake: str | None = None) -> Run:
        made.append(Run(demo_template, tmp_path / f"run{len(made)}", fake))
        return made[-1]

    yield make
    for run in made:
        run.term.close()


def title_line(screen: str) -> str:
    return screen.splitlines()[1]


# -- failing open -------------------------------------------------------------------------------

def press_and_see(run: Run, key: str, page: str, timeout: float = 15.0) -> None:
    """One key, typed alone; the page it goes to is on screen."""
    run.term.press(key)
    run.term.wait_for(lambda s: page in title_line(s), timeout=timeout)


@pytest.mark.parametrize("fake", ["raises", "never"])
def test_a_settle_check_that_fails_leaves_the_keyboard_working(runs, quit_limit, fake):
    run = runs(fake)
    # Keys typed one at a time: failed open, the queue no longer orders a burst (Textual does).
    press_and_see(run, "3", "Users")  # "never": this key waits out one settle's time limit
    press_and_see(run, "4", "Queues")  # and this one the second: then the queue fails open
    press_and_see(run, "1", "Mailboxes", timeout=2)  # from then on keys go straight through
    assert "Traceback" not in run.term.text()
    took = run.seconds_to_quit()
    assert took < quit_limit, f"ctrl+q took {took:.2f} s (limit {quit_limit:.2f} s)"
    stopped = run.log_lines("The input queue stopped")
    assert len(stopped) == 1, f"logged once: {stopped}"
    if fake == "raises":
        assert "a FAKE settle check" in run.log.read_text(encoding="utf-8"), "the traceback went to the log"


def test_ctrl_q_quits_at_once_while_the_settle_check_never_settles(runs, quit_limit):
    run = runs("never")
    run.term.send(keys("3", "4"))  # held behind a check that never says the app has settled
    took = run.seconds_to_quit()
    assert took < quit_limit, f"ctrl+q took {took:.2f} s (limit {quit_limit:.2f} s)"


# -- ctrl+q behind a flood of keys, and the bound -----------------------------------------------

def test_ctrl_q_after_10000_keys_quits_within_the_quit_limit(runs, quit_limit):
    run = runs()
    run.flood(b"j" * 100, count=100)  # 10,000 keys in 10 s: far more than the app can act on
    took = run.seconds_to_quit()
    assert took < quit_limit, f"ctrl+q after 10,000 keys took {took:.2f} s (limit {quit_limit:.2f} s)"
    assert run.term.proc.exitstatus == 0


def test_a_flood_of_keys_gives_one_notice_and_the_next_key_is_answered(runs):
    run = runs()

    def seconds_to_users() -> float:
        sent = time.monotonic()
        run.term.press("3")
        run.term.wait_for(lambda s: "Users" in title_line(s), timeout=20)
        return time.monotonic() - sent

    at_rest = seconds_to_users()  # the same key on a quiet app, on this machine now
    press_and_see(run, "1", "Mailboxes")
    run.term.wait_quiet()
    # 3,000 keys in 1 s, 300 a write: each write alone is more than may wait at once, so the flood
    # does not depend on this machine being too slow to keep up with 1,000 keys a second (on a
    # quiet machine the list moved its cursor that fast, and bursts of 100 never piled up to 256).
    run.flood(b"j" * 300, count=10)
    run.term.wait_for("Keys arrived faster", timeout=10)
    time.sleep(0.5)  # the admin reads the notice, then types
    screen = run.term.text()
    assert screen.count("Keys arrived faster") == 1, screen
    answered = seconds_to_users()
    assert answered < max(1.0, at_rest + 0.5), f"the key after the flood took {answered:.2f} s, at rest {at_rest:.2f} s"
    run.seconds_to_quit()
    assert len(run.log_lines("a flood; keys are dropped")) == 1
    assert run.log_lines("the flood of keys is over"), "how many were dropped is logged"


def test_a_stuck_keys_flood_ends_at_the_first_other_key_even_in_the_same_read(runs):
    """A busy app reads the terminal late: the key typed after a stuck key can arrive right behind
    the flood, in the same read. It is not part of the flood: it is answered."""
    run = runs()
    run.term.send(b"j" * 3000 + b"3")  # one write, one read: no gap in time between the flood and the 3
    run.term.wait_for(lambda s: "Users" in title_line(s), timeout=20)
    run.seconds_to_quit()
    assert len(run.log_lines("a flood; keys are dropped")) == 1, "it was a flood"
    over = run.log_lines("the flood of keys is over")
    assert len(over) == 1, over
    dropped = int(over[0].split("over: ")[1].split()[0])
    assert 0 < dropped <= 3000, over  # some j's may have moved the cursor before the flood began


def test_a_flood_of_mixed_keys_drops_until_the_keys_stop(runs):
    """Text pasted without bracketed paste (keys of all kinds): a key right behind it is part of it
    and dropped; typed after a pause, it is answered."""
    run = runs()
    run.term.send(b"jk" * 1500 + b"3")  # the 3 is one of the flood's keys: dropped
    run.term.wait_for("Keys arrived faster", timeout=10)
    run.term.wait_quiet()
    assert "Mailboxes" in title_line(run.term.text()), "the 3 right behind the flood was dropped"
    time.sleep(input_queue.FLOOD_GAP)
    press_and_see(run, "3", "Users")  # after the pause: a key of its own
    run.seconds_to_quit()
    assert len(run.log_lines("the flood of keys is over")) == 1


# -- ctrl+q in a form with unsaved changes (Pilot: the real app in-process) ----------------------

async def open_dirty_user_form(pilot) -> RecordFormScreen:
    await settle(pilot)
    await pilot.press("3")
    await settle(pilot)
    await pilot.press("enter")
    await settle(pilot)
    form = pilot.app.screen
    assert isinstance(form, RecordFormScreen)
    await pilot.press("X")
    await settle(pilot)
    assert form.is_dirty()
    return form


async def test_ctrl_q_in_a_form_with_unsaved_changes_asks_first(app):
    async with app.run_test() as pilot:
        form = await open_dirty_user_form(pilot)
        await pilot.press("ctrl+q")
        await settle(pilot)
        question = app.screen
        assert isinstance(question, ConfirmDialog), "ctrl+q asked"
        assert question.question == "Discard your unsaved changes to this user?"
        assert app.return_code is None, "still running"
        await pilot.press("n")  # keep editing
        await settle(pilot)
        assert app.screen is form and form.is_dirty() and app.return_code is None
        await pilot.press("ctrl+q")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("y")  # discard and quit
        await settle(pilot)
        assert app.return_code == 0


async def test_ctrl_q_on_the_discard_question_quits(app):
    async with app.run_test() as pilot:
        await open_dirty_user_form(pilot)
        await pilot.press("ctrl+q")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("ctrl+q")
        await settle(pilot)
        assert app.return_code == 0


async def test_ctrl_q_asks_for_a_dirty_form_under_another_screen_and_not_for_a_clean_one(app):
    async with app.run_test() as pilot:
        form = await open_dirty_user_form(pilot)
        await pilot.press("f10")  # the record's history, over the form
        await settle(pilot)
        assert app.screen is not form
        await pilot.press("ctrl+q")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmDialog) and app.return_code is None
        await pilot.press("n")
        await settle(pilot)
        await pilot.press("escape")  # back to the form
        await settle(pilot)
        await pilot.press("ctrl+s")  # saved: nothing to lose
        await settle(pilot)
        assert app.screen is form and not form.is_dirty()
        await pilot.press("ctrl+q")
        await settle(pilot)
        assert app.return_code == 0


async def test_ctrl_q_that_went_ahead_of_typed_keys_asks_in_a_form(app):
    """ctrl+q went ahead of keys still waiting: the form is clean, but those keys may have been
    edits, so it asks. A FAKE settle check that never settles holds the keys (on a busy machine a
    slow form does the same, but not on cue)."""
    async with app.run_test() as pilot:
        await settle(pilot)
        await pilot.press("3")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        form = app.screen
        assert isinstance(form, RecordFormScreen) and not form.is_dirty()

        async def never() -> None:
            await asyncio.Event().wait()

        app.input_queue.settle = never
        await pilot.press("X", "ctrl+q")
        await pilot.pause(input_queue.QUIT_PATIENCE + 0.3)
        await settle(pilot)
        assert isinstance(app.screen, ConfirmDialog), "ctrl+q asked"
        assert app.return_code is None and not form.is_dirty(), "X was dropped, not typed"
        del app.input_queue.settle  # the real check again
        await pilot.press("n")
        await settle(pilot)
        assert app.screen is form and app.return_code is None


# -- public ground --------------------------------------------------------------------------------

def private_names(source: str) -> list[str]:
    """`_name`s the code reaches on anything but `self`, and imports from Textual's private modules."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__"):
            if not (isinstance(node.value, ast.Name) and node.value.id == "self"):
                found.append(f"line {node.lineno}: .{node.attr}")
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("textual") \
                and any(part.startswith("_") for part in node.module.split(".")):
            found.append(f"line {node.lineno}: from {node.module}")
    return found


def test_the_input_queue_uses_no_private_textual_name():
    assert private_names(Path(input_queue.__file__).read_text(encoding="utf-8")) == []


@pytest.mark.parametrize("source", [
    "screen._callbacks",
    "self.app._closing",
    "from textual._time import get_time",
])
def test_the_private_name_check_itself_can_fail(source):
    assert private_names(source)
