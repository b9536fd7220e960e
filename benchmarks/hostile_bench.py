"""Hostile servers against the probes: how long, how much memory, how fast the CLI exits. Prints figures.

    .venv/bin/python benchmarks/hostile_bench.py [--timeout 3] [--deadline 5]

* one-byte drip: a server sends one byte a second and never ends a line; each protocol's probe
  with the given profile timeout (the issue's case: 3 s).
* flood: a server floods untagged lines (at most 200 MB, 20 s); a probe in a fresh process, its
  peak RSS growth, how long it ran, and how much the server managed to send.
* `mailbox-tui test --deadline D` against mailboxes whose servers drip (profile timeout 30 s):
  when the results are printed and when the process exits.

Runs against whatever `mailbox_tui` imports, here and in the child processes it starts
(PYTHONPATH=another/checkout to measure another one).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from support import hostile  # noqa: E402

FLOOD_CHILD = """
import resource, sys, time
from mailbox_tui.mailtest.probes import Credentials, Endpoint, probe
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
started = time.monotonic()
result = probe(Endpoint(sys.argv[1], "127.0.0.1", int(sys.argv[2]), int(sys.argv[3]), 10),
               Credentials("alice@example.com", "Qx81-Lm27-Hg93"))
took = time.monotonic() - started
grew = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
print(f"{grew:,} KB in {took:.1f} s: {result.message[:110]}")
"""


def drip_figures(timeout: float) -> None:
    from mailbox_tui.domain.options import TlsMode
    from mailbox_tui.mailtest.probes import Credentials, Endpoint, probe

    print(f"one-byte drip (a byte a second, no line end), profile timeout {timeout:g} s")
    for protocol, text in (("imap", b"* OK dripping "), ("pop3", b"+OK dripping "), ("smtp", b"220 dripping ")):
        with hostile.HostileServer(hostile.drip(text, 1.0), lifetime=60) as server:
            started = time.monotonic()
            result = probe(Endpoint(protocol, "127.0.0.1", server.port, TlsMode.NONE, timeout),
                           Credentials("alice@example.com", "Qx81-Lm27-Hg93"))
            took = time.monotonic() - started
        print(f"  {protocol}: ended at {took:.2f} s, {'ok' if result.ok else 'failed'} at {result.step}: "
              f"{result.message[:100]}")


def flood_figures() -> None:
    from mailbox_tui.domain.options import TlsMode

    hostile.FLOOD_MAX = 200 * 1024 * 1024
    print("flood of untagged lines (server stops at 200 MB or 20 s), a probe in a fresh process")
    cases = (("imap", TlsMode.NONE, hostile.flood(b"* OK flood\r\n", b"* 1 RECENT and some flood text\r\n")),
             ("pop3", TlsMode.STARTTLS, hostile.flood(b"+OK flood\r\n", b"X-FLOOD and some flood text\r\n",
                                                      after=b"CAPA", reply=b"+OK\r\n")),
             ("smtp", TlsMode.NONE, hostile.flood(b"220-flood\r\n", b"220-and some flood text\r\n")))
    for protocol, tls, script in cases:
        with hostile.HostileServer(script, lifetime=20) as server:
            out = subprocess.run([sys.executable, "-c", FLOOD_CHILD, protocol, str(server.port), str(int(tls))],
                                 capture_output=True, text=True, timeout=120, cwd=tempfile.gettempdir())
            time.sleep(0.2)
            sent = server.sessions[0].sent if server.sessions else 0
        print(f"  {protocol}: peak RSS grew {out.stdout.strip() or out.stderr.strip()[-200:]} "
              f"(server sent {sent / 1e6:.1f} MB)")


def deadline_figures(deadline: float) -> None:
    from mail_builders import user_mailbox
    from support import builders

    from mailbox_tui.domain.options import TlsMode
    from mailbox_tui.store.database import Store

    print(f"mailbox-tui test --all --deadline {deadline:g}, 4 mailboxes whose servers drip (timeout 30 s)")
    with tempfile.TemporaryDirectory() as folder, \
            hostile.HostileServer(hostile.drip(b"* OK dripping ", 1.0), lifetime=90) as imap, \
            hostile.HostileServer(hostile.drip(b"220 dripping ", 1.0), lifetime=90) as smtp:
        url = f"sqlite:///{folder}/bench.db"
        with Store(url) as store:
            profile = builders.imap_profile(store, "Drip", incoming_location="127.0.0.1", incoming_port=imap.port,
                                            incoming_tls=TlsMode.NONE, outgoing_location="127.0.0.1",
                                            outgoing_port=smtp.port, outgoing_tls=TlsMode.NONE, timeout_seconds=30)
            for i in range(4):
                user_mailbox(store, profile.id, email=f"user{i}@example.com", password="Qx81-Lm27-Hg93")
        started = time.monotonic()
        process = subprocess.Popen([sys.executable, "-m", "mailbox_tui", "test", "--db", url, "--all",
                                    "--deadline", str(deadline)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                   text=True, cwd=folder)  # not a checkout: mailbox_tui as installed
        printed = None
        for line in process.stdout:
            if "tested:" in line or "not tested" in line:
                printed = time.monotonic() - started
        process.wait(timeout=120)
        exited = time.monotonic() - started
    print(f"  results printed at {printed:.2f} s, process exited at {exited:.2f} s" if printed else
          f"  no summary line; process exited at {exited:.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timeout", type=float, default=3.0)
    parser.add_argument("--deadline", type=float, default=5.0)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "tests" / "mailtest"))
    if not os.environ.get("MAILBOX_TUI_KEY"):  # a throwaway key: the benchmark's database is temporary
        from cryptography.fernet import Fernet

        os.environ["MAILBOX_TUI_KEY"] = Fernet.generate_key().decode()
    import mailbox_tui

    print(f"mailbox_tui from {Path(mailbox_tui.__file__).parent}")
    drip_figures(args.timeout)
    flood_figures()
    deadline_figures(args.deadline)


if __name__ == "__main__":
    main()
