"""What every command shares: opening the store as a command does, printing, refusing in one line, the
exit statuses. No command's own logic lives here (cli.py, cli_history.py, cli_test.py, cli_upgrade.py)."""

from __future__ import annotations

import json
import sys

from . import i18n
from .domain.outside_text import visible
from .i18n import _

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE = 0, 1, 2
WRITE_WAIT_S = 120.0  # how long a command waits for another writer (saying so) before giving up


def _one_line(text: str) -> str:
    """A message for the terminal: control characters (a CR, an escape sequence) and undecodable
    bytes from the admin's arguments are shown escaped, never acted on; a URL's password is hidden."""
    import re

    text = re.sub(r"(\w+://[^/@:\s]*:)[^@/\s]*@", r"\1***@", text)
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


# Commands that may create a database; the others need one that exists (an empty new file
# would only report "all clear").
CREATES_DATABASE = {None, "demo", "import"}


def _open_store(args, url: str | None = None, keyring=None, quiet_upgrade: bool = False):
    from .store.database import Store

    def waiting() -> None:
        print(_("mailbox-tui: waiting for another writer (an import, a rotate-key or an admin's save) to finish…"),
              file=sys.stderr, flush=True)

    scripted = args.command is not None  # the app keeps the short wait, and the terminal is its screen
    store = Store(url or getattr(args, "db", None), keyring=keyring, key_path=getattr(args, "key_file", None),
                  create=args.command in CREATES_DATABASE, on_wait=waiting if scripted else None,
                  on_upgrade_wait=lambda said: print(f"mailbox-tui: {i18n.said(said)}", file=sys.stderr, flush=True),
                  **({"write_wait_s": WRITE_WAIT_S} if scripted else {}))
    for note in [*([] if quiet_upgrade else store.upgrade_notes), *store.key_notes]:
        # before the app too: it may name a file
        print(_("mailbox-tui: note: {note}").format(note=visible(i18n.said(note))), file=sys.stderr)
    store.actor = _acting(args)
    return store


def _print(args, data, text: str) -> None:
    if getattr(args, "json", False):
        print(json.dumps(data, indent=2, ensure_ascii=False, default=str))
    elif text:
        print(text)


def _key_warning(store) -> None:
    if not store.key_ok:
        print(_("mailbox-tui: warning: {message}").format(message=i18n.said(store.key_message)), file=sys.stderr)


def _refuse(message: str, code: int = EXIT_FINDINGS) -> int:
    print(_("mailbox-tui: error: {message}").format(message=_one_line(message)), file=sys.stderr)
    return code


def said_error(exc: BaseException) -> str:
    """An error's sentence in the admin's language: the store makes its errors' sentences in English with
    i18n.say() (they may be logged or stored), and they are shown here."""
    text = exc.args[0] if len(exc.args) == 1 and isinstance(exc.args[0], str) else str(exc)
    return i18n.said(text)


def count(n: int) -> str:
    """A count in a sentence: as the code always wrote it in English (2000), with Swedish's thousands
    separator in Swedish (2 000)."""
    return str(n) if i18n.current() == i18n.ENGLISH else i18n.number(n)


def _acting(args) -> str:
    """Who the history says made a change: --as, or the acting admin this user chose in the app."""
    from .domain.text import email_key
    from .ui.settings import load_settings  # plain JSON; no Textual

    text = getattr(args, "acting", None) or load_settings().get("acting_admin") or ""
    return email_key(text) if text else ""
