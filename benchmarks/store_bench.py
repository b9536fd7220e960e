"""Store benchmark: bulk import, keyed page, filtered page, peak memory. Prints its figures.

    .venv/bin/python benchmarks/store_bench.py [--rows 100000] [--big-rows 1000000]

The import goes through the real importer (every row judged by the domain rules, passwords
encrypted with Fernet); the raw figure is sqlite3.executemany of the same rows into the same
schema, in the same run, on the same machine.

Then the command an admin runs, `mailbox-tui import FILE`, each in a process of its own whose
peak memory (max RSS, from wait4), wall time and CPU seconds are printed: the same document as a
JSON file (--rows users and their mailboxes), its undo (`mailbox-tui undo ENTRY`), and with
--big-rows N (0: skipped) a JSON file of N users and N mailboxes and a users.csv of N rows (the
issue's 36 MB file at a million), each import undone too.

--baseline DIR compares the import's speed with another release's code in DIR (issue 20 item 5:
the code before imports were streamed, `git archive 8465b83 | tar -x -C DIR`): the same JSON
file imported by each in turn, --rounds times, by CPU seconds (wall time follows whatever else
the machine runs). Each target of issue 20 item 5 is printed with its verdict.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import shutil
import subprocess
import sys
import sqlite3
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from cryptography.fernet import Fernet


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--big-rows", type=int, default=1_000_000, help="0 skips the big files")
    parser.add_argument("--baseline", type=Path, help="a checkout of the code to compare the import's speed with")
    parser.add_argument("--rounds", type=int, default=3, help="imports by each code for --baseline")
    args = parser.parse_args()
    _start_launcher()
    os.environ.setdefault("MAILBOX_TUI_KEY", Fernet.generate_key().decode())

    from mailbox_tui.store import queries
    from mailbox_tui.store.database import Store
    from mailbox_tui.store.exchange import import_document

    n = args.rows
    tmp = Path(tempfile.mkdtemp(prefix="mailbox-bench-"))
    doc = _document(n)

    store = Store(f"sqlite:///{tmp / 'bench.db'}")
    start = time.perf_counter()
    report = import_document(store, doc)
    import_s = time.perf_counter() - start
    assert report.written and not report.errors, report.findings[:5]
    # The same document again, as a dry run: every row now names a stored record (the update path).
    start = time.perf_counter()
    again = import_document(store, doc, dry_run=True)
    reimport_s = time.perf_counter() - start
    assert not again.errors, again.findings[:5]
    store.close()

    raw_s = _raw_insert(tmp / "raw.db", n)

    store = Store(f"sqlite:///{tmp / 'bench.db'}")
    total = queries.total_mailboxes()
    middle = queries.mailbox_page("all", limit=1, offset=total // 2)[0]
    keyed = _timed(lambda: queries.mailbox_page("all", limit=200, after=queries.sort_key(middle)), 50)
    first = _timed(lambda: queries.mailbox_page("active", limit=200), 50)
    common = _timed(lambda: queries.mailbox_page("all", "user05", limit=200), 30)
    rare = _timed(lambda: queries.mailbox_page("all", "user099999", limit=200), 30)
    none = _timed(lambda: queries.mailbox_page("all", "no-such-mailbox", limit=200), 30)
    count = _timed(lambda: queries.count_mailboxes("all", "user05"), 10)
    store.close()
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    rate, raw_rate = n / import_s, n / raw_s
    print(f"rows: {n} users + {n} mailboxes (SQLite file, WAL)")
    print(f"import (validated, passwords encrypted): {import_s:.2f} s = {rate:,.0f} mailboxes/s "
          f"({2 * rate:,.0f} inserted rows/s, user + mailbox)")
    print(f"raw sqlite3.executemany of the same rows: {raw_s:.2f} s = {raw_rate:,.0f} mailboxes/s "
          f"(import takes {import_s / raw_s:.1f}x as long)")
    print(f"dry-run re-import of the same document (every row an existing record): {reimport_s:.2f} s = "
          f"{n / reimport_s:,.0f} mailboxes/s")
    print(f"keyed page of 200 from the middle: median {keyed[0]:.2f} ms, p95 {keyed[1]:.2f} ms")
    print(f"first page of 200 (Active view): median {first[0]:.2f} ms, p95 {first[1]:.2f} ms")
    print(f"filtered page, LIKE '%user05%' (many matches): median {common[0]:.2f} ms, p95 {common[1]:.2f} ms")
    print(f"filtered page, LIKE '%user099999%' (one match, full scan): median {rare[0]:.2f} ms, p95 {rare[1]:.2f} ms")
    print(f"filtered page, no match (full scan): median {none[0]:.2f} ms, p95 {none[1]:.2f} ms")
    print(f"count for the filter '%user05%': median {count[0]:.2f} ms")
    print(f"peak RSS (whole run, including the {n}-row input document): {rss_mb:.0f} MB")

    # The command an admin runs, each in its own process: its peak memory, wall time and CPU seconds.
    verdicts = []
    path = tmp / "bench.json"
    _write_json(path, n)
    url = f"sqlite:///{tmp / 'cli.db'}"
    run = _cli("import", path, "--db", url)
    print(f"mailbox-tui import of a {path.stat().st_size / 1e6:.0f} MB JSON file, {n:,} users + {n:,} mailboxes: "
          f"{run.wall:.2f} s = {n / run.wall:,.0f} mailboxes/s ({2 * n / run.wall:,.0f} rows/s); {run.cpu:.2f} CPU s = "
          f"{n / run.cpu:,.0f} mailboxes per CPU second; peak RSS {run.rss:.0f} MB")
    verdicts.append((f"peak RSS, import of {n:,} rows", f"{run.rss:.0f} MB", "≤ 200 MB", run.rss <= 200))
    undo = _cli("undo", _last_import(tmp / "cli.db"), "--db", url)
    print(f"mailbox-tui undo of that import ({2 * n:,} records): {undo.wall:.2f} s, {undo.cpu:.2f} CPU s, "
          f"peak RSS {undo.rss:.0f} MB")
    verdicts.append((f"peak RSS, undo of that import", f"{undo.rss:.0f} MB", "≤ 200 MB", undo.rss <= 200))
    idle = _cli("history", "--db", url, "--limit", "1")
    print(f"(an idle command for comparison, mailbox-tui history --limit 1: peak RSS {idle.rss:.0f} MB)")
    if args.baseline:
        verdicts.append(_compare_speed(args.baseline, path, tmp, n, args.rounds))
    if args.big_rows:
        big = args.big_rows
        path = tmp / "big.json"
        _write_json(path, big)
        verdicts += _big_import(path, tmp / "big-json.db", f"a {path.stat().st_size / 1e6:.0f} MB JSON file, "
                                f"{big:,} users + {big:,} mailboxes", 2 * big)
        path.unlink()
        path = tmp / "users.csv"
        with path.open("w", newline="", encoding="utf-8") as fh:
            out = csv.writer(fh)
            out.writerow(["fullname", "internalemailaddress"])
            out.writerows((f"User {i:07d}", f"user{i:07d}@example.com") for i in range(big))
        verdicts += _big_import(path, tmp / "big-csv.db", f"a {path.stat().st_size / 1e6:.0f} MB users.csv, {big:,} "
                                "rows (each user gets a mailbox)", 2 * big)
    print("issue 20 item 5, import targets:")
    for what, measured, target, met in verdicts:
        print(f"  {what}: {measured} (target {target}): {'met' if met else 'NOT met'}")
    shutil.rmtree(tmp, ignore_errors=True)


def _last_import(path: Path) -> int:
    con = sqlite3.connect(path)
    (entry,) = con.execute("select max(id) from change_entry where action = 'import'").fetchone()
    con.close()
    return entry


def _big_import(path: Path, db: Path, what: str, records: int) -> list[tuple]:
    """Import `path` into a new database, then undo it: their figures and verdicts (≤ 300 MB each)."""
    url = f"sqlite:///{db}"
    run = _cli("import", path, "--db", url)
    print(f"mailbox-tui import of {what}: {run.wall:.2f} s, {run.cpu:.2f} CPU s, peak RSS {run.rss:.0f} MB")
    undo = _cli("undo", _last_import(db), "--db", url)
    print(f"mailbox-tui undo of that import ({records:,} records): {undo.wall:.2f} s, {undo.cpu:.2f} CPU s, "
          f"peak RSS {undo.rss:.0f} MB")
    db.unlink()
    return [(f"peak RSS, import of {what}", f"{run.rss:.0f} MB", "≤ 300 MB", run.rss <= 300),
            ("peak RSS, undo of that import", f"{undo.rss:.0f} MB", "≤ 300 MB", undo.rss <= 300)]


def _compare_speed(baseline: Path, path: Path, tmp: Path, n: int, rounds: int) -> tuple:
    """The import of `path` by this code and by the code in `baseline`, in turn: CPU seconds each."""
    env = {"PYTHONPATH": str(baseline.resolve())}
    ours, theirs = [], []
    for r in range(rounds):
        for which in (("ours", "theirs") if r % 2 == 0 else ("theirs", "ours")):
            db = tmp / f"speed-{which}.db"
            run = _cli("import", path, "--db", f"sqlite:///{db}", env=env if which == "theirs" else None)
            (ours if which == "ours" else theirs).append(run.cpu)
            for suffix in ("", "-wal", "-shm"):
                Path(f"{db}{suffix}").unlink(missing_ok=True)
    mine, base = statistics.median(ours), statistics.median(theirs)
    print(f"import of the {n:,}-row JSON file, {rounds} rounds, median CPU seconds: this code {mine:.2f} s "
          f"({n / mine:,.0f} mailboxes per CPU second), {baseline} {base:.2f} s ({n / base:,.0f})")
    change = base / mine - 1
    return (f"mailboxes per CPU second against {baseline}", f"{change:+.1%}", "no more than 10% fewer",
            change >= -0.10)


def _document(n: int) -> dict:
    users = [{"fullname": f"User {i:06d}", "internalemailaddress": f"user{i:06d}@example.com"} for i in range(n)]
    boxes = [{"regarding": {"user": f"user{i:06d}@example.com"}, "emailserverprofile": "Corporate IMAP",
              "allowemailconnectortousecredentials": True, "username": f"user{i:06d}@example.com",
              "password": f"pw-{i:06d}", "incomingemaildeliverymethod": 2, "outgoingemaildeliverymethod": 2}
             for i in range(n)]
    profile = {"name": "Corporate IMAP", "servertype": 4, "incomingserverlocation": "imap.example.com",
               "outgoingserverlocation": "smtp.example.com"}
    return {"profiles": [profile], "users": users, "mailboxes": boxes}


def _write_json(path: Path, n: int) -> None:
    """The benchmark's document as a file, written a row at a time (the writer's memory stays small)."""
    with path.open("w", encoding="utf-8") as fh:
        fh.write('{"profiles": ' + json.dumps(_document(0)["profiles"]) + ', "users": [')
        for i in range(n):
            fh.write(("" if i == 0 else ", ") + json.dumps(
                {"fullname": f"User {i:06d}", "internalemailaddress": f"user{i:06d}@example.com"}))
        fh.write('], "mailboxes": [')
        for i in range(n):
            fh.write(("" if i == 0 else ", ") + json.dumps(
                {"regarding": {"user": f"user{i:06d}@example.com"}, "emailserverprofile": "Corporate IMAP",
                 "allowemailconnectortousecredentials": True, "username": f"user{i:06d}@example.com",
                 "password": f"pw-{i:06d}", "incomingemaildeliverymethod": 2, "outgoingemaildeliverymethod": 2}))
        fh.write("]}")


def _command() -> list[str]:
    exe = Path(sys.executable).with_name("mailbox-tui")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "mailbox_tui"]


# Runs each command and reports its peak RSS. A child's max RSS counts the memory of the process it
# was forked from (Linux keeps the parent's high-water mark across fork and exec), so the commands
# are started by this small helper, launched before the benchmark itself grows.
_LAUNCHER = """
import json, os, subprocess, sys, time
for line in sys.stdin:
    argv, env = json.loads(line)
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                            env={**os.environ, **env})
    err = proc.stderr.read().decode(errors="replace")
    _, status, usage = os.wait4(proc.pid, 0)
    print(json.dumps([time.perf_counter() - start, usage.ru_utime + usage.ru_stime, usage.ru_maxrss,
                      os.waitstatus_to_exitcode(status), err[-2000:]]), flush=True)
