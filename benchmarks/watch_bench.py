"""`mailbox-tui watch` benchmark (issue 24 item 4). Prints its figures.

    .venv/bin/python benchmarks/watch_bench.py [--pg URL] [--mailboxes 100000] [--idle-seconds 60]
        [--throughput-mailboxes 800] [--concurrency 16] [--latency-ms 50]

1. Finding the due mailboxes among --mailboxes (100,000 enabled mailboxes, their next polls spread over five
   minutes, as a steady state has them): the idle tick's question (is anything due?) with nothing due, and a
   round's pick (the first 128 due) with 1,000 due; median and p95 of 200 runs each, in this process, on SQLite
   and, with --pg (a server URL: a database is created and dropped), on PostgreSQL. Also one claim and release
   of 128.
2. The CPU one `mailbox-tui watch` process uses over --idle-seconds with nothing due (read from /proc), on the
   same 100,000 mailboxes, with its default tick (5 s).
3. PostgreSQL only: the mailboxes per minute one `watch` tests, then two at once, over the same
   --throughput-mailboxes mailboxes (SMTP login, plain text, through a TCP relay adding --latency-ms each way,
   to aiosmtpd with a user per mailbox), and the logins per mailbox the server counted (1 each: no mailbox
   tested twice in a round).
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # tests/support: the mail servers, the PostgreSQL helpers
sys.path.insert(0, str(ROOT / "benchmarks"))  # latency_relay.py: the latency relay

ROUND = 128  # what a watch claims per round at --concurrency 32


def _ms(times: list[float]) -> str:
    times = sorted(times)
    return f"median {statistics.median(times) * 1000:.2f} ms, p95 {times[int(len(times) * 0.95) - 1] * 1000:.2f} ms"


def _timed(fn, repeat: int = 200) -> list[float]:
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def fill(store, n: int, base) -> None:
    """n enabled forward mailboxes of one owner, next polls one every 300/n s from `base` (no servers needed)."""
    from mailbox_tui.store.models import AppUser, Mailbox, bulk_insert, utcnow

    owner = AppUser.create(full_name="Bench Owner", email="owner@example.com", email_key="owner@example.com")
    step = 300.0 / n
    now = utcnow()
    with store.transaction():
        for start in range(0, n, 10_000):
            bulk_insert(Mailbox, [
                {"created_on": now, "modified_on": now, "kind": 2, "name": f"Box {i:06d}", "name_key": f"box {i:06d}",
                 "email": f"box{i:06d}@example.com", "email_key": f"box{i:06d}@example.com", "owner": owner.id,
                 "incoming": 2, "outgoing": 0, "act": 2, "incoming_status": 1, "enabled_incoming": True,
                 "next_processing": base + timedelta(seconds=i * step)} for i in range(start, min(n, start + 10_000))])
    if store.is_postgres:
        store.db.execute_sql("ANALYZE mailbox")


def due_figures(store, n: int, base) -> None:
    from mailbox_tui.store import watch_claims

    idle = _timed(lambda: watch_claims.any_due(base - timedelta(seconds=1)))
    busy_at = base + timedelta(seconds=1000 * 300.0 / n)  # 1,000 due
    assert len(watch_claims.due_ids(busy_at, 5000)) in (1000, 1001)
    pick = _timed(lambda: watch_claims.due_ids(busy_at, ROUND))

    def claim_and_release():
        got = watch_claims.claim(store, "bench:1", busy_at, ROUND)
        watch_claims.release(store, [c.mailbox_id for c in got], "bench:1")
    claims = _timed(claim_and_release, 50)
    print(f"  nothing due, is anything due? (the idle tick): {_ms(idle)}")
    print(f"  1,000 due, the first {ROUND} (a round's pick):   {_ms(pick)}")
    print(f"  claim {ROUND} and release them (two writes):     {_ms(claims)}")


def watch_process(url: str, *options: str) -> subprocess.Popen:
    """A watch whose result lines go to a file: a pipe nobody reads would fill and stop it."""
    exe = Path(sys.executable).with_name("mailbox-tui")
    command = [str(exe)] if exe.exists() else [sys.executable, "-m", "mailbox_tui"]
    lines = tempfile.TemporaryFile("w+")
    process = subprocess.Popen([*command, "--db", url, "watch", *options], stdin=subprocess.DEVNULL,
                               stdout=lines, stderr=subprocess.PIPE, text=True)
    process.lines = lines
    said = process.stderr.readline()
    if "testing what is due" not in said:
        raise SystemExit(f"watch did not start: {said}{process.stderr.read()}")
    return process


def stop(process: subprocess.Popen) -> str:
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=60)
    if process.returncode != 0 or "Traceback" in err:
        raise SystemExit(f"watch ended badly ({process.returncode}): {err}")
    process.lines.seek(0)
    return process.lines.read()


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def idle_cpu(url: str, seconds: float) -> None:
    process = watch_process(url)
    try:
        time.sleep(3)  # past its start (imports, opening the database)
        before = cpu_seconds(process.pid)
        time.sleep(seconds)
        used = cpu_seconds(process.pid) - before
    finally:
        stop(process)
    print(f"  one watch, nothing due, {seconds:g} s (tick 5 s): {used:.3f} CPU s = {used / seconds * 60:.3f} CPU s "
          f"per minute = {used / seconds:.3%} of a core")


# ---------------------------------------------------------------- PostgreSQL: two watches against one


def _machine() -> tuple[int, int]:
    """(busy, total) jiffies of the whole machine."""
    fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


def throughput(url: str, count: int, concurrency: int, latency_ms: float, batch: int | None) -> None:
    from support.mailservers import SmtpServers, _shared_dir, make_certificate
    from latency_relay import LatencyRelay

    from mailbox_tui.store import services
    from mailbox_tui.store.database import Store
    from mailbox_tui.store.exchange import import_document
    from mailbox_tui.store.models import Mailbox, utcnow

    passwords = {f"bench{i:04d}@example.com": f"Bench-pw-{i:04d}-x" for i in range(count)}
    folder = _shared_dir("mailbox-tui-watch-bench-")
    smtp = SmtpServers(passwords, make_certificate(folder)).start()
    relay = LatencyRelay(smtp.plain, latency_ms / 1000).start()
    store = Store(url)
    try:
        profile = {"name": "Bench SMTP", "servertype": 4, "incomingserverlocation": "127.0.0.1",
                   "outgoingserverlocation": "127.0.0.1", "outgoingportnumber": relay.port,
                   "outgoingtlsmode": "none", "incomingcredentialretrieval": 0, "outgoingcredentialretrieval": 0,
                   "maxconcurrentconnections": 300, "timeoutseconds": 30}
        users = [{"fullname": f"Bench User {i:04d}", "internalemailaddress": e} for i, e in enumerate(passwords)]
        boxes = [{"regarding": {"user": e}, "emailserverprofile": "Bench SMTP", "username": e,
                  "allowemailconnectortousecredentials": True, "password": pw, "incomingemaildeliverymethod": 0,
                  "outgoingemaildeliverymethod": 2, "actdeliverymethod": 2} for e, pw in passwords.items()]
        report = import_document(store, {"profiles": [profile], "users": users, "mailboxes": boxes})
        assert report.written and not report.errors, report.findings[:3]
        ids = [m.id for m in Mailbox.select(Mailbox.id)]
        services.set_approval(store, ids, True)
        Mailbox.update(enabled_outgoing=True, outgoing_status=1).execute()  # as Test & Enable left them
        rates = {}
        for watches in (1, 2):
            processes = [watch_process(url, "--concurrency", str(concurrency), "--tick", "0.5",
                                       *(["--batch", str(batch)] if batch else [])) for _ in range(watches)]
            busy0, total0 = _machine()
            cpu0 = [cpu_seconds(p.pid) for p in processes]
            own0 = cpu_seconds(os.getpid())
            smtp.authenticator.attempts.clear()
            started = time.perf_counter()
            due = utcnow()
            Mailbox.update(next_processing=due - timedelta(minutes=1)).execute()
            while Mailbox.select().where(Mailbox.next_processing > due).count() < count:
                time.sleep(0.2)
            seconds = time.perf_counter() - started
            busy1, total1 = _machine()
            cpu = [cpu_seconds(p.pid) - c for p, c in zip(processes, cpu0)]
            own = cpu_seconds(os.getpid()) - own0
            outs = [stop(p) for p in processes]
            logins = Counter(smtp.authenticator.attempts)
            per_watch = [sum("Success (poll)" in line for line in out.splitlines()) for out in outs]
            rates[watches] = count / seconds * 60
            print(f"  {watches} watch(es) x {concurrency} connections: {count} mailboxes in {seconds:.1f} s = "
                  f"{rates[watches]:.0f} mailboxes/min; tested per watch {per_watch}; logins per mailbox at the "
                  f"server: {sorted(Counter(logins.values()).items())} (count: mailboxes), "
                  f"{count - len(logins)} without a login; the machine's {os.cpu_count()} cores "
                  f"{(busy1 - busy0) / max(1, total1 - total0):.0%} busy, the watches used "
                  f"{', '.join(f'{c / seconds:.0%}' for c in cpu)} of a core, this process (relay, aiosmtpd) "
                  f"{own / seconds:.0%}")
        print(f"  two watches / one: {rates[2] / rates[1]:.2f}x")
    finally:
        store.close()
        relay.stop()
        smtp.stop()


# ---------------------------------------------------------------- main


def fresh_pg_database(server_url: str) -> tuple[str, callable]:
    import psycopg
    from support.postgres import database_url

    name = f"mailbox_tui_watch_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server_url, autocommit=True) as con:
        con.execute(f'CREATE DATABASE "{name}"')

    def drop():
        with psycopg.connect(server_url, autocommit=True) as con:
            con.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return database_url(server_url, name), drop


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pg", metavar="URL", help="a PostgreSQL server URL (a database is created, then dropped)")
    parser.add_argument("--mailboxes", type=int, default=100_000)
    parser.add_argument("--idle-seconds", type=float, default=60.0)
    parser.add_argument("--throughput-mailboxes", type=int, default=800)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--batch", type=int, help="mailboxes a watch claims per round (default: its own)")
    parser.add_argument("--only-throughput", action="store_true", help="skip 1 and 2 (needs --pg)")
    args = parser.parse_args(argv)

    from cryptography.fernet import Fernet

    from mailbox_tui.store.database import Store
    from mailbox_tui.store.models import utcnow

    os.environ.setdefault("MAILBOX_TUI_KEY", Fernet.generate_key().decode())
    base = utcnow() + timedelta(days=1)  # nothing due for a day
    print(f"{args.mailboxes:,} enabled mailboxes, next polls spread over 5 minutes; {os.cpu_count()} CPU cores, "
          f"Python {sys.version.split()[0]}")
    folder = Path(tempfile.mkdtemp(prefix="mailbox-tui-watch-bench-"))
    targets = [] if args.only_throughput else [("SQLite", f"sqlite:///{folder / 'bench.db'}", None)]
    if args.pg and not args.only_throughput:
        targets.append(("PostgreSQL", *fresh_pg_database(args.pg)))
    try:
        for title, url, _ in targets:
            print(f"\n{title}: finding the due mailboxes")
            with Store(url) as store:
                fill(store, args.mailboxes, base)
                due_figures(store, args.mailboxes, base)
            idle_cpu(url, args.idle_seconds)
        if args.pg:
            print(f"\nPostgreSQL: throughput through a relay adding {args.latency_ms:g} ms each way (SMTP login)")
            url, drop = fresh_pg_database(args.pg)
            try:
                throughput(url, args.throughput_mailboxes, args.concurrency, args.latency_ms, args.batch)
            finally:
                drop()
        else:
            print("\n(two watches against one: PostgreSQL only; give --pg URL)")
    finally:
        for _, _, drop in targets:
            if drop is not None:
                drop()
        import shutil

        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
