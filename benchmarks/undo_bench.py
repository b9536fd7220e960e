"""Undo of a whole import benchmark (issue 13). Prints its figures.

    .venv/bin/python benchmarks/undo_bench.py [--rows 100000] [--per-record 2000] [--url URL]

1. Import --rows users and their mailboxes (history_bench's document: every row judged, passwords
   encrypted) into a new SQLite file (or the empty database at --url).
2. Undo the import as a whole (store/undo.py → store/undo_import.py), in a fresh process: seconds,
   and that process's peak memory (max RSS), next to an idle process's, so the undo's own share shows.
3. For comparison, the per-record path: --per-record of the import's user entries undone one by
   one through `undo()` (services.delete_user each), on a copy, timed and scaled to --rows.
4. With --index-cost RUNS: what the partial index on change_entry.batch (migration 8) costs the
   import with history: imports with it and with it dropped, alternating, best and median of each.

    .venv/bin/python benchmarks/undo_bench.py --postgres URL [--rows 100000]

On the PostgreSQL server at URL, in a new database (dropped afterwards), the commands an admin runs,
each in a process of its own (issue 22's figures): `mailbox-tui import` of the --rows JSON file (wall
time, CPU seconds, peak RSS from wait4; first the same import and its undo on SQLite, for the figures
side by side from one run), then `mailbox-tui undo` of it, with the undo's row locks
timed (store/locks.py: each statement's time, and how long each chunk's locks are held, to the
commit), while another connection saves a user of the import the undo locked first (how long that
save waits) and a user outside the import (which waits for nothing).
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cryptography.fernet import Fernet
from history_bench import _document  # this folder is on the path


def _import(url: str, n: int) -> int:
    from mailbox_tui.store import history
    from mailbox_tui.store.database import Store
    from mailbox_tui.store.exchange import import_document

    store = Store(url)
    store.actor = "bench@example.com"
    start = time.perf_counter()
    report = import_document(store, _document(n), source="bench.json")
    assert report.written and not report.errors, report.findings[:5]
    print(f"import of {n:,} users + mailboxes: {time.perf_counter() - start:.2f} s")
    event = history.ChangeEntry.get(history.ChangeEntry.action == history.IMPORT).id
    store.close()
    return event


def _import_timed(path: Path, n: int, doc: dict, with_index: bool) -> float:
    from mailbox_tui.store.database import Store
    from mailbox_tui.store.exchange import import_document

    store = Store(f"sqlite:///{path}")
    if not with_index:
        store.db.execute_sql('DROP INDEX IF EXISTS "change_entry_batch"')
    start = time.perf_counter()
    report = import_document(store, doc, source="bench.json")
    elapsed = time.perf_counter() - start
    assert report.written and not report.errors
    store.close()
    for leftover in path.parent.glob(path.name + "*"):
        leftover.unlink()
    return elapsed


def bench_index_cost(tmp: Path, n: int, runs: int) -> None:
    import statistics

    doc = _document(n)
    times: dict[bool, list[float]] = {True: [], False: []}
    for run in range(runs):
        for flag in ((True, False) if run % 2 == 0 else (False, True)):
            times[flag].append(_import_timed(tmp / f"index-{run}-{int(flag)}.db", n, doc, flag))
    with_, without = times[True], times[False]
    print(f"import of {n:,} users + mailboxes with history, {runs} runs each:")
    print(f"  without the batch index  best {min(without):.2f} s  median {statistics.median(without):.2f} s")
    print(f"  with the batch index     best {min(with_):.2f} s  median {statistics.median(with_):.2f} s"
          f"   ({100 * (statistics.median(with_) / statistics.median(without) - 1):+.1f}% median)")


def _peak_kb() -> int:
    """This process's peak resident memory (VmHWM: unlike ru_maxrss, not inherited across exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _child(url: str, what: str, event: int, count: int) -> None:
    """Runs in a fresh process: prints one JSON line with seconds and max RSS."""
    from mailbox_tui.store import history
    from mailbox_tui.store.database import Store
    from mailbox_tui.store.models import AppUser, Mailbox
    from mailbox_tui.store.undo import undo

    store = Store(url)
    store.actor = "bench@example.com"
    rss_before = _peak_kb()
    start = time.perf_counter()
    if what == "whole":
        undo(store, event)
        left = (AppUser.select().count(), Mailbox.select().count())
        assert left == (0, 0), left
    elif what == "per-record":
        ids = [e.id for e in history.ChangeEntry.select(history.ChangeEntry.id)
               .where(history.ChangeEntry.batch == event, history.ChangeEntry.kind == "user")
               .order_by(history.ChangeEntry.id.desc()).limit(count)]
        for entry_id in ids:
            undo(store, entry_id)
    seconds = time.perf_counter() - start
    store.close()
    print(json.dumps({"seconds": seconds, "rss_before_kb": rss_before,
                      "rss_peak_kb": _peak_kb()}))


