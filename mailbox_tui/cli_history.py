"""`mailbox-tui history` and `mailbox-tui undo` (issue 13): the change history, newest first, and
undo of one entry through the same rules as a save. Same conventions as the other commands: 0
success, 1 refused (the reason on stderr), 2 usage."""

from __future__ import annotations

import argparse
import json
import sys

from .cli_args import MAX_INTEGER, _is_text, whole_number
from .cli_common import EXIT_OK, _one_line, _open_store, _print
from .domain.outside_text import visible
from .i18n import N_, _, said


def add_history_commands(sub, common) -> None:
    hist = sub.add_parser("history", parents=[common], help=_("the change history, newest first"))
    hist.add_argument("--record", metavar="KIND:KEY", type=record_arg,
                      help=_("one record's entries: mailbox:NAME, user:EMAIL, queue:NAME, profile:NAME or settings"))
    hist.add_argument("--admin", metavar="EMAIL", help=_("entries of this acting admin"))
    hist.add_argument("--since", metavar="DATE", type=since_arg,
                      help=_("entries from this UTC date or time on (YYYY-MM-DD[ HH:MM], today, yesterday)"))
    hist.add_argument("--limit", metavar="N", type=limit_arg, help=_("at most N entries (default: all)"))
    undo = sub.add_parser("undo", parents=[common], help=_("undo a history entry (through the same rules as a save)"))
    undo.add_argument("entry", metavar="ENTRY", type=entry_arg, help=_("the entry's number (mailbox-tui history)"))


def _argument(text: str, parse, what: str):
    """`parse(text)`, or argparse's usage error "<text> is not <what>" when it gives None."""
    value = parse(text) if _is_text(text) else None
    if value is None:
        raise argparse.ArgumentTypeError(_("{text} is not {what}").format(text=_one_line(text), what=what))
    return value


def record_arg(text: str):
    from .store.history_read import parse_record

    return _argument(text, parse_record,
                     _("KIND:KEY (mailbox:NAME, user:EMAIL, queue:NAME, profile:NAME or settings)"))


def since_arg(text: str):
    from .store.history_read import parse_since

    return _argument(text, parse_since, _("a date: give YYYY-MM-DD (UTC), YYYY-MM-DD HH:MM, today or yesterday"))


def limit_arg(text: str) -> int:
    return whole_number(text, 1, MAX_INTEGER, N_("a number of entries"))


def entry_arg(text: str) -> int:
    """An entry's number as `history` shows it (#12) or bare; ASCII digits, up to what the database holds."""
    return whole_number(text.removeprefix("#"), 1, MAX_INTEGER, N_("an entry number"))


def _who(e) -> str:
    """The acting admin and where from; "(no acting admin)" in the admin's words."""
    return e.who if e.admin else _("(no acting admin)") + e.who[len("(no acting admin)"):]


def cmd_history(args) -> int:
    from .store.history_read import history_page

    where = {}
    if args.record:
        where["record_key"] = args.record
    if args.admin:
        where["admin"] = args.admin
    if args.since:
        where["since"] = args.since
    as_json = getattr(args, "json", False)
    shown, after, limit = 0, None, args.limit
    with _open_store(args) as store, store.reading():
        if as_json:
            print("[", end="")
        while limit is None or shown < limit:
            page = history_page(store, "all", "", limit=min(500, (limit or 500) - shown) if limit else 500,
                                after=after, **where)
            if not page:
                break
            for e in page:
                if as_json:
                    print(("," if shown else "") + "\n  " + json.dumps(e.as_dict(), ensure_ascii=False), end="")
                else:
                    print(f"#{e.id}  {e.at:%Y-%m-%d %H:%M:%S}  {visible(_who(e))}  {visible(said(e.phrase))}"
                          + (f"  {_one_line(e.summary)}" if e.changes else ""))
                shown += 1
            after = page[-1].key
        if as_json:
            print("\n]" if shown else "]")
    if not shown and not as_json:
        print(_("No history entries match."), file=sys.stderr)
    return EXIT_OK


def cmd_undo(args) -> int:
    from .store.history_read import entry as read_entry
    from .store.undo import describe_entry, undo

    with _open_store(args) as store:
        e = read_entry(args.entry)
        if e is not None and e.action == "import":
            return _undo_import(args, store)
        written = undo(store, args.entry)
        lines = [describe_entry(i) for i in written]
    _print(args, {"undone": args.entry, "entries": written},
           _("Undid entry #{id}.").format(id=args.entry) + "".join(f"\n  {_one_line(line)}" for line in lines))
    return EXIT_OK


def _undo_import(args, store) -> int:
    """An import is undone as a whole: say how many records of each kind, and what was skipped."""
    from .store.undo_import import undo_whole_import

    done = undo_whole_import(store, args.entry)
    own = done.entry_id
    _print(args, {"undone": args.entry, "entries": [own], "deleted": done.deleted, "restored": done.restored,
                         "skipped": done.skipped},
                  _("Undid import #{id} as a whole (entry #{own}): {what}.").format(
                      id=args.entry, own=own, what=_one_line(said(done.summary()))))
    return EXIT_OK
