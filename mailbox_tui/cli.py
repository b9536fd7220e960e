"""The command line: runs the app, and the scriptable subcommands. Every command takes --db and --json."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path

from .cli_history import add_history_commands, cmd_history, cmd_undo
from .cli_output import ShownOutput
from .domain.outside_text import visible

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE = 0, 1, 2
LOG_ENV = "MAILBOX_TUI_LOG"
WRITE_WAIT_S = 120.0  # how long a command waits for another writer (saying so) before giving up


def _one_line(text: str) -> str:
    """A message for the terminal: control characters (a CR, an escape sequence) and undecodable
    bytes from the admin's arguments are shown escaped, never acted on; a URL's password is hidden."""
    import re

    text = re.sub(r"(\w+://[^/@:\s]*:)[^@/\s]*@", r"\1***@", text)
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def _is_text(text: str) -> bool:
    """Printable UTF-8: not bytes the terminal sent that are not UTF-8 (surrogate escapes), nor
    control characters (a CR, an escape sequence) that no address or name holds."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return text.isprintable()


class _Parser(argparse.ArgumentParser):
    """Usage errors in one line, exit 2."""

    def error(self, message: str):
        self.exit(EXIT_USAGE, f"mailbox-tui: error: {_one_line(message)} (see: {self.prog} --help)\n")