"""
_launcher: subprocess.Popen | None = None


@dataclass
class Run:
    wall: float  # seconds
    cpu: float  # user + system CPU seconds
    rss: float  # peak RSS, MB


def _start_launcher() -> None:
    global _launcher
    _launcher = subprocess.Popen([sys.executable, "-c", _LAUNCHER], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                 text=True)


def _cli(*args, env: dict | None = None) -> Run:
    """Runs `mailbox-tui ARGS` (must succeed), with `env` added to the environment."""
    _launcher.stdin.write(json.dumps([[*_command(), *map(str, args)], env or {}]) + "\n")
    _launcher.stdin.flush()
    elapsed, cpu, maxrss_kb, code, err = json.loads(_launcher.stdout.readline())
    assert code == 0, (args, code, err)
    return Run(elapsed, cpu, maxrss_kb / 1024)


def _timed(fn, repeat: int) -> tuple[float, float]:
    fn()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.95) - 1]


def _raw_insert(path: Path, n: int) -> float:
    """The same rows, already prepared, with no validation and no encryption."""
    from mailbox_tui.store.database import Store

    Store(f"sqlite:///{path}").close()  # the same schema and indexes
    con = sqlite3.connect(path)
    con.execute("pragma journal_mode=wal")
    con.execute("pragma synchronous=normal")
    now = "2026-01-01 00:00:00"
    user_rows = [(now, now, 1, f"User {i:06d}", f"user{i:06d}@example.com", f"user{i:06d}@example.com", 0)
                 for i in range(n)]
    token = Fernet(Fernet.generate_key()).encrypt(b"pw").decode()
    start = time.perf_counter()
    with con:
        # The same work the import does for the filter's index (models.bulk_insert): no per-row
        # trigger, the batch indexed once. With the triggers the baseline would be 6x slower.
        filters = [name for (name,) in con.execute(
            "select name from sqlite_master where type = 'trigger' and name like '%_filter_insert'")]
        for name in filters:
            con.execute(f"drop trigger {name}")
        con.executemany("insert into app_user (created_on, modified_on, version, full_name, email, email_key, state)"
                        " values (?,?,?,?,?,?,?)", user_rows)
        columns = ["created_on", "modified_on", "version", "kind", "name", "name_key", "email", "email_key",
                   "owner_id", "regarding_user_id", "profile_id", "delete_after_processing", "allow_credentials",
                   "username", "password_enc", "incoming", "outgoing", "act", "incoming_status", "outgoing_status",
                   "act_status", "enabled_incoming", "enabled_outgoing", "enabled_act", "approval", "state"]
        # Columns a later schema added (their defaults are the models', not the DDL's): 0 or "" each.
        later = [(name, "" if "CHAR" in kind.upper() or "TEXT" in kind.upper() else 0)
                 for _, name, kind, notnull, default, _ in con.execute("pragma table_info(mailbox)")
                 if notnull and default is None and name not in columns and name != "id"]
        box_rows = [(now, now, 1, 0, f"User {i:06d}", f"user {i:06d}", f"user{i:06d}@example.com",
                     f"user{i:06d}@example.com", i + 1, i + 1, 1, False, True, f"user{i:06d}@example.com", token,
                     2, 2, 2, 0, 0, 0, False, False, False, 2, 0, *(value for _, value in later)) for i in range(n)]
        names = columns + [name for name, _ in later]
        con.executemany(f"insert into mailbox ({', '.join(names)}) values ({', '.join('?' * len(names))})", box_rows)
        for name in filters:
            fts = name.removesuffix("_insert")
            con.execute(f"insert into {fts} ({fts}) values ('rebuild')")
    elapsed = time.perf_counter() - start
    con.close()
    return elapsed


if __name__ == "__main__":
    main()
