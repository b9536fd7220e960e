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


def _run_child(url: str, what: str, event: int, count: int = 0) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", what, "--url", url, "--event", str(event),
                          "--per-record", str(count)], check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--per-record", type=int, default=2000)
    parser.add_argument("--url", help="an empty database (default: a new SQLite file)")
    parser.add_argument("--index-cost", type=int, default=0, metavar="RUNS")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--event", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args.url, args.child, args.event, args.per_record)
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
