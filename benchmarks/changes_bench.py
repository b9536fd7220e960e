"""Changes seen live (issue 22, item 4): how long after another process commits a write the app hears of it.
Prints its figures.

    .venv/bin/python benchmarks/changes_bench.py [--writes 15] [--postgres URL]

A second process (this script, run again as the writer) saves a user through the services --writes times,
1.5 s apart (the listener makes one signal of a burst within 1 s), and prints the wall-clock time each
save committed. This process listens with store/changes.watch, as the app's worker does, and prints
the median and the worst delay from commit to heard, on SQLite (PRAGMA data_version, read every
0.5 s) and, with --postgres (a server URL, as tests/support/postgres.py start prints), on
PostgreSQL (LISTEN/NOTIFY). It also counts what the listener heard while nothing was written.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))


def writer(url: str, writes: int) -> None:
    from mailbox_tui.domain.records import UserDraft
    from mailbox_tui.store import services
    from mailbox_tui.store.database import Store

    with Store(url) as store:
        user_id = services.user_id_for_email("bench@example.com")
        for n in range(writes):
            time.sleep(1.5)
            base = services.get_user(store, user_id)
            services.update_user(store, base, UserDraft(**{**base.__dict__, "full_name": f"Bench {n}"}))
            print(time.time(), flush=True)


def measure(url: str, writes: int) -> tuple[list[float], int]:
    from mailbox_tui.domain.records import UserDraft
    from mailbox_tui.store import changes, services
    from mailbox_tui.store.database import Store

    with Store(url) as store:
        services.create_user(store, UserDraft(full_name="Bench", email="bench@example.com"))
        heard: list[float] = []
        stop = threading.Event()

        def listen() -> None:
            for _ in changes.watch(store, stop):
                heard.append(time.time())

        thread = threading.Thread(target=listen, daemon=True)
        thread.start()
        time.sleep(3.0)
        idle = len(heard)  # nothing was written meanwhile
        out = subprocess.run([sys.executable, __file__, "--write", url, "--writes", str(writes)],
                             capture_output=True, text=True, check=True, env=os.environ.copy())
        time.sleep(1.5)
        stop.set()
        thread.join(10)
    committed = [float(line) for line in out.stdout.split()]
    delays = []
    for at in committed:
        after = [h - at for h in heard if h >= at - 0.001]
        if after:
            delays.append(max(0.0, min(after)))  # (a notification can arrive before the writer prints)
    return delays, idle


def report(name: str, delays: list[float], writes: int, idle: int) -> None:
    print(f"{name}: {len(delays)} of {writes} writes heard; commit to heard median "
          f"{statistics.median(delays) * 1000:.1f} ms, worst {max(delays) * 1000:.1f} ms (target 2,000 ms); "
          f"heard while idle: {idle}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--writes", type=int, default=15)
    parser.add_argument("--postgres", help="a PostgreSQL server URL: a new database of it is used")
    parser.add_argument("--write", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.write:
        writer(args.write, args.writes)
        return
    from cryptography.fernet import Fernet

    os.environ.setdefault("MAILBOX_TUI_KEY", Fernet.generate_key().decode())
    folder = Path(tempfile.mkdtemp(prefix="changes-bench-"))
    delays, idle = measure(f"sqlite:///{folder / 'bench.db'}", args.writes)
    report("SQLite (data_version every 0.5 s)", delays, args.writes, idle)
    if args.postgres:
        import psycopg
        from support.postgres import database_url

        name = f"changes_bench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(args.postgres, autocommit=True) as con:
            con.execute(f'CREATE DATABASE "{name}"')
        try:
            delays, idle = measure(database_url(args.postgres, name), args.writes)
            report("PostgreSQL (LISTEN/NOTIFY)", delays, args.writes, idle)
        finally:
            with psycopg.connect(args.postgres, autocommit=True) as con:
                con.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
