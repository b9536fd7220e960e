"""Change history benchmark (issue 13). Prints its figures.

    .venv/bin/python benchmarks/history_bench.py [--rows 100000] [--entries 1000000] [--runs 2]

1. Import of --rows users and their mailboxes (every row judged, passwords encrypted) into a new
   SQLite file, without history and with it, alternating, in the same run: the history's cost
   (target: at most 15% slower).
2. The History page's reads at --entries entries: the first page, a page from the middle (keyed),
   each view, and a filter keystroke (count and first page) for many / rare / no matches and 1–2
   characters, next to the mailbox list's on the same database (median and p95).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from cryptography.fernet import Fernet
from store_bench import _timed  # median and p95 of a call, after one warm-up (this folder is on the path)


def _document(n: int) -> dict:
    users = [{"fullname": f"User {i:06d}", "internalemailaddress": f"user{i:06d}@example.com"} for i in range(n)]
    boxes = [{"regarding": {"user": f"user{i:06d}@example.com"}, "emailserverprofile": "Corporate IMAP",
              "allowemailconnectortousecredentials": True, "username": f"user{i:06d}@example.com",
              "password": f"pw-{i:06d}", "incomingemaildeliverymethod": 2, "outgoingemaildeliverymethod": 2}
             for i in range(n)]
    profile = {"name": "Corporate IMAP", "servertype": 4, "incomingserverlocation": "imap.example.com",
               "outgoingserverlocation": "smtp.example.com"}
    return {"profiles": [profile], "users": users, "mailboxes": boxes}


RECORDER_S = [0.0]  # time spent inside the recorder's own functions during an import
INDEX_S = [0.0]  # of which adding the entries to the History filter's index


def _timing_the_recorder() -> None:
    """Wrap the recorder's functions so the benchmark can print their own share of an import."""
    from mailbox_tui.store import history
    from mailbox_tui.store.exchange import write

    for name in ("record", "record_created", "record_event", "amend_event", "capture"):
        original = getattr(history, name)

        def timed(*args, _original=original, **kwargs):
            start = time.perf_counter()
            try:
                return _original(*args, **kwargs)
            finally:
                RECORDER_S[0] += time.perf_counter() - start

        setattr(history, name, timed)
    write.history = history
    from mailbox_tui.store import history_search

    original_index = history_search.index_entries

    def timed_index(*args, **kwargs):
        start = time.perf_counter()
        try:
            return original_index(*args, **kwargs)
        finally:
            INDEX_S[0] += time.perf_counter() - start

    history_search.index_entries = timed_index


def _import_once(path: Path, doc: dict, with_history: bool) -> float:
    from mailbox_tui.store import history
    from mailbox_tui.store.database import Store
    from mailbox_tui.store.exchange import import_document

    store = Store(f"sqlite:///{path}")
    store.actor = "bench@example.com"
    start = time.perf_counter()
    with history.operation(enabled=with_history):
        report = import_document(store, doc, source="bench.json")
    elapsed = time.perf_counter() - start
    assert report.written and not report.errors, report.findings[:5]
    entries = history.ChangeEntry.select().count()
    assert (entries > 0) == with_history, entries
    store.close()
    return elapsed


def bench_import(tmp: Path, n: int, runs: int) -> None:
    doc = _document(n)
    _timing_the_recorder()
    without, with_, recorder, index = [], [], [], []
    for run in range(runs):
        order = ((False, without), (True, with_)) if run % 2 == 0 else ((True, with_), (False, without))
        for flag, times in order:  # alternating which goes first
            path = tmp / f"import-{run}-{int(flag)}.db"
            RECORDER_S[0] = INDEX_S[0] = 0.0
            times.append(_import_once(path, doc, flag))
            if flag:
                recorder.append(RECORDER_S[0])
                index.append(INDEX_S[0])
    a, b = min(without), min(with_)
    print(f"import of {n:,} users + mailboxes ({runs} runs each, best):")
    print(f"  without history  {a:7.2f} s  {n / a:9,.0f} mailboxes/s   (all: {', '.join(f'{t:.2f}' for t in without)})")
    print(f"  with history     {b:7.2f} s  {n / b:9,.0f} mailboxes/s   (all: {', '.join(f'{t:.2f}' for t in with_)})")
    print(f"  history costs {100 * (b / a - 1):+.1f}%   (target: at most +15%)")
    ma, mb = statistics.median(without), statistics.median(with_)
    print(f"  medians: {ma:.2f} s without, {mb:.2f} s with: {100 * (mb / ma - 1):+.1f}%")
    r = statistics.median(recorder)
    print(f"  of which inside the recorder (median): {r:.2f} s = {100 * r / a:.1f}% of the import without history;"
          " the rest is SQLite writing the entries at commit")
    i = statistics.median(index)
    print(f"  of which the History filter's index (median): {i:.2f} s = {100 * i / a:.1f}% of the import without "
          "history")