def _timed_undo(url: str, event: int) -> None:
    """Runs in a fresh process: `mailbox-tui undo EVENT` as the command runs it, each row lock timed.
    Prints one JSON line: seconds, peak RSS, and each lock statement's [start, seconds, rows, table]."""
    from mailbox_tui import cli
    from mailbox_tui.store import locks, undo_import

    timed, plain = [], locks.lock_rows
    start = time.perf_counter()

    def lock_rows(store, model, ids) -> None:
        ids = list(ids)
        began = time.perf_counter()
        plain(store, model, ids)
        timed.append([began - start, time.perf_counter() - began, len(ids), model._meta.table_name])

    locks.lock_rows = undo_import.lock_rows = lock_rows  # lock_entry finds it in locks' globals
    code = cli.main(["undo", str(event), "--db", url])
    seconds = time.perf_counter() - start  # committed: every lock is released here
    assert code == 0, code
    print(json.dumps({"seconds": seconds, "rss_peak_kb": _peak_kb(), "locks": timed}))


def _run_child(url: str, what: str, event: int, count: int = 0) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", what, "--url", url, "--event", str(event),
                          "--per-record", str(count)], check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def bench_postgres(server: str, n: int) -> None:
    """Issue 22's figures on PostgreSQL: the import and its undo as an admin runs them, the undo's locks."""
    import os
    import threading
    from urllib.parse import urlsplit, urlunsplit

    import psycopg
    from store_bench import _cli, _start_launcher, _write_json  # this folder is on the path

    _start_launcher()  # before this process grows: a child's peak RSS is its own
    os.environ.setdefault("MAILBOX_TUI_KEY", Fernet.generate_key().decode())
    name = f"undo_bench_{os.getpid()}"
    admin = psycopg.connect(server, autocommit=True)
    version = admin.execute("SHOW server_version").fetchone()[0]
    admin.execute(f'CREATE DATABASE "{name}"')
    url = urlunsplit(urlsplit(server)._replace(path=f"/{name}"))
    try:
        with tempfile.TemporaryDirectory() as tmp:
            outsider = Path(tmp) / "outsider.json"  # a user the undo does not touch
            outsider.write_text(json.dumps({"users": [{"fullname": "Out Sider",
                                                       "internalemailaddress": "outsider@example.com"}]}))
            _cli("import", outsider, "--db", url)
            path = Path(tmp) / "bench.json"
            _write_json(path, n)
            lite = f"sqlite:///{Path(tmp) / 'next-to.db'}"  # the same commands on SQLite, in the same run
            sqlite = [_cli("import", path, "--db", lite)]
            sqlite.append(_cli("undo", _last_import(lite), "--db", lite))
            run = _cli("import", path, "--db", url)
        db = psycopg.connect(url, autocommit=True)
        event, first_user = db.execute(
            "SELECT e.id, min(r.record_id) FROM change_entry e JOIN change_entry r ON r.batch = e.id "
            "AND r.kind = 'user' WHERE e.id = (SELECT max(id) FROM change_entry WHERE action = 'import') "
            "GROUP BY e.id").fetchone()
        outside = db.execute("SELECT id FROM app_user WHERE email_key = 'outsider@example.com'").fetchone()[0]
        db.close()
        idle = _run_child(url, "idle", event)
        saves: dict = {}
        undo = subprocess.Popen([sys.executable, __file__, "--child", "timed-undo", "--url", url,
                                 "--event", str(event)], stdout=subprocess.PIPE, text=True)
        saver = threading.Thread(target=_save_while_undoing, args=(url, first_user, outside, undo, saves))
        saver.start()
        out, _ = undo.communicate()
        saver.join()
        assert undo.returncode == 0, out
        whole = json.loads(out.strip().splitlines()[-1])
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()
    _report_postgres(version, n, run, idle, whole, saves, sqlite)


def _last_import(url: str) -> int:
    import sqlite3

    con = sqlite3.connect(url.removeprefix("sqlite:///"))
    (entry,) = con.execute("SELECT max(id) FROM change_entry WHERE action = 'import'").fetchone()
    con.close()
    return entry


