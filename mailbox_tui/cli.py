"""The command line: runs the app, and the scriptable subcommands. Every command takes --db and --json."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE = 0, 1, 2
LOG_ENV = "MAILBOX_TUI_LOG"


def _common() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
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
    parser = argparse.ArgumentParser(
        prog="mailbox-tui", parents=[common],
        description="Configure server-side mail synchronization mailboxes. Without a command, opens the app.")
    parser.add_argument("--as", dest="acting", metavar="EMAIL", default=argparse.SUPPRESS,
                        help="act as this admin user (default owner of new forward mailboxes)")
    parser.add_argument("--no-mouse", action="store_true", default=argparse.SUPPRESS, help="ignore the mouse")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    demo = sub.add_parser("demo", parents=[common], help="seed a sample organisation into an empty database")
    demo.add_argument("--users", type=int, default=50, help="how many users (default 50)")
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
    return parser


def _setup_logging(path: Path | None) -> None:
    path = path or (Path(os.environ[LOG_ENV]) if os.environ.get(LOG_ENV) else None)
    root = logging.getLogger("mailbox_tui")
    root.setLevel(logging.INFO)
    if path is not None:
        handler = logging.FileHandler(path, encoding="utf-8")
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root.addHandler(handler)
    else:
        root.addHandler(logging.NullHandler())


def _open_store(args):
    from .store.database import Store

    return Store(getattr(args, "db", None), key_path=getattr(args, "key_file", None))


def _print(args, data, text: str) -> None:
    if getattr(args, "json", False):
        print(json.dumps(data, indent=2, ensure_ascii=False, default=str))
    elif text:
        print(text)


def _key_warning(store) -> None:
    if not store.key_ok:
        print(f"mailbox-tui: warning: {store.key_message}", file=sys.stderr)


def cmd_demo(args) -> int:
    from .store.demo import seed_demo

    with _open_store(args) as store:
        counts = seed_demo(store, users=args.users)
    _print(args, counts, "Seeded " + ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in counts.items()) + ".")
    return EXIT_OK


def cmd_export(args) -> int:
    from .store.exchange import export_csv, export_json

    with _open_store(args) as store:
        _key_warning(store)
        if args.format == "csv":
            if args.out is None:
                print("mailbox-tui: error: CSV export writes one file per record kind: give --out FOLDER",
                      file=sys.stderr)
                return EXIT_USAGE
            counts = export_csv(args.out)
        elif args.out is None:
            counts = export_json(sys.stdout)
            return EXIT_OK
        else:
            tmp = args.out.with_name(args.out.name + ".part")
            with tmp.open("w", encoding="utf-8") as fh:
                counts = export_json(fh)
            tmp.replace(args.out)
    summary = ", ".join(f"{n} {s}" for s, n in counts.items())
    if getattr(args, "json", False):
        _print(args, {"out": str(args.out), "counts": counts}, "")
    else:
        print(f"Exported {summary} to {args.out}.", file=sys.stderr)
    return EXIT_OK


def cmd_import(args) -> int:
    from .store.exchange import import_document, read_document

    doc = read_document(args.file)
    with _open_store(args) as store:
        report = import_document(store, doc, dry_run=args.dry_run)
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
    from .store.audit import check_all

    with _open_store(args) as store:
        _key_warning(store)
        found = list(check_all(store))
    errs = [f for f in found if f.finding.is_error]
    if getattr(args, "json", False):
        _print(args, {"errors": len(errs), "warnings": len(found) - len(errs),
                      "findings": [f.as_dict() for f in found]}, "")
    else:
        for f in found:
            print(f"{f.record} {f.record_id} {f.name!r} {f.finding.rule} {f.finding.severity.value}: "
                  f"{f.finding.message}")
        print(f"{len(errs)} error(s), {len(found) - len(errs)} warning(s).")
    return EXIT_FINDINGS if errs else EXIT_OK


def cmd_rotate_key(args) -> int:
    from .store.rotation import rotate_key

    with _open_store(args) as store:
        count, where = rotate_key(store, args.out)
    _print(args, {"rotated": count, "key": str(where)},
           f"Re-encrypted {count} stored password(s) under a new key, now in {where}.")
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
    print(f"[{progress.done}/{progress.total}] {outcome.name} <{outcome.email}> {result}{why}", file=sys.stderr)


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
            print(f"{'Failure' if o.failed else 'Success' if o.tested else 'Not Run':8} {o.name} <{o.email}>: "
                  f"{statuses}")
            for alert in o.alerts:
                print(f"    {alert.level} ({alert.step}): {alert.message}")
        for skipped in report.not_run:
            print(f"{'Not Run':8} {skipped.label}: {skipped.reason}")
        print(f"{len(report.outcomes)} tested: {report.successes} succeeded, {report.failures} failed, "
              f"{len(report.not_run)} not tested, in {report.elapsed:.1f} s.")
    return EXIT_OK if report.ok else EXIT_FINDINGS


def cmd_app(args) -> int:
    from .ui.app import run_app

    with _open_store(args) as store:
        return run_app(store, acting=getattr(args, "acting", None), mouse=not getattr(args, "no_mouse", False))


COMMANDS = {"demo": cmd_demo, "export": cmd_export, "import": cmd_import, "check": cmd_check,
            "test": cmd_test, "rotate-key": cmd_rotate_key, None: cmd_app}


def main(argv: list[str] | None = None) -> int:
    from .domain.findings import RuleViolation
    from .store.crypto import KeyError_
    from .store.database import StoreError

    parser = build_parser()
    args = parser.parse_args(argv)
    _setup_logging(getattr(args, "log", None))
    try:
        return COMMANDS[args.command](args)
    except RuleViolation as exc:
        for f in exc.findings:
            print(f"mailbox-tui: {f.rule} {f.severity.value}: {f.message}", file=sys.stderr)
        return EXIT_FINDINGS
    except (StoreError, KeyError_) as exc:
        print(f"mailbox-tui: error: {exc}", file=sys.stderr)
        return EXIT_FINDINGS
    except OSError as exc:
        print(f"mailbox-tui: error: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": "), file=sys.stderr)
        return EXIT_FINDINGS
    except KeyboardInterrupt:
        return 130
