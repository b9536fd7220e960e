"""The command line's argument values: a number given as ASCII digits in a range, text that is printable
UTF-8. Wrong ones are argparse's usage errors (exit 2, one line). Shared by every command module."""

from __future__ import annotations

import argparse
import re

from .cli_common import _one_line


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
    parentheses after the range, says where the range comes from."""
    if not _DIGITS.fullmatch(text):
        raise argparse.ArgumentTypeError(f"{_shown(text)} is not {what}: give digits 0-9 only")
    digits = text.lstrip("0") or "0"
    if len(digits) > len(str(high)) or not low <= int(digits) <= high:
        because = f" ({why})" if why else ""
        raise argparse.ArgumentTypeError(f"{what} is from {low} to {high}{because}, not {_shown(text)}")
    return int(digits)