def _save_while_undoing(url: str, first_user: int, outside: int, undo: subprocess.Popen, saves: dict) -> None:
    """Another admin: once the undo holds the import's first user, a save of it (how long it waits, and
    whether it still found the user), and of a user outside the import."""
    import psycopg

    con = psycopg.connect(url, autocommit=True)
    while undo.poll() is None:
        try:
            with con.transaction():
                con.execute("SELECT id FROM app_user WHERE id = %s FOR UPDATE NOWAIT", (first_user,))
            time.sleep(0.02)  # not locked yet: look again (a probe, not a save: it changes nothing)
        except psycopg.errors.LockNotAvailable:
            began = time.perf_counter()
            con.execute("UPDATE app_user SET version = version + 1 WHERE id = %s", (outside,))
            saves["outside_ms"] = (time.perf_counter() - began) * 1000
            began = time.perf_counter()
            found = con.execute("UPDATE app_user SET version = version + 1 WHERE id = %s", (first_user,)).rowcount
            saves["inside_s"], saves["inside_found"] = time.perf_counter() - began, found
            break
    con.close()


def _report_postgres(version: str, n: int, run, idle: dict, whole: dict, saves: dict, sqlite: list) -> None:
    import statistics

    locks = [lock for lock in whole["locks"] if lock[3] != "change_entry"]  # the records, not the entry itself
    statement = sorted(lock[1] * 1000 for lock in locks)
    held = [whole["seconds"] - (lock[0] + lock[1]) for lock in locks]
    print(f"PostgreSQL {version}, {n:,} users + {n:,} mailboxes (history_bench's document as a JSON file)")
    print(f"mailbox-tui import: {run.wall:.2f} s, {run.cpu:.2f} CPU s, peak RSS {run.rss:.0f} MB")
    print(f"  (SQLite, the same file in the same run: import {sqlite[0].wall:.2f} s, {sqlite[0].cpu:.2f} CPU s, "
          f"peak RSS {sqlite[0].rss:.0f} MB; its undo {sqlite[1].wall:.2f} s, {sqlite[1].cpu:.2f} CPU s, "
          f"peak RSS {sqlite[1].rss:.0f} MB)")
    print(f"mailbox-tui undo of that import ({2 * n:,} records, one transaction): {whole['seconds']:.2f} s, "
          f"peak RSS {whole['rss_peak_kb'] / 1024:.0f} MiB (an idle process with the store open: "
          f"{idle['rss_peak_kb'] / 1024:.0f} MiB)")
    print(f"  its row locks: {len(locks)} statements of up to {max(lock[2] for lock in locks)} rows, each "
          f"median {statistics.median(statement):.1f} ms, max {statement[-1]:.1f} ms; all of them "
          f"{sum(statement) / 1000:.2f} s")
    print(f"  a chunk's locks are held until the commit: {min(held):.2f} s (the last chunk locked) to "
          f"{max(held):.2f} s (the first)")
    if "inside_s" in saves:
        print(f"  another admin's save of the import's first user, made once the undo held it: waited "
              f"{saves['inside_s']:.2f} s, then found {'it' if saves['inside_found'] else 'no such user'}; "
              f"a save of a user outside the import meanwhile: {saves['outside_ms']:.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--per-record", type=int, default=2000)
    parser.add_argument("--url", help="an empty database (default: a new SQLite file)")
    parser.add_argument("--index-cost", type=int, default=0, metavar="RUNS")
    parser.add_argument("--postgres", metavar="URL", help="a PostgreSQL server: import and undo there (issue 22)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--event", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child == "timed-undo":
        _timed_undo(args.url, args.event)
        return
    if args.child:
        _child(args.url, args.child, args.event, args.per_record)
        return
    if args.postgres:
        bench_postgres(args.postgres, args.rows)
        return
    import os

    os.environ.setdefault("MAILBOX_TUI_KEY", Fernet.generate_key().decode())
    with tempfile.TemporaryDirectory() as tmp:
        if args.index_cost:
            bench_index_cost(Path(tmp), args.rows, args.index_cost)
        path = Path(tmp) / "undo.db"
        url = args.url or f"sqlite:///{path}"
        event = _import(url, args.rows)
        if args.per_record and not args.url:
            copy = Path(tmp) / "per-record.db"
            shutil.copy(path, copy)
            one = _run_child(f"sqlite:///{copy}", "per-record", event, args.per_record)
            per = one["seconds"] / args.per_record
            print(f"per-record path: {args.per_record:,} users (with their mailboxes) undone one by one in "
                  f"{one['seconds']:.2f} s = {per * 1000:.2f} ms each -> {per * args.rows:.0f} s for {args.rows:,}")
        idle = _run_child(url, "idle", event)
        whole = _run_child(url, "whole", event)
        print(f"undo of the import as a whole ({args.rows:,} users + {args.rows:,} mailboxes, one transaction): "
              f"{whole['seconds']:.2f} s = {2 * args.rows / whole['seconds']:,.0f} records/s")
        print(f"  peak memory (max RSS) of the undoing process: {whole['rss_peak_kb'] / 1024:.0f} MiB; "
              f"an idle process with the store open: {idle['rss_peak_kb'] / 1024:.0f} MiB; "
              f"the undo's own: {(whole['rss_peak_kb'] - idle['rss_peak_kb']) / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
