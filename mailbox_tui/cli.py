"""The command line: runs the app, and the scriptable subcommands. Every command takes --db and --json."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from .cli_common import (EXIT_FINDINGS, EXIT_OK, EXIT_USAGE, _key_warning, _one_line, _open_store, _print, _refuse,
                         count, said_error)
from .cli_args import _SECONDS, _is_text, _shown, argparse_words, whole_number
from .cli_history import add_history_commands, cmd_history, cmd_undo
from .cli_output import ShownOutput, VisibleLogFormatter
from .cli_health import UNKNOWN as HEALTH_UNKNOWN
from .cli_health import cmd_health
from .cli_test import cmd_test
from .cli_upgrade import add_upgrade_command, cmd_upgrade
from .cli_watch import add_watch_command, cmd_watch
from .domain.outside_text import visible
from . import i18n
from .i18n import N_, _, ngettext, pgettext

LOG_ENV = "MAILBOX_TUI_LOG"
# The sections an import counts, as the admin reads them (the keys stay English: they are --json's).
COUNTED = {"profiles": N_("profiles"), "users": N_("users"), "queues": N_("queues"), "mailboxes": N_("mailboxes")}


def _counted(counts: dict[str, int]) -> str:
    """"3 profiles, 50 users, 1 forward mailbox" in the admin's language."""
    said = {"profiles": lambda n: ngettext("{n} profile", "{n} profiles", n),
            "users": lambda n: ngettext("{n} user", "{n} users", n),
            "queues": lambda n: ngettext("{n} queue", "{n} queues", n),
            "mailboxes": lambda n: ngettext("{n} mailbox", "{n} mailboxes", n),
            "forward_mailboxes": lambda n: ngettext("{n} forward mailbox", "{n} forward mailboxes", n)}
    return ", ".join(said[k](n).format(n=count(n)) if k in said else f"{count(n)} {k}" for k, n in counts.items())


class _Parser(argparse.ArgumentParser):
    """Usage errors in one line, exit 2."""

    def error(self, message: str):
        self.exit(EXIT_USAGE, _("mailbox-tui: error: {message} (see: {prog} --help)").format(
            message=_one_line(message), prog=self.prog) + "\n")


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

    return whole_number(text, 1, MAX_USERS, N_("a number of users"), N_("the demo's distinct names"))


def _common() -> argparse.ArgumentParser:
    common = _Parser(add_help=False)
    common.add_argument("--db", metavar=pgettext("metavar", "URL"), default=argparse.SUPPRESS,
                        help=_("database URL: sqlite:///PATH (default: a file in your data directory) "
                               "or postgresql://USER@HOST:PORT/NAME; also $MAILBOX_TUI_DB"))
    common.add_argument("--key-file", metavar=pgettext("metavar", "PATH"), type=Path, default=argparse.SUPPRESS,
                        help=_("Fernet key file (default: in your config directory); $MAILBOX_TUI_KEY overrides"))
    common.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help=_("print JSON"))
    common.add_argument("--log", metavar=pgettext("metavar", "FILE"), type=Path, default=argparse.SUPPRESS,
                        help=_("write a log to FILE (also ${variable})").format(variable=LOG_ENV))
    common.add_argument("--as", dest="acting", metavar=pgettext("metavar", "EMAIL"), default=argparse.SUPPRESS,
                        help=_("act as this admin user (default owner of new forward mailboxes; named in the "
                               "history)"))
    common.add_argument("--lang", choices=tuple(i18n.LANGUAGES), default=argparse.SUPPRESS,
                        help=_("the language to show: en (English) or sv (Svenska); default: the app's own "
                               "choice, then $LC_ALL, $LC_MESSAGES, $LANG (sv_SE.UTF-8 is Swedish)"))
    return common


