"""The command line's argument values: a number given as ASCII digits in a range, text that is printable
UTF-8. Wrong ones are argparse's usage errors (exit 2, one line). Shared by every command module."""

from __future__ import annotations

import argparse
import re
from contextlib import contextmanager

from . import i18n
from .cli_common import _one_line
from .i18n import N_, _

# argparse's own words (Python 3.11's argparse.py looks them up with gettext while it builds a parser,
# writes its help and refuses an argument): the same words in our catalogue, so `--help` and a usage
# error are in the admin's language. argparse_words() lends them to argparse while the parser is used.
ARGPARSE_WORDS = (
    N_("usage: "), N_("positional arguments"), N_("options"), N_("show this help message and exit"),
    N_("argument %(argument_name)s: %(message)s"), N_("the following arguments are required: %s"),
    N_("unrecognized arguments: %s"), N_("invalid choice: %(value)r (choose from %(choices)s)"),
    N_("invalid %(type)s value: %(value)r"), N_("expected one argument"), N_("expected at most one argument"),
    N_("expected at least one argument"), N_("ambiguous option: %(option)s could match %(matches)s"),
    N_("not allowed with argument %s"), N_("ignored explicit argument %r"), N_("one of the arguments %s is required"),
    N_("unexpected option string: %s"), N_("unknown parser %(parser_name)r (choices: %(choices)s)"),
    N_("can't open '%(filename)s': %(error)s"), N_("%(prog)s: error: %(message)s\n"),
)


def _argparse_plurals() -> None:  # never called: marks argparse's one plural for the catalogue
    i18n.ngettext("expected %s argument", "expected %s arguments", 2)


@contextmanager
def argparse_words():
    """argparse's words from our catalogue (its own gettext domain has no Swedish) while the parser is
    built and used; put back afterwards, so nothing else that uses argparse in this process changes."""
    saved = argparse._, argparse.ngettext
    argparse._, argparse.ngettext = _argparse_gettext, _argparse_ngettext
    try:
        yield
    finally:
        argparse._, argparse.ngettext = saved


def _argparse_gettext(message):
    return i18n.shown(message) if isinstance(message, str) else message


def _argparse_ngettext(singular: str, plural: str, n: int) -> str:
    return i18n.ngettext(singular, plural, n)


def _is_text(text: str) -> bool:
    """Printable UTF-8: not bytes the terminal sent that are not UTF-8 (surrogate escapes), nor
    control characters (a CR, an escape sequence) that no address or name holds."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return text.isprintable()


_DIGITS = re.compile(r"[0-9]+", re.ASCII)
_SECONDS = re.compile(r"[0-9]+(?:\.[0-9]+)?|\.[0-9]+", re.ASCII)
MAX_INTEGER = 2**63 - 1  # what SQLite and PostgreSQL (bigint) hold: a history entry's number is below it


def _shown(text: str) -> str:
    """An argument as a usage error quotes it: one line, cut short (a 5000-digit number is not repeated)."""
    return repr(_one_line(text if len(text) <= 30 else text[:24] + "…"))


def whole_number(text: str, low: int, high: int, what: str, why: str = "") -> int:
    """A number argument: ASCII digits only (not ５, 1_0, +3, " 3", ٣, 1e3), from `low` to `high`; anything
    else is argparse's usage error (exit 2, one line). `what` names it ("a number of entries"); `why`, in
    parentheses after the range, says where the range comes from (both marked with N_ by the caller,
    shown in the admin's language)."""
    if not _DIGITS.fullmatch(text):
        raise argparse.ArgumentTypeError(_("{value} is not {what}: give digits 0-9 only").format(
            value=_shown(text), what=i18n.shown(what)))
    digits = text.lstrip("0") or "0"
    if len(digits) > len(str(high)) or not low <= int(digits) <= high:
        if why:
            raise argparse.ArgumentTypeError(_("{what} is from {low} to {high} ({why}), not {value}").format(
                what=i18n.shown(what), low=low, high=high, why=i18n.shown(why), value=_shown(text)))
        raise argparse.ArgumentTypeError(_("{what} is from {low} to {high}, not {value}").format(
            what=i18n.shown(what), low=low, high=high, value=_shown(text)))
    return int(digits)