def _fill_entries(path: Path, count: int) -> None:
    """`count` entries on the database of the import, written as the recorder writes them (its own
    bulk insert, which also adds them to the filter's index), 20,000 a statement."""
    from mailbox_tui.store import history
    from mailbox_tui.store.database import Store
    from mailbox_tui.store.models import utcnow

    store = Store(f"sqlite:///{path}")
    admins = ["alice@example.com", "bob@example.com", "carla@example.com"]
    actions = ["update", "approve", "reject", "delete", "create", "update", "test", "update"]
    now = utcnow()
    start_time = time.perf_counter()
    with store.transaction():
        have = history.ChangeEntry.select().count()
        todo = max(0, count - have)
        for start in range(0, todo, 20_000):
            size = min(20_000, todo - start)
            rows = []
            for j in range(size):
                i = start + j
                rows.append({"at": now, "admin": admins[i % 3], "os_user": "bench", "host": "bench",
                             "kind": "mailbox", "record_key": f"User {i % 100_000:06d}", "record_id": i % 100_000 + 1,
                             "action": actions[i % len(actions)],
                             "changes": '[["incoming", 0, 2], ["outgoing", 0, 2]]',
                             "credentials": i % 10 == 0, "batch": None, "undoes": None, "parent": None})
            history._insert(rows, None)
    if todo:
        print(f"{todo:,} entries written through the recorder (with the filter's index) in "
              f"{time.perf_counter() - start_time:.1f} s")
    store.close()


def _index_size(path: Path) -> str:
    import sqlite3

    con = sqlite3.connect(path)
    try:
        pages = dict(con.execute("SELECT name LIKE 'change_entry_text%', SUM(pgsize) FROM dbstat GROUP BY 1"))
    except sqlite3.Error:
        return ""
    finally:
        con.close()
    return f"; the filter's index: {pages.get(1, 0) / 2**20:.0f} MiB of {sum(pages.values()) / 2**20:.0f} MiB"


# A filter keystroke's cases: (what, the History's filter, the mailbox list's). The bench's entries
# are "User NNNNNN" (10 entries each), three admins, eight actions, one kind; its mailboxes are
# "User NNNNNN" <userNNNNNN@example.com>.
FILTERS = [
    ("many", "delete", "user 0"),
    ("many", "bob@", "example"),
    ("rare", "user 0123", "user 0123"),
    ("rare", "000123", "000123"),
    ("none", "zzz-nothing", "zzz-nothing"),
    ("1 char, many", "b", "u"),
    ("1 char, none", "q", "q"),
    ("2 chars, rare", "7b", "7b"),
    ("2 chars, none", "zq", "zq"),
]


def bench_page(path: Path, count: int) -> None:
    from mailbox_tui.store import history_read, queries
    from mailbox_tui.store.database import Store

    _fill_entries(path, count)
    store = Store(f"sqlite:///{path}")
    store.actor = "alice@example.com"
    total = history_read.count_entries(store, "all", "", cap=None)
    print(f"History page at {total:,} entries (200 rows a page){_index_size(path)}; median / p95 in ms.")
    print("A filter keystroke is what the screens do: count (History: capped at 10,000; Mailboxes: all) + "
          "first page.")
    middle = history_read.history_page(store, "all", "", limit=1, after=(total // 2,))[0].id
    cases = [
        ("mailbox list, first page", lambda: queries.mailbox_page("all", "", limit=200)),
        ("history, first page", lambda: history_read.history_page(store, "all", "", limit=200)),
        ("history, page from the middle", lambda: history_read.history_page(store, "all", "", limit=200,
                                                                            after=(middle,))),
    ]
    for view in history_read.VIEWS:
        cases.append((f"history, view {view!r}", lambda v=view: history_read.history_page(store, v, "", limit=200)))
    for name, fn in cases:
        median, p95 = _timed(fn, 30)
        print(f"  {name:44s} {median:8.1f} {p95:8.1f}")
    print(f"  {'filter keystroke':20s} {'history':>27s} {'mailbox list':>30s}")
    for what, text, box_text in FILTERS:
        def history_key(t=text):
            history_read.count_entries(store, "all", t)
            history_read.history_page(store, "all", t, limit=200)

        def mailbox_key(t=box_text):
            queries.count_mailboxes("all", t)
            queries.mailbox_page("all", t, limit=200)

        h = _timed(history_key, 30)
        m = _timed(mailbox_key, 30)
        print(f"  {what:14s} {text!r:>14s} {h[0]:7.1f} {h[1]:7.1f}   {box_text!r:>14s} {m[0]:7.1f} {m[1]:7.1f}")
    store.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--skip-import", action="store_true")
    parser.add_argument("--skip-page", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("MAILBOX_TUI_KEY", Fernet.generate_key().decode())
    tmp = Path(tempfile.mkdtemp(prefix="history-bench-"))
    if not args.skip_import:
        bench_import(tmp, args.rows, args.runs)
    if not args.skip_page:
        path = tmp / "page.db"
        if not path.exists():
            _import_once(path, _document(args.rows), True)
        bench_page(path, args.entries)


if __name__ == "__main__":
    main()