def build_parser() -> argparse.ArgumentParser:
    common = _common()
    parser = _Parser(
        prog="mailbox-tui", parents=[common],
        description=_("Configure server-side mail synchronization mailboxes. Without a command, opens the app."))
    parser.add_argument("--version", action=_Version, help=_("print the version and exit"))
    parser.add_argument("--no-mouse", action="store_true", default=argparse.SUPPRESS, help=_("ignore the mouse"))
    sub = parser.add_subparsers(dest="command", metavar=pgettext("metavar", "COMMAND"), parser_class=_Parser)
    demo = sub.add_parser("demo", parents=[common], help=_("seed a sample organisation into an empty database"))
    demo.add_argument("--users", type=_demo_users, default=50, help=_("how many users (default 50)"))
    export = sub.add_parser("export", parents=[common], help=_("export everything in the exchange format"))
    export.add_argument("--format", choices=("json", "csv"), default="json")
    export.add_argument("--out", metavar=pgettext("metavar", "PATH"), type=Path,
                        help=_("file for json (default, or -: standard output); folder for csv (required); "
                               "an existing link, device or pipe is refused"))
    imp = sub.add_parser("import", parents=[common], help=_("import a JSON file, a CSV file or a folder of CSV files"))
    imp.add_argument("file", type=Path, metavar=pgettext("metavar", "file"),
                     help=_("the file or folder to import; - reads standard input"))
    imp.add_argument("--dry-run", action="store_true", help=_("check every row and report; write nothing"))
    imp.add_argument("--keep-secrets", action="store_true",
                     help=_("keep a stored password or client secret that a row sends to a new server or token "
                            "endpoint (P15; by default it is cleared)"))
    sub.add_parser("check", parents=[common], help=_("run every rule over every stored record"))
    test = sub.add_parser("test", parents=[common],
                          help=_("Test & Enable: connect to each mailbox's servers for real, record the results"))
    test.add_argument("emails", nargs="*", metavar=pgettext("metavar", "EMAIL"),
                      help=_("the mailboxes with these addresses"))
    test.add_argument("--all", action="store_true", help=_("every active mailbox"))
    test.add_argument("--failed", action="store_true", help=_("every mailbox with a failed test"))
    test.add_argument("--profile", metavar=pgettext("metavar", "NAME"), help=_("every mailbox of this server profile"))
    test.add_argument("--concurrency", type=_concurrency, default=32, metavar=pgettext("metavar", "N"),
                      help=_("connections at once, 1 to {high} (default 32; each server also gets at most its "
                             "profile's Maximum Concurrent Connections)").format(high=MAX_CONCURRENCY))
    test.add_argument("--deadline", type=_deadline, metavar=pgettext("metavar", "SECONDS"),
                      help=_("stop after this long (seconds, more than 0); mailboxes not reached are reported "
                             "as not tested"))
    test.add_argument("--send-test-message", action="store_true",
                      help=_("Exchange (Microsoft Graph or EWS): send one real test message from each mailbox "
                             "to itself to test outgoing email (by default nothing is sent)"))
    rotate = sub.add_parser("rotate-key", parents=[common], help=_("re-encrypt every stored password under a new key"))
    rotate.add_argument("--out", metavar=pgettext("metavar", "PATH"), type=Path,
                        help=_("where to write the new key when the current one comes from $MAILBOX_TUI_KEY"))
    health = sub.add_parser("health", parents=[common],
                            help=_("the lifecycle's figures for monitoring: exit 0 OK, 1 retrying, 2 disabled by "
                                   "failures, 3 unknown"))
    health.add_argument("--prometheus", action="store_true",
                        help=_("write the Prometheus text format (node_exporter's textfile collector)"))
    add_history_commands(sub, common)
    add_upgrade_command(sub, common)
    add_watch_command(sub, common, _concurrency, _deadline, whole_number)
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
        raise _LogProblem(_("the log {path} is a folder: give --log a file name (for example {example})").format(
            path=path, example=path / "mailbox-tui.log"))
    if not path.parent.is_dir():
        raise _LogProblem(_("there is no folder {folder} for the log file {name}: create it or give --log another "
                            "file").format(folder=path.parent, name=path.name))
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(VisibleLogFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler._mailbox_tui_cli = True
    root.addHandler(handler)


class _LogProblem(Exception):
    """--log names a place a log cannot be written."""


def cmd_demo(args) -> int:
    from .store.demo import seed_demo

    with _open_store(args) as store:
        counts = seed_demo(store, users=args.users)
    _print(args, counts, _("Seeded {counts}.").format(counts=_counted(counts)))
    return EXIT_OK


def cmd_export(args) -> int:
    from .store.exchange import export_csv, export_json
    from .store.safe_files import replace_atomically

    from .store.safe_files import not_a_regular_file

    out = None if str(args.out) == "-" and args.format == "json" else args.out  # --out -: standard output
    if args.format == "csv" and (out is None or str(out) == "-"):
        return _refuse(_("CSV export writes one file per record kind: give --out FOLDER"), EXIT_USAGE)
    what = not_a_regular_file(out) if out is not None else ""
    if what and not (args.format == "csv" and what == "a folder"):
        return _refuse(_("{out} is {what}, not a regular file: nothing was written. Exports write only regular "
                         "files (JSON) or into a real folder (CSV): name a new one, or give --out - for standard "
                         "output.").format(out=out, what=i18n.shown(what)), EXIT_USAGE)
    if args.format == "csv" and out.exists() and not out.is_dir():
        return _refuse(_("{out} is a file: CSV export writes one file per record kind into a folder; "
                         "give --out a folder").format(out=out), EXIT_USAGE)
    if args.format == "json" and out is not None and out.is_dir():
        return _refuse(_("{out} is a folder: JSON export writes one file; give --out a file name "
                         "(for example {example}), or use --format csv for a folder").format(
                             out=out, example=out / "export.json"), EXIT_USAGE)
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
    if getattr(args, "json", False):
        _print(args, {"out": str(out), "counts": counts}, "")
    else:
        print(_("Exported {counts} to {out}.").format(counts=_counted(counts), out=visible(out)), file=sys.stderr)
    return EXIT_OK


def cmd_import(args) -> int:
    from .store.database import sqlite_path
    from .store.exchange import import_document, interrupts, open_source
    from .store.exchange.read import carries_passwords

    args.import_written = False
    interrupts.arm()
    try:
        with open_source(args.file) as source:
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
                if not store.key_ok and carries_passwords(source):
                    return _refuse(_("this file carries passwords, and {problem} Nothing was written.").format(
                        problem=i18n.said(store.key_message)))
                report = import_document(store, source, dry_run=args.dry_run, source=source.name,
                                         keep_secrets=args.keep_secrets)
                args.import_written = report.written
    finally:
        interrupts.release()  # a Ctrl-C during the commit came too late: the import was written
    if getattr(args, "json", False):
        _print(args, report.as_dict(), "")
    else:
        for f in report.findings:  # "mailboxes[2] M1 error: …", the rule's message in the admin's language
            print(str(f).removesuffix(f.message) + f.shown, file=sys.stderr if f.is_error else sys.stdout)
        if report.secrets_note:
            print(i18n.said(report.secrets_note))
        if report.errors:
            print(ngettext("Nothing was written: {n} error.", "Nothing was written: {n} errors.",
                           len(report.errors)).format(n=count(len(report.errors))), file=sys.stderr)
        elif report.written:
            done = ", ".join(_("{created} created/{updated} updated {what}").format(
                created=count(report.created[s]), updated=count(report.updated[s]), what=i18n.shown(COUNTED[s]))
                for s in report.created)
            print(_("Imported: {done}.").format(done=done) + (_(
                " History entry #{entry}: `mailbox-tui undo {entry}` undoes it as a whole.").format(entry=report.entry)
                if report.entry else ""))
        else:
            print(ngettext("Dry run: no errors, {n} warning; nothing written.",
                           "Dry run: no errors, {n} warnings; nothing written.",
                           len(report.findings)).format(n=count(len(report.findings))))
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
                  f"{visible(f.finding.shown)}")
        warns = len(found) - len(errs)
        print(_("{errors}, {warnings}").format(  # "4 errors, 1 warning", as the form's summary says it
            errors=ngettext("{n} error", "{n} errors", len(errs)).format(n=count(len(errs))),
            warnings=ngettext("{n} warning", "{n} warnings", warns).format(n=count(warns))) + ".")
    return EXIT_FINDINGS if errs else EXIT_OK


