"""`mailbox-tui watch`: a long-running process that re-tests what is due (mailtest/watch.py), until SIGTERM or
SIGINT. One line per result on standard output (and in the log, --log), or with --json one JSON object per line;
what the watch itself says on standard error. Exit 0 when stopped, 1 when it cannot start (another watch holds an SQLite database).
What it prints is in the admin's language; the log and --json stay English."""

from __future__ import annotations

import logging
import os
import signal
import socket
import sys
import threading

from . import cli_common as cli
from .i18n import N_, _, ngettext

log = logging.getLogger("mailbox_tui.watch")

MAX_BATCH = 10_000


def add_watch_command(sub, common, connections, seconds, whole_number) -> None:
    """The parser of `watch`; the number types are cli.py's (`test` takes the same)."""
    watch = sub.add_parser(
        "watch", parents=[common],
        help=_("run until stopped, re-testing what is due: retries whose time has come, and enabled mailboxes "
               "on their profile's polling interval (SQLite: one per database; PostgreSQL: several share the work)"))
    watch.add_argument("--concurrency", type=connections, default=32, metavar="N",
                       help=_("connections at once, 1 to 1000 (default 32; each server also gets at most its "
                              "profile's Maximum Concurrent Connections)"))
    watch.add_argument("--batch", type=lambda text: whole_number(text, 1, MAX_BATCH, N_("a number of mailboxes")),
                       metavar="N", help=_("mailboxes claimed per round (default 4 x --concurrency)"))
    watch.add_argument("--tick", type=seconds, default=5.0, metavar="SECONDS",
                       help=_("how often to look for due mailboxes while none are (default 5)"))
    watch.add_argument("--claim-timeout", type=seconds, default=900.0, metavar="SECONDS",
                       help=_("a claim older than this is a stopped watch's, and others take its mailboxes over "
                              "(default 900; give every watch of a database the same)"))


def host_id() -> str:
    """This watch's name in the mailboxes it claims (Dynamics' hostid): the machine and the process."""
    return f"{socket.gethostname()}:{os.getpid()}"[:100]


def cmd_watch(args) -> int:
    from .mailtest.watch import Watcher, WatchSettings
    from .store.database import describe_url, sqlite_path
    from .store.watch_lock import WatchLock

    stop = threading.Event()

    def stopping(signum, frame) -> None:  # only a flag: nothing is cut short half-written
        stop.set()

    previous = {s: signal.signal(s, stopping) for s in (signal.SIGTERM, signal.SIGINT)}
    lock = None
    try:
        with cli._open_store(args) as store:
            cli._key_warning(store)
            file = None if store.is_postgres else sqlite_path(store.url)
            if file not in (None, "", ":memory:"):
                lock = WatchLock(file).acquire()
            me = host_id()
            settings = WatchSettings(concurrency=args.concurrency, batch=args.batch, tick=args.tick,
                                     claim_timeout=args.claim_timeout)
            print(_("mailbox-tui: watch {host} on {database}: testing what is due (looking every {seconds} s while "
                    "nothing is; SIGTERM or Ctrl-C stops)").format(host=me, database=describe_url(store.url),
                                                                  seconds=f"{settings.tick:g}"),
                  file=sys.stderr, flush=True)
            summary = Watcher(store, me, stop=stop, settings=settings, say=_say, note=_note,
                              json_lines=getattr(args, "json", False)).run()
    finally:
        if lock is not None:
            lock.release()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    left = (_("nothing left claimed") if not summary.left_claimed else ngettext(
        "{n} mailbox left claimed (the database could not be reached): other watches take it over once the "
        "claim timeout has passed, and on SQLite the next watch releases it",
        "{n} mailboxes left claimed (the database could not be reached): other watches take them over once the "
        "claim timeout has passed, and on SQLite the next watch releases them", summary.left_claimed).format(
        n=summary.left_claimed))
    rounds = ngettext("{n} round", "{n} rounds", summary.rounds).format(n=summary.rounds)
    print(_("mailbox-tui: watch stopped: {tested} tested ({succeeded} succeeded, {failed} failed), {not_recorded} "
            "not recorded, in {rounds}; {left}.").format(
        tested=summary.tested, succeeded=summary.succeeded, failed=summary.failed,
        not_recorded=summary.not_recorded, rounds=rounds, left=left), file=sys.stderr, flush=True)
    return cli.EXIT_OK


def _say(line: str) -> None:
    """A result: printed in the admin's language (mailtest.watch.Line), logged in English."""
    print(getattr(line, "shown", line), flush=True)
    log.info("%s", str(line))


def _note(line: str) -> None:
    print(_("mailbox-tui: watch: {line}").format(line=getattr(line, "shown", line)), file=sys.stderr, flush=True)
    log.warning("%s", str(line))