class _Version(argparse.Action):
    """--version, looked up only when asked (importlib.metadata costs 20 ms at every start)."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS, help=None):
        super().__init__(option_strings, dest, nargs=0, default=default, help=help)

    def __call__(self, parser, namespace, values, option_string=None):
        from importlib.metadata import PackageNotFoundError, version

        from . import __version__

        try:
            found = version("mailbox-tui")
        except PackageNotFoundError:
            found = __version__
        print(f"mailbox-tui {found}")
        parser.exit(EXIT_OK)


def _demo_users(text: str) -> int:
    from .store.demo import MAX_USERS

    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--users takes a whole number, not {text[:40]!r}") from None
    if not 1 <= n <= MAX_USERS:
        raise argparse.ArgumentTypeError(f"--users must be between 1 and {MAX_USERS} (the demo's distinct names)")
    return n


def _common() -> argparse.ArgumentParser:
    common = _Parser(add_help=False)
    common.add_argument("--db", metavar="URL", default=argparse.SUPPRESS,
                        help="database URL: sqlite:///PATH (default: a file in your data directory) "
                             "or postgresql://USER@HOST:PORT/NAME; also $MAILBOX_TUI_DB")
    common.add_argument("--key-file", metavar="PATH", type=Path, default=argparse.SUPPRESS,
                        help="Fernet key file (default: in your config directory); $MAILBOX_TUI_KEY overrides")
    common.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="print JSON")
    common.add_argument("--log", metavar="FILE", type=Path, default=argparse.SUPPRESS,
                        help=f"write a log to FILE (also ${LOG_ENV})")
    return common


def build_parser() -> argparse.ArgumentParser:
    common = _common()
    parser = _Parser(
        prog="mailbox-tui", parents=[common],
        description="Configure server-side mail synchronization mailboxes. Without a command, opens the app.")
    parser.add_argument("--version", action=_Version, help="print the version and exit")
    parser.add_argument("--as", dest="acting", metavar="EMAIL", default=argparse.SUPPRESS,
                        help="act as this admin user (default owner of new forward mailboxes)")
    parser.add_argument("--no-mouse", action="store_true", default=argparse.SUPPRESS, help="ignore the mouse")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    demo = sub.add_parser("demo", parents=[common], help="seed a sample organisation into an empty database")
    demo.add_argument("--users", type=_demo_users, default=50, help="how many users (default 50)")
    export = sub.add_parser("export", parents=[common], help="export everything in the exchange format")
    export.add_argument("--format", choices=("json", "csv"), default="json")
    export.add_argument("--out", metavar="PATH", type=Path,
                        help="file for json (default: standard output); folder for csv (required)")
    imp = sub.add_parser("import", parents=[common], help="import a JSON file, a CSV file or a folder of CSV files")
    imp.add_argument("file", type=Path)
    imp.add_argument("--dry-run", action="store_true", help="check every row and report; write nothing")
    sub.add_parser("check", parents=[common], help="run every rule over every stored record")
    test = sub.add_parser("test", parents=[common],
                          help="Test & Enable: connect to each mailbox's servers for real, record the results")
    test.add_argument("emails", nargs="*", metavar="EMAIL", help="the mailboxes with these addresses")
    test.add_argument("--all", action="store_true", help="every active mailbox")
    test.add_argument("--failed", action="store_true", help="every mailbox with a failed test")
    test.add_argument("--profile", metavar="NAME", help="every mailbox of this server profile")
    test.add_argument("--concurrency", type=_concurrency, default=32, metavar="N",
                      help=f"connections at once, 1 to {MAX_CONCURRENCY} (default 32; each server also gets at "
                           f"most its profile's Maximum Concurrent Connections)")
    test.add_argument("--deadline", type=_deadline, metavar="SECONDS",
                      help="stop after this long (seconds, more than 0); mailboxes not reached are reported "
                           "as not tested")
    rotate = sub.add_parser("rotate-key", parents=[common], help="re-encrypt every stored password under a new key")
    rotate.add_argument("--out", metavar="PATH", type=Path,
                        help="where to write the new key when the current one comes from $MAILBOX_TUI_KEY")
    add_history_commands(sub, common)
    return parser


def _setup_logging(path: Path | None) -> None:
    """A log file if asked for: a file in an existing folder, never a folder itself."""
    path = path or (Path(os.environ[LOG_ENV]) if os.environ.get(LOG_ENV) else None)
    root = logging.getLogger("mailbox_tui")
    root.setLevel(logging.INFO)
    for old in [h for h in root.handlers if getattr(h, "_mailbox_tui_cli", False)]:
        root.removeHandler(old)
        old.close()
    if path is None:
        return
    if path.is_dir():
        raise _LogProblem(f"the log {path} is a folder: give --log a file name (for example {path / 'mailbox-tui.log'})")
    if not path.parent.is_dir():
        raise _LogProblem(f"there is no folder {path.parent} for the log file {path.name}: create it or give "
                          "--log another file")
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler._mailbox_tui_cli = True
    root.addHandler(handler)


class _LogProblem(Exception):
    """--log names a place a log cannot be written."""


# Commands that may create a database; the others need one that exists (an empty new file
# would only report "all clear").
CREATES_DATABASE = {None, "demo", "import"}


def _open_store(args, url: str | None = None, keyring=None):
    from .store.database import Store

    def waiting() -> None:
        print("mailbox-tui: waiting for another writer (an import, a rotate-key or an admin's save) to finish…",
              file=sys.stderr, flush=True)

    scripted = args.command is not None  # the app keeps the short wait, and the terminal is its screen
    store = Store(url or getattr(args, "db", None), keyring=keyring, key_path=getattr(args, "key_file", None),
                  create=args.command in CREATES_DATABASE, on_wait=waiting if scripted else None,
                  **({"write_wait_s": WRITE_WAIT_S} if scripted else {}))
    for note in [*store.upgrade_notes, *store.key_notes]:  # before the app too: it may name a file
        print(f"mailbox-tui: note: {visible(note)}", file=sys.stderr)
    store.actor = _acting(args)
    return store


def _print(args, data, text: str) -> None:
    if getattr(args, "json", False):
        print(json.dumps(data, indent=2, ensure_ascii=False, default=str))
    elif text:
        print(text)


def _key_warning(store) -> None:
    if not store.key_ok:
        print(f"mailbox-tui: warning: {store.key_message}", file=sys.stderr)


def _refuse(message: str, code: int = EXIT_FINDINGS) -> int:
    print(f"mailbox-tui: error: {_one_line(message)}", file=sys.stderr)
    return code


def cmd_demo(args) -> int:
    from .store.demo import seed_demo

    with _open_store(args) as store:
        counts = seed_demo(store, users=args.users)
    _print(args, counts, "Seeded " + ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in counts.items()) + ".")
    return EXIT_OK


def cmd_export(args) -> int:
    from .store.exchange import export_csv, export_json
    from .store.safe_files import replace_atomically

    out = args.out
    if args.format == "csv" and out is None:
        return _refuse("CSV export writes one file per record kind: give --out FOLDER", EXIT_USAGE)
    if args.format == "csv" and out.exists() and not out.is_dir():
        return _refuse(f"{out} is a file: CSV export writes one file per record kind into a folder; "
                       "give --out a folder", EXIT_USAGE)
    if args.format == "json" and out is not None and out.is_dir():
        return _refuse(f"{out} is a folder: JSON export writes one file; give --out a file name "
                       f"(for example {out / 'export.json'}), or use --format csv for a folder", EXIT_USAGE)
    with _open_store(args) as store:
        _key_warning(store)
        with store.reading():
            if args.format == "csv":
                counts = export_csv(out)
            elif out is None:
                export_json(sys.stdout)
                sys.stdout.flush()
                return EXIT_OK
            else:
                with replace_atomically(out) as fh:
                    counts = export_json(fh)
    summary = ", ".join(f"{n} {s}" for s, n in counts.items())
    if getattr(args, "json", False):
        _print(args, {"out": str(out), "counts": counts}, "")
    else:
        print(f"Exported {summary} to {visible(out)}.", file=sys.stderr)
    return EXIT_OK


SECRET_FIELDS = ("password", "outgoingpassword")


def _carries_passwords(doc: dict) -> bool:
    return any(isinstance(row, dict) and any(row.get(f) not in (None, "") for f in SECRET_FIELDS)
               for rows in doc.values() if isinstance(rows, list) for row in rows)


def cmd_import(args) -> int:
    from .store.database import sqlite_path
    from .store.exchange import import_document, read_document

    doc = read_document(args.file)
    url, keyring = None, None
    if args.dry_run:
        # A dry run writes nothing, not even a new database: a database that does not exist yet is
        # judged as the empty one it would be, in memory.
        from .store.database import default_url

        path = sqlite_path(getattr(args, "db", None) or default_url())
        if path is not None and path != ":memory:" and not Path(path).exists():
            from cryptography.fernet import Fernet

            from .store.crypto import KeyRing

            url, keyring = "sqlite:///:memory:", KeyRing([Fernet.generate_key()], "a dry run's throwaway key")
    with _open_store(args, url, keyring) as store:
        if not store.key_ok and _carries_passwords(doc):
            return _refuse(f"this file carries passwords, and {store.key_message} Nothing was written.")
        report = import_document(store, doc, dry_run=args.dry_run, source=args.file.name)
    if getattr(args, "json", False):
        _print(args, report.as_dict(), "")
    else:
        for f in report.findings:
            print(str(f), file=sys.stderr if f.is_error else sys.stdout)
        if report.errors:
            print(f"Nothing was written: {len(report.errors)} error(s).", file=sys.stderr)
        elif report.written:
            done = ", ".join(f"{report.created[s]} created/{report.updated[s]} updated {s}" for s in report.created)
            print(f"Imported: {done}.")
        else:
            print(f"Dry run: no errors, {len(report.findings)} warning(s); nothing written.")
    return EXIT_FINDINGS if report.errors else EXIT_OK


def cmd_check(args) -> int:
    from .store.stored_findings import stored_findings

    with _open_store(args) as store:
        _key_warning(store)
        with store.reading():
            found = list(stored_findings(store))
    errs = [f for f in found if f.finding.is_error]
    if getattr(args, "json", False):
        _print(args, {"errors": len(errs), "warnings": len(found) - len(errs),
                      "findings": [f.as_dict() for f in found]}, "")
    else:
        for f in found:
            print(f"{f.record} {f.record_id} {f.name!r} {f.finding.rule} {f.finding.severity.value}: "
                  f"{visible(f.finding.message)}")
        print(f"{len(errs)} error(s), {len(found) - len(errs)} warning(s).")
    return EXIT_FINDINGS if errs else EXIT_OK


def cmd_rotate_key(args) -> int:
    from .store.rotation import rotate_key

    with _open_store(args) as store:
        from_env = store.keyring.source == "environment"
        count, where = rotate_key(store, args.out)
    shared = from_env or where.stat().st_mode & 0o040
    _print(args, {"rotated": count, "key": str(where)},
           f"Re-encrypted {count} stored password(s) under a new key, now in {visible(where)}."
           + (" Put its contents in MAILBOX_TUI_KEY." if from_env else "")
           + (" Every admin who shares this key needs the new one." if shared else ""))
    return EXIT_OK


MAX_CONCURRENCY = 1000


def _concurrency(text: str) -> int:
    """--concurrency: a whole number from 1 to MAX_CONCURRENCY (argparse makes anything else a usage error)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not 1 <= value <= MAX_CONCURRENCY:
        raise argparse.ArgumentTypeError(f"must be from 1 to {MAX_CONCURRENCY}, not {text}")
    return value


