"""Test & Enable benchmark: mailboxes per second against a real dovecot and aiosmtpd. Prints its figures.

    .venv/bin/python benchmarks/test_bench.py [--mailboxes 1000] [--concurrency 32] [--latency-ms 50]

Each mailbox is a full Test & Enable through the runner: plan (rules, decrypt the password),
IMAP over implicit TLS (connect, handshake, AUTHENTICATE, EXAMINE INBOX, LOGOUT), SMTP over
implicit TLS (connect, handshake, EHLO, AUTH, QUIT), and the results written to SQLite in
batches. Every mailbox has its own dovecot user.

Two rounds, each sequential (concurrency 1) and concurrent (default 32) over the same mailboxes:
directly on 127.0.0.1, then through a TCP relay in this script that delays every chunk by
--latency-ms in each direction (a WAN-like round trip of twice that). Busy CPU is read from
/proc/stat during each run, to say whether the machine or the network bounds the figure.

`pytest benchmarks/test_bench.py -s` runs the same thing (this folder is not in the test run).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # tests/support/mailservers.py starts the servers
sys.path.insert(0, str(ROOT / "benchmarks"))  # latency_relay.py: the relay, the busy CPU

from latency_relay import LatencyRelay, timed  # noqa: E402


# ---------------------------------------------------------------- measuring


def timed_run(store, ids: list[int], concurrency: int) -> dict:
    from mailbox_tui.mailtest.runner import TestRunner

    report, run = timed(lambda: TestRunner(store, concurrency=concurrency).run(ids), len(ids))
    if report.failures or report.not_run:
        bad = next((o for o in report.outcomes if o.failed), None)
        raise SystemExit(f"benchmark run had failures: {report.failures} failed, {len(report.not_run)} not run; "
                         f"first: {bad.as_dict()['alerts'] if bad else report.not_run[:3]}")
    return run


def _bound(run: dict, concurrency: int, latency_ms: float) -> str:
    if run["machine_busy"] >= 0.85:
        return (f"CPU-bound: the machine's {run['cores']} cores were {run['machine_busy']:.0%} busy "
                f"(this process - runner, aiosmtpd, relay - used {run['client_cpu']:.2f} cores; the rest is dovecot)")
    if concurrency == 1 and latency_ms:
        return (f"latency-bound: one connection at a time, ~10 round trips of {latency_ms * 2:.0f} ms per "
                f"mailbox; CPU {run['machine_busy']:.0%} busy")
    if concurrency == 1:
        return (f"serial: one connection at a time, each waiting on the servers' work (TLS handshakes, "
                f"dovecot's login processes); CPU {run['machine_busy']:.0%} busy")
    return (f"not CPU-bound ({run['machine_busy']:.0%} busy): concurrency {concurrency} x round trips"
            f"{f' of {latency_ms * 2:.0f} ms' if latency_ms else ''} bound it")


# ---------------------------------------------------------------- setup


def build_store(url: str, count: int, imap_port: int, smtp_port: int, passwords: dict[str, str]):
    from mailbox_tui.store import services
    from mailbox_tui.store.database import Store
    from mailbox_tui.store.exchange import import_document
    from mailbox_tui.store.models import Mailbox

    emails = list(passwords)[:count]
    profile = {"name": "Bench IMAP", "servertype": 4, "incomingserverlocation": "127.0.0.1",
               "incomingportnumber": imap_port, "incomingtlsmode": "ssl", "outgoingserverlocation": "127.0.0.1",
               "outgoingportnumber": smtp_port, "outgoingtlsmode": "ssl", "incomingcredentialretrieval": 0,
               "outgoingcredentialretrieval": 0, "usesamesettingsforoutgoingconnections": True,
               # The per-host bound is the profile's Maximum Concurrent Connections: let the runner's decide.
               "maxconcurrentconnections": 300, "timeoutseconds": 30}
    users = [{"fullname": f"Bench User {i:04d}", "internalemailaddress": e} for i, e in enumerate(emails)]
    boxes = [{"regarding": {"user": e}, "emailserverprofile": "Bench IMAP", "allowemailconnectortousecredentials": True,
              "username": e, "password": passwords[e], "incomingemaildeliverymethod": 2,
              "outgoingemaildeliverymethod": 2} for e in emails]
    store = Store(url)
    report = import_document(store, {"profiles": [profile], "users": users, "mailboxes": boxes})
    assert report.written and not report.errors, report.findings[:3]
    ids = [m.id for m in Mailbox.select(Mailbox.id).order_by(Mailbox.id)]
    services.set_approval(store, ids, True)  # A2: approval is required by default
    return store, ids


def set_ports(store, imap_port: int, smtp_port: int) -> None:
    from mailbox_tui.store.models import EmailServerProfile

    EmailServerProfile.update(incoming_port=imap_port, outgoing_port=smtp_port).execute()


def ui_latency(store, ids: list[int], keystrokes: int = 30) -> dict:
    """Key-press latency in the app while Test & Enable runs over `ids` in the background.

    Pilot's own cost is in every press, so the figure is the difference from the same key
    pressed on the idle app just before, in the same process."""
    import statistics

    from mailbox_tui.ui.app import MailboxApp

    from mailbox_tui.store.models import AppUser
    from mailbox_tui.ui.widgets.record_table import RecordTable

    handled: list[float] = []
    original_move = RecordTable._move_to

    def move_to(self, index):  # the app has handled the key: cursor moved, its rows marked for redraw
        result = original_move(self, index)
        handled.append(time.perf_counter())
        return result

    RecordTable._move_to = move_to

    async def measure() -> dict:
        app = MailboxApp(store, acting=AppUser.select().first().email)  # no first-run question
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            await app.workers.wait_for_complete()
            screen = app.screen

            async def presses(count: int) -> tuple[list[float], list[float]]:
                """(app's own: key posted to key handled; Pilot's whole round trip), in ms."""
                own, round_trip = [], []
                for i in range(count):
                    handled.clear()
                    begin = time.perf_counter()
                    await pilot.press("down" if i % 2 == 0 else "up")
                    round_trip.append((time.perf_counter() - begin) * 1000)
                    if handled:
                        own.append((handled[0] - begin) * 1000)
                return own, round_trip

            idle, idle_trip = await presses(keystrokes)
            screen.action_test_enable(ids)
            await asyncio.sleep(1.0)  # the run is in full flow
            busy, busy_trip = await presses(keystrokes)
            still_running = screen.test_run is not None
            while screen.test_run is not None:
                await asyncio.sleep(0.2)
            p95 = lambda xs: sorted(xs)[max(int(len(xs) * 0.95) - 1, 0)]  # noqa: E731
            return {"idle": statistics.median(idle), "busy": statistics.median(busy), "busy_p95": p95(busy),
                    "trip_idle": statistics.median(idle_trip), "trip_busy": statistics.median(busy_trip),
                    "trip_busy_p95": p95(busy_trip), "still_running": still_running}

    return asyncio.run(measure())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mailboxes", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--latency-ms", type=float, default=50.0, help="added each way by the relay (0: skip)")
    parser.add_argument("--sequential-mailboxes", type=int, default=None,
                        help="how many the sequential runs cover (default: all; the relayed one takes long)")
    parser.add_argument("--no-ui-latency", dest="ui_latency", action="store_false",
                        help="skip the key-press latency in the app during each concurrent run")
    parser.add_argument("--skip-sequential", action="store_true", help="only the concurrent runs")
    args = parser.parse_args(argv)

    from cryptography.fernet import Fernet
    from support.mailservers import (
        Dovecot,
        SmtpServers,
        _shared_dir,
        dovecot_available,
        make_certificate,
    )

    reason = dovecot_available()
    if reason:
        raise SystemExit(f"benchmark needs dovecot: {reason}")
    os.environ.setdefault("MAILBOX_TUI_KEY", Fernet.generate_key().decode())
    folder = _shared_dir("mailbox-tui-bench-")
    certificate = make_certificate(folder)
    os.environ["SSL_CERT_FILE"] = str(certificate.cert)  # trust the test certificate in this process
    n = args.mailboxes
    passwords = {f"bench{i:04d}@example.com": f"Bench-pw-{i:04d}-x" for i in range(n)}
    dovecot = Dovecot(passwords, certificate).start()
    smtp = SmtpServers(passwords, certificate).start()
    relays: list[LatencyRelay] = []
    tmp = Path(tempfile.mkdtemp(prefix="mailbox-tui-bench-db-"))
    try:
        store, ids = build_store(f"sqlite:///{tmp / 'bench.db'}", n, dovecot.imaps, smtp.implicit, passwords)
        sequential_ids = ids[: args.sequential_mailboxes or n]
        rounds = [("direct (127.0.0.1)", 0.0, dovecot.imaps, smtp.implicit)]
        if args.latency_ms > 0:
            delay = args.latency_ms / 1000
            relays = [LatencyRelay(dovecot.imaps, delay).start(), LatencyRelay(smtp.implicit, delay).start()]
            rounds.append((f"through the relay (+{args.latency_ms:g} ms each way)", args.latency_ms,
                           relays[0].port, relays[1].port))
        print(f"{n} mailboxes, each: IMAP implicit TLS (login, EXAMINE INBOX) + SMTP implicit TLS (EHLO, AUTH); "
              f"results written to SQLite; {os.cpu_count()} CPU cores; Python {sys.version.split()[0]}")
        timed_run(store, ids[:20], args.concurrency)  # warm up: dovecot's first logins, the mail folders
        for title, latency, imap_port, smtp_port in rounds:
            set_ports(store, imap_port, smtp_port)
            seq_ids = sequential_ids[:20] if args.skip_sequential else sequential_ids
            seq = timed_run(store, seq_ids, 1)
            con = timed_run(store, ids, args.concurrency)
            print(f"\n{title}")
            print(f"  sequential (1):  {len(seq_ids)} mailboxes in {seq['seconds']:.1f} s = "
                  f"{seq['rate']:.1f} mailboxes/s; {_bound(seq, 1, latency)}")
            print(f"  concurrent ({args.concurrency}): {n} mailboxes in {con['seconds']:.1f} s = "
                  f"{con['rate']:.1f} mailboxes/s; {_bound(con, args.concurrency, latency)}")
            print(f"  speed-up: {con['rate'] / seq['rate']:.1f}x")
            if args.ui_latency:
                ui = ui_latency(store, ids)
                print(f"  app key press while the {n} run in the background (app's own time, key posted to "
                      f"key handled): median {ui['busy']:.1f} ms, p95 {ui['busy_p95']:.1f} ms "
                      f"(idle: {ui['idle']:.1f} ms); Pilot round trip median {ui['trip_busy']:.0f} ms, "
                      f"p95 {ui['trip_busy_p95']:.0f} ms (idle {ui['trip_idle']:.0f} ms: Pilot waits for "
                      f"the app to go quiet, which it does not while results stream in)"
                      + ("" if ui["still_running"] else "; WARNING: the run ended before the last key"))
        store.close()
    finally:
        for relay in relays:
            relay.stop()
        smtp.stop()
        dovecot.stop()
        import shutil

        shutil.rmtree(folder, ignore_errors=True)
        shutil.rmtree(tmp, ignore_errors=True)


def test_bench():
    """`pytest benchmarks/test_bench.py -s`: the same figures (options from $MAILBOX_TUI_BENCH_ARGS)."""
    main(os.environ.get("MAILBOX_TUI_BENCH_ARGS", "").split())


if __name__ == "__main__":
    main()
