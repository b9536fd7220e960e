"""UI benchmark: 100,000 mailboxes in SQLite, headless at 80×24. Prints its figures.

    .venv/bin/python benchmarks/ui_bench.py [--rows 100000]

Pilot adds its own cost to every key press, so each "app" figure is the app's own time, from
the moment the key's handler starts to the moment the screen's state is updated (stamped inside
the app by wrapping its handlers here), next to the whole Pilot round trip for the same key.
Launch is compared with an empty Textual app's first paint, measured the same way in this run.

The 100,000-mailbox database is built once and kept (see `cached_database`): reruns start at once.
benchmarks/terminal_bench.py measures the same app through a real pseudo-terminal and reuses
this file's database and its validation figure.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
SEED_VERSION = 3  # bump when what the seed writes changes: cached databases are rebuilt

# Run in another process, so the peak RSS of a benchmark is the app's own.
_BUILD = """
import sys
sys.path.insert(0, 'tests')
from support.bulk import add_users_with_mailboxes
from mailbox_tui.domain.options import IncomingMethod, OutgoingMethod, ServerType
from mailbox_tui.domain.records import ProfileDraft
from mailbox_tui.store import services
from mailbox_tui.store.database import Store

store = Store(sys.argv[1])
with store.transaction():
    imap = services.create_profile(store, ProfileDraft(
        name="Corporate IMAP", server_type=ServerType.IMAP_SMTP, incoming_location="imap.example.com",
        outgoing_location="smtp.example.com"))
    org = services.org_settings(store)
    services.update_org_settings(store, org, services.OrgSettings(**{
        **org.__dict__, "default_profile_id": imap.id, "default_incoming": IncomingMethod.SERVER_SIDE_SYNC,
        "default_outgoing": OutgoingMethod.SERVER_SIDE_SYNC}))
add_users_with_mailboxes(store, int(sys.argv[2]))
store.db.execute_sql("ANALYZE" if store.is_postgres else "PRAGMA wal_checkpoint(TRUNCATE)")
store.close()
"""


def seed(url: str, rows: int, key: str) -> None:
    """The benchmark's organisation into the empty database at `url` (SQLite or PostgreSQL)."""
    subprocess.run([sys.executable, "-c", _BUILD, url, str(rows)], check=True, cwd=ROOT,
                   env={**os.environ, "MAILBOX_TUI_KEY": key})


def cached_database(rows: int) -> tuple[Path, str]:
    """An SQLite file of `rows` users, each with a user mailbox using the profile "Corporate IMAP"
    (the organisation's default), and its key. Built once per schema version, row count and seed
    version, in the temp folder (MAILBOX_TUI_BENCH_CACHE to change it); reruns reuse it."""
    from mailbox_tui.store.database import SCHEMA_VERSION

    folder = Path(os.environ.get("MAILBOX_TUI_BENCH_CACHE") or Path(tempfile.gettempdir()) / "mailbox-tui-bench")
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"mailboxes-schema{SCHEMA_VERSION}-seed{SEED_VERSION}-{rows}.db"
    key_file = path.with_suffix(".key")
    if not (path.exists() and key_file.exists()):
        key = Fernet.generate_key().decode()
        partial = path.with_suffix(".partial")
        for stale in folder.glob(partial.name + "*"):
            stale.unlink()
        start = time.perf_counter()
        seed(f"sqlite:///{partial}", rows, key)
        key_file.write_text(key)
        partial.rename(path)
        print(f"(built {path} in {time.perf_counter() - start:.1f} s; reused by later runs)", file=sys.stderr)
    return path, key_file.read_text().strip()


def copy_database(rows: int, folder: Path) -> tuple[str, str]:
    """A fresh copy of the cached database for one run (the app may write to it); its URL and key."""
    path, key = cached_database(rows)
    target = folder / "bench.db"
    shutil.copyfile(path, target)
    return f"sqlite:///{target}", key