def _deadline(text: str) -> float:
    """--deadline: a finite number of seconds greater than 0."""
    import math

    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a number of seconds greater than 0, not {text}")
    return value


def _test_selection(args) -> tuple[list[int] | None, str, int]:
    """The mailbox ids `mailbox-tui test` covers; or None, the reason and the exit status: a usage
    error (2) when the command does not say which, a refusal (1) when what it names does not exist."""
    from .mailtest import selection

    chosen = [args.all, args.failed, args.profile is not None, bool(args.emails)]
    if sum(map(bool, chosen)) != 1:
        return None, "say which mailboxes to test: --all, --failed, --profile NAME, or EMAIL addresses", EXIT_USAGE
    if args.all:
        return selection.active_mailboxes(), "", EXIT_OK
    if args.failed:
        return selection.failed_mailboxes(), "", EXIT_OK
    if args.profile is not None:
        ids = selection.profile_mailboxes(args.profile)
        if ids is None:
            return None, f"there is no server profile named {args.profile!r}.", EXIT_FINDINGS
        return ids, "", EXIT_OK
    ids, missing = selection.mailboxes_by_email(args.emails)
    if missing:
        return None, f"no mailbox has the address {', '.join(missing)}.", EXIT_FINDINGS
    return ids, "", EXIT_OK