def cmd_rotate_key(args) -> int:
    from .store.rotation import rotate_key

    with _open_store(args) as store:
        from_env = store.keyring.source == "environment"
        rotated, where = rotate_key(store, args.out)
    shared = from_env or where.stat().st_mode & 0o040
    _print(args, {"rotated": rotated, "key": str(where)},
           ngettext("Re-encrypted {n} stored password under a new key, now in {where}.",
                    "Re-encrypted {n} stored passwords under a new key, now in {where}.", rotated).format(
               n=count(rotated), where=visible(where))
           + (_(" Put its contents in MAILBOX_TUI_KEY.") if from_env else "")
           + (_(" Every admin who shares this key needs the new one.") if shared else ""))
    return EXIT_OK


MAX_CONCURRENCY = 1000


MAX_DEADLINE = 30 * 86_400  # seconds: a month; beyond it a wait's timeout overflows, and no run needs it


def _concurrency(text: str) -> int:
    """--concurrency: a whole number from 1 to MAX_CONCURRENCY (argparse makes anything else a usage error)."""
    return whole_number(text, 1, MAX_CONCURRENCY, N_("a number of connections"))


def _deadline(text: str) -> float:
    """--deadline: seconds greater than 0 and at most MAX_DEADLINE, in ASCII digits with an optional fraction."""
    if not _SECONDS.fullmatch(text):
        raise argparse.ArgumentTypeError(_("{value} is not a number of seconds: give digits 0-9, and a point "
                                           "for a fraction").format(value=_shown(text)))
    value = float(text) if len(text) <= 30 else float("inf")
    if not 0 < value <= MAX_DEADLINE:
        raise argparse.ArgumentTypeError(_("seconds must be more than 0 and at most {high} (30 days), not "
                                           "{value}").format(high=MAX_DEADLINE, value=_shown(text)))
    return value


def cmd_app(args) -> int:
    from .ui.app import run_app
    from .ui.settings import load_settings

    # The app also remembers the language chosen in it (settings.json); --lang still comes first.
    i18n.use(i18n.choose(getattr(args, "lang", None), load_settings().get("language")))

    with _open_store(args) as store:
        return run_app(store, acting=getattr(args, "acting", None), mouse=not getattr(args, "no_mouse", False))