def median_p95(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[max(int(len(ordered) * 0.95) - 1, 0)]


async def empty_app_first_paint() -> float:
    """Textual already imported, as it is for our app's figure."""
    from textual.app import App
    from textual.widgets import Static

    class Empty(App):
        def compose(self):
            yield Static("hello")

    start = time.perf_counter()
    app = Empty()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        return time.perf_counter() - start


async def measure(url: str) -> dict:
    from support.ui import settle

    from mailbox_tui.store.database import Store
    from mailbox_tui.ui.app import MailboxApp
    from mailbox_tui.ui.screens.mailbox_form import MailboxFormScreen
    from mailbox_tui.ui.screens.mailbox_list import MailboxListScreen

    stamps: dict[str, list[float]] = {"filter_start": [], "rows_applied": [], "validate": []}
    original_reload = MailboxListScreen.reload
    original_loaded = MailboxListScreen.on_rows_loaded
    original_validate = MailboxFormScreen.validate

    def reload(self):  # what a filter keystroke's handler calls first
        stamps["filter_start"].append(time.perf_counter())
        return original_reload(self)

    def rows_loaded(self, message):
        result = original_loaded(self, message)
        stamps["rows_applied"].append(time.perf_counter())
        return result

    def validate(self):
        start = time.perf_counter()
        result = original_validate(self)
        stamps["validate"].append((time.perf_counter() - start) * 1000)
        return result

    MailboxListScreen.reload = reload
    MailboxListScreen.on_rows_loaded = rows_loaded
    MailboxFormScreen.validate = validate

    start = time.perf_counter()
    store = Store(url)
    app = MailboxApp(store, acting="user000000@example.com")
    out = {}
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()  # as for the empty app: the first paint, which shows the first rows
        out["launch_s"] = time.perf_counter() - start
        screen = app.screen
        assert screen.table.count > 0, "rows are on screen at first paint"
        await settle(pilot)

        # filter keystrokes: type, then clear, 50 keystrokes in all
        await pilot.press("slash")
        app_ms, pilot_ms = [], []
        text = "user0421"
        for round_ in range(10):
            for ch in text[:5] if round_ % 2 else text[:5]:
                loads = screen.loads
                begin = time.perf_counter()
                await pilot.press(ch)
                while screen.loads == loads:
                    await asyncio.sleep(0.001)
                pilot_ms.append((time.perf_counter() - begin) * 1000)
                app_ms.append((stamps["rows_applied"][-1] - stamps["filter_start"][-1]) * 1000)
            await pilot.press("ctrl+u")
            await settle(pilot)
        out["filter_app"] = median_p95(app_ms)
        out["filter_pilot"] = median_p95(pilot_ms)

        # open a mailbox form
        await pilot.press("escape")
        await settle(pilot)
        opens = []
        for _ in range(5):
            begin = time.perf_counter()
            await pilot.press("enter")
            while not isinstance(app.screen, MailboxFormScreen) or not app.screen.validations:
                await asyncio.sleep(0.001)
            await pilot.pause()
            opens.append((time.perf_counter() - begin) * 1000)
            await pilot.press("escape")
            await settle(pilot)
        out["open_form"] = median_p95(opens)

        out["validate_app"], out["validate_pilot"] = await _validation_keystrokes(pilot, stamps)
    store.close()
    return out


async def _validation_keystrokes(pilot, stamps) -> tuple[tuple[float, float], tuple[float, float]]:
    """Open the highlighted mailbox, type an address into Email Address: the app's own time to
    judge the form again per key, and Pilot's round trip."""
    from support.ui import settle

    await pilot.press("enter")
    await settle(pilot)
    form = pilot.app.screen
    form.query_one("#email").focus()
    stamps["validate"].clear()
    press_ms = []
    for ch in "broken@" + "x" * 20 + "@example.com":
        begin = time.perf_counter()
        await pilot.press(ch)
        press_ms.append((time.perf_counter() - begin) * 1000)
    await pilot.press("escape", "y")
    return median_p95(stamps["validate"]), median_p95(press_ms)


async def measure_validation(url: str) -> tuple[float, float]:
    """Only the validation keystroke (the app's own time, median and p95), for terminal_bench."""
    from support.ui import settle

    from mailbox_tui.store.database import Store
    from mailbox_tui.ui.app import MailboxApp
    from mailbox_tui.ui.screens.mailbox_form import MailboxFormScreen

    stamps: dict[str, list[float]] = {"validate": []}
    original_validate = MailboxFormScreen.validate

    def validate(self):
        start = time.perf_counter()
        result = original_validate(self)
        stamps["validate"].append((time.perf_counter() - start) * 1000)
        return result

    MailboxFormScreen.validate = validate
    try:
        store = Store(url)
        app = MailboxApp(store, acting="user000000@example.com")
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            figure, _ = await _validation_keystrokes(pilot, stamps)
        store.close()
    finally:
        MailboxFormScreen.validate = original_validate
    return figure


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mailbox-ui-bench-") as work:
        os.environ["XDG_CONFIG_HOME"] = str(Path(work) / "config")
        url, os.environ["MAILBOX_TUI_KEY"] = copy_database(args.rows, Path(work))

        import mailbox_tui.ui.app  # noqa: F401  imports are paid before either clock starts

        asyncio.run(empty_app_first_paint())  # warm-up
        empty = statistics.median(asyncio.run(empty_app_first_paint()) for _ in range(3))
        figures = asyncio.run(measure(url))
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    print(f"rows: {args.rows:,} mailboxes in SQLite, headless 80x24")
    print(f"empty Textual app, first paint: {empty * 1000:.0f} ms")
    print(f"launch to interactive list: {figures['launch_s'] * 1000:.0f} ms "
          f"({figures['launch_s'] / empty:.2f}x the empty app)")
    fa, fp = figures["filter_app"], figures["filter_pilot"]
    print(f"filter keystroke to updated list, app's own time: median {fa[0]:.1f} ms, p95 {fa[1]:.1f} ms "
          f"(with Pilot's round trip: median {fp[0]:.1f} ms, p95 {fp[1]:.1f} ms)")
    of = figures["open_form"]
    print(f"open a mailbox form (Pilot round trip included): median {of[0]:.1f} ms, p95 {of[1]:.1f} ms")
    va, vp = figures["validate_app"], figures["validate_pilot"]
    print(f"keystroke to updated validation messages, app's own time: median {va[0]:.2f} ms, p95 {va[1]:.2f} ms "
          f"(with Pilot's round trip: median {vp[0]:.1f} ms)")
    print(f"peak RSS of the app process: {rss:.0f} MB")


if __name__ == "__main__":
    main()