def _test_progress(progress) -> None:
    from .domain.options import TestStatus

    outcome = progress.outcome
    if outcome is None:
        print(f"Testing {progress.total} mailbox(es)…", file=sys.stderr)
        return
    result = "Failure" if outcome.failed else "Success" if outcome.tested else "Not Run"
    first = next((c for c in outcome.checks.values() if c.status == TestStatus.FAILURE), None)
    why = f": {first.direction} failed at {first.step}" if first else ""
    print(f"[{progress.done}/{progress.total}] {visible(outcome.name)} <{visible(outcome.email)}> {result}{why}",
          file=sys.stderr)


def cmd_test(args) -> int:
    from .domain.options import TestStatus
    from .mailtest.runner import TestRunner

    with _open_store(args) as store:
        _key_warning(store)
        ids, problem, status = _test_selection(args)
        if ids is None:
            print(f"mailbox-tui: error: {problem}", file=sys.stderr)
            return status
        report = TestRunner(store, concurrency=args.concurrency, deadline=args.deadline,
                            on_progress=_test_progress).run(ids)
    report.outcomes.sort(key=lambda o: (o.name.casefold(), o.mailbox_id))
    if getattr(args, "json", False):
        _print(args, report.as_dict(), "")
    else:
        for o in report.outcomes:
            statuses = ", ".join(f"{c.direction} {TestStatus.label_of(c.status)}" for c in o.checks.values())
            print(f"{'Failure' if o.failed else 'Success' if o.tested else 'Not Run':8} {visible(o.name)} "
                  f"<{visible(o.email)}>: {statuses}")
            for alert in o.alerts:
                print(f"    {alert.level} ({alert.step}): {visible(alert.message)}")
        for skipped in report.not_run:
            print(f"{'Not Run':8} {visible(skipped.label)}: {skipped.reason}")
        print(f"{len(report.outcomes)} tested: {report.successes} succeeded, {report.failures} failed, "
              f"{len(report.not_run)} not tested, in {report.elapsed:.1f} s.")
    return EXIT_OK if report.ok else EXIT_FINDINGS