COMMANDS = {"demo": cmd_demo, "export": cmd_export, "import": cmd_import, "check": cmd_check,
            "test": cmd_test, "rotate-key": cmd_rotate_key, "history": cmd_history, "undo": cmd_undo,
            "upgrade": cmd_upgrade, "health": cmd_health, "watch": cmd_watch, None: cmd_app}


def entry() -> int:
    """The installed `mailbox-tui` command. Peewee imports PostgreSQL's driver when it is imported,
    needed or not: about 50 ms of every start. Unless the command names a PostgreSQL database, it
    is kept out (an import of it then fails at once, as if it were not installed)."""
    wanted = " ".join([*sys.argv[1:], os.environ.get("MAILBOX_TUI_DB", "")]).lower()
    if "postgres" not in wanted and "psycopg" not in wanted:
        for driver in ("psycopg", "psycopg2", "psycopg2cffi"):
            sys.modules.setdefault(driver, None)
    return main()


def _interrupted(args) -> str:
    """What Ctrl-C (SIGINT) stopped: an import rolls back unless it was written (it is then held, see
    store/exchange/interrupts.py, and only output was cut short)."""
    if args.command == "import":
        return (_("interrupted after the import was written.") if getattr(args, "import_written", False) else
                _("import interrupted; nothing was written."))
    return _("interrupted.")


def _requested_language(argv: list[str]) -> str | None:
    """--lang as given, read before the parser is built (its help is in the language it asks for);
    the parser itself refuses one it does not know."""
    for i, arg in enumerate(argv):
        if arg == "--":
            break
        if arg == "--lang" and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith("--lang="):
            return arg.removeprefix("--lang=")
    return None


def main(argv: list[str] | None = None) -> int:
    from .domain.findings import RuleViolation
    from .store.crypto import KeyFileError
    from .store.database import StoreError

    i18n.use(i18n.choose(_requested_language(sys.argv[1:] if argv is None else argv)))
    try:
        with argparse_words():  # argparse's own words (usage:, options, its errors) in the admin's language
            parser = build_parser()
            args = parser.parse_args(argv)
    except SystemExit as exc:  # a usage error of `health` is "unknown" to a monitoring system (3), not 2
        if exc.code == EXIT_USAGE and "health" in (sys.argv[1:] if argv is None else argv):
            raise SystemExit(HEALTH_UNKNOWN) from None
        raise
    for name in ("emails", "profile", "acting"):  # text, not file names: undecodable bytes are a typo
        values = getattr(args, name, None)
        for text in values if isinstance(values, list) else [values]:
            if isinstance(text, str) and not _is_text(text):
                with argparse_words():
                    parser.error(_("{text} is not printable UTF-8 text").format(text=_one_line(text)))
    try:
        _setup_logging(getattr(args, "log", None))
        if args.command is None:  # the app: the terminal is its screen (ui/plain.py shows outside text)
            return COMMANDS[None](args)
        with ShownOutput(json_out=getattr(args, "json", False) or args.command == "export"):
            return COMMANDS[args.command](args)
    except RuleViolation as exc:
        for f in exc.findings:
            print(f"mailbox-tui: {f.rule} {f.severity.value}: {visible(f.shown)}", file=sys.stderr)
        return EXIT_FINDINGS
    except (StoreError, KeyFileError, _LogProblem) as exc:
        return _refuse(said_error(exc))
    except BrokenPipeError:
        # The reader went away (`export | head`): stop quietly, as `cat | head` does. Point stdout at
        # /dev/null so the interpreter's last flush does not complain either.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK
    except OSError as exc:
        if exc.strerror is None and exc.args:  # ours (safe_files.NotARegularFile): a sentence made with say()
            return _refuse(said_error(exc))
        return _refuse(f"{exc.strerror or exc}: {exc.filename or ''}".rstrip(": "))
    except KeyboardInterrupt:
        print(f"mailbox-tui: {_interrupted(args)}", file=sys.stderr)
        return 130
    except MemoryError:
        return _refuse(_("there was not enough memory to finish; nothing was written.")
                       if args.command == "import" and not getattr(args, "import_written", False) else
                       _("there was not enough memory to finish; nothing more was done."))
    except Exception as exc:
        from .store.database import default_url, describe_db_error, is_database_error

        if is_database_error(exc):
            return _refuse(i18n.said(describe_db_error(exc, getattr(args, "db", None) or default_url())))
        # A bug: one line for the admin, the details in the log.
        logging.getLogger("mailbox_tui").exception("unexpected error")
        return _refuse(_("unexpected {error}; nothing more was done. Details go to the log (--log FILE).").format(
            error=type(exc).__name__))
