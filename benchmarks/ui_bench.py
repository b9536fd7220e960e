"""UI benchmark: 100,000 mailboxes in SQLite, headless at 80×24. Prints its figures.

    .venv/bin/python benchmarks/ui_bench.py [--rows 100000]

Pilot adds its own cost to every key press, so each "app" figure is the app's own time, from
the moment the key's handler starts to the moment the screen's state is updated (stamped inside
the app by wrapping its handlers here), next to the whole Pilot round trip for the same key.
Launch is compared with an empty Textual app's first paint, measured the same way in this run.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cryptography.fernet import Fernet

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))


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

        # keystroke to updated validation message
        await pilot.press("enter")
        await settle(pilot)
        form = app.screen
        form.query_one("#email").focus()
        stamps["validate"].clear()
        press_ms = []
        for ch in "broken@" + "x" * 20 + "@example.com":
            begin = time.perf_counter()
            await pilot.press(ch)
            press_ms.append((time.perf_counter() - begin) * 1000)
        out["validate_app"] = median_p95(stamps["validate"])
        out["validate_pilot"] = median_p95(press_ms)
        await pilot.press("escape", "y")
    store.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    os.environ["MAILBOX_TUI_KEY"] = Fernet.generate_key().decode()
    os.environ["XDG_CONFIG_HOME"] = tempfile.mkdtemp(prefix="mailbox-ui-bench-cfg-")

    url = f"sqlite:///{Path(tempfile.mkdtemp(prefix='mailbox-ui-bench-')) / 'ui.db'}"
    # Built in another process, so the peak RSS below is the app's own.
    build = ("import sys; sys.path.insert(0, 'tests'); from support.bulk import add_users_with_mailboxes; "
             "from mailbox_tui.store.database import Store; s = Store(sys.argv[1]); "
             "add_users_with_mailboxes(s, int(sys.argv[2])); s.close()")
    subprocess.run([sys.executable, "-c", build, url, str(args.rows)], check=True,
                   cwd=Path(__file__).resolve().parent.parent)

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