def cmd_app(args) -> int:
    from .ui.app import run_app

    with _open_store(args) as store:
        return run_app(store, acting=getattr(args, "acting", None), mouse=not getattr(args, "no_mouse", False))


def _acting(args) -> str:
    """Who the history says made a change: --as, or the acting admin this user chose in the app."""
    from .domain.text import email_key
    from .ui.settings import load_settings  # plain JSON; no Textual

    text = getattr(args, "acting", None) or load_settings().get("acting_admin") or ""
    return email_key(text) if text else ""


COMMANDS = {"demo": cmd_demo, "export": cmd_export, "import": cmd_import, "check": cmd_check,
            "test": cmd_test, "rotate-key": cmd_rotate_key, "history": cmd_history, "undo": cmd_undo,
            None: cmd_app}


def entry() -> int:
    """The installed `mailbox-tui` command. Peewee imports PostgreSQL's driver when it is imported,
    needed or not: about 50 ms of every start. Unless the command names a PostgreSQL database, it
    is kept out (an import of it then fails at once, as if it were not installed)."""
    wanted = " ".join([*sys.argv[1:], os.environ.get("MAILBOX_TUI_DB", "")]).lower()
    if "postgres" not in wanted and "psycopg" not in wanted:
        for driver in ("psycopg", "psycopg2", "psycopg2cffi"):
            sys.modules.setdefault(driver, None)
    return main()


def main(argv: list[str] | None = None) -> int:
    from .domain.findings import RuleViolation
    from .store.crypto import KeyFileError
    from .store.database import StoreError

    parser = build_parser()
    args = parser.parse_args(argv)
    for name in ("emails", "profile", "acting"):  # text, not file names: undecodable bytes are a typo
        values = getattr(args, name, None)
        for text in values if isinstance(values, list) else [values]:
            if isinstance(text, str) and not _is_text(text):
                parser.error(f"{_one_line(text)} is not printable UTF-8 text")
    try:
        _setup_logging(getattr(args, "log", None))
        if args.command is None:  # the app: the terminal is its screen (ui/plain.py shows outside text)
            return COMMANDS[None](args)
        with ShownOutput(json_out=getattr(args, "json", False) or args.command == "export"):
            return COMMANDS[args.command](args)
    except RuleViolation as exc:
        for f in exc.findings:
            print(f"mailbox-tui: {f.rule} {f.severity.value}: {visible(f.message)}", file=sys.stderr)
        return EXIT_FINDINGS
    except (StoreError, KeyFileError, _LogProblem) as exc:
        return _refuse(str(exc))
    except BrokenPipeError:
        # The reader went away (`export | head`): stop quietly. Point stdout at /dev/null so the
        # interpreter's last flush does not complain either.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_FINDINGS
    except OSError as exc:
        return _refuse(f"{exc.strerror or exc}: {exc.filename or ''}".rstrip(": "))
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        from .store.database import default_url, describe_db_error, is_database_error

        if is_database_error(exc):
            return _refuse(describe_db_error(exc, getattr(args, "db", None) or default_url()))
        # A bug: one line for the admin, the details in the log.
        logging.getLogger("mailbox_tui").exception("unexpected error")
        return _refuse(f"unexpected {type(exc).__name__}; nothing more was done. Details go to the log "
                       "(--log FILE).")
