"""The rule registry: one declaration per rule, next to the code that applies it.

Each rule function carries a `@rule(...)` declaration (ID, title, what it does, the record and
fields it judges, its severities, where it runs); a rule that is an effect rather than a check
(M17 stale results, U2 a user's new mailbox) is declared on the function that does it. docs/RULES.md
is generated from these declarations (`.venv/bin/python -m mailbox_tui.rules_doc > docs/RULES.md`), and
tests/domain/test_rule_registry.py holds the code to them, so the document and the code cannot drift.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import Enum, Flag, auto
from typing import TypeVar

from .findings import Severity


class Where(Flag):
    """Where a rule runs."""

    FORM = auto()  # live under the field as the admin types, and again when a save is refused
    IMPORT = auto()  # every row of `mailbox-tui import`, before anything is written
    CHECK = auto()  # `mailbox-tui check`, over every stored record
    TEST = auto()  # Test & Enable: an error makes the direction it concerns a Failure


WHERE_LABELS = {
    Where.FORM: "Form & save",
    Where.IMPORT: "Import",
    Where.CHECK: "Check",
    Where.TEST: "Test & Enable",
}
ALL_PATHS = Where.FORM | Where.IMPORT | Where.CHECK
SAVES = Where.FORM | Where.IMPORT  # what happens on every write, whichever path it takes


class Record(str, Enum):
    MAILBOX = "mailbox"
    PROFILE = "profile"
    USER = "user"
    QUEUE = "queue"
    ORG = "organisation settings"


# Where a record's rules run unless a declaration says otherwise: the mailbox rules also run at
# Test & Enable (at its TEST stage); organisation settings are edited on one form, never imported.
DEFAULT_WHERE = {
    Record.MAILBOX: ALL_PATHS | Where.TEST,
    Record.PROFILE: ALL_PATHS,
    Record.USER: ALL_PATHS,
    Record.QUEUE: ALL_PATHS,
    Record.ORG: Where.FORM,
}
E, W, I = Severity.ERROR, Severity.WARNING, Severity.INFO


@dataclass(frozen=True)
class RuleUse:
    """One place a rule is applied: a record, the fields it judges, and how."""

    record: Record
    fields: tuple[str, ...]
    severities: tuple[Severity, ...]  # empty: an effect, it reports nothing
    where: Where
    function: str = ""  # "module:qualname" of the code that applies it; "" when it is not in the domain
    note: str = ""  # what is special about this use, when there is something


@dataclass
class RuleSpec:
    id: str
    title: str = ""
    text: str = ""  # what the code does, in the words an admin reads
    uses: list[RuleUse] = field(default_factory=list)

    @property
    def reports(self) -> bool:
        """Whether the rule reports findings (rather than only changing what a save writes)."""
        return any(u.severities for u in self.uses)


RULES: dict[str, RuleSpec] = {}

# IDs kept for rules the domain describes that this code does not implement yet. A rule declared
# here and implemented too is a mistake that tests/domain/test_rule_registry.py reports.
RESERVED: dict[str, str] = {}

_ID = re.compile(r"[MPUQAR][0-9]{1,2}")
F = TypeVar("F", bound=Callable)


def rule(rule_id: str, title: str = "", text: str = "", *, record: Record, fields: Iterable[str] = (),
         severity: Iterable[Severity] = (E,), where: Where | None = None, note: str = "") -> Callable[[F], F]:
    """Declare that the decorated function applies rule `rule_id` to `record`.

    The title and text are given once per rule, on any one of its declarations."""

    def register(function: F) -> F:
        _add(rule_id, title, text, RuleUse(record, tuple(fields), tuple(severity), where or DEFAULT_WHERE[record],
                                           f"{function.__module__}:{function.__qualname__}", note))
        return function

    return register


def declare(rule_id: str, title: str = "", text: str = "", *, record: Record, fields: Iterable[str] = (),
            severity: Iterable[Severity] = (), where: Where, note: str = "") -> None:
    """Declare a use of a rule that is applied outside the domain (in the store or the screens)."""
    _add(rule_id, title, text, RuleUse(record, tuple(fields), tuple(severity), where, "", note))


def _add(rule_id: str, title: str, text: str, use: RuleUse) -> None:
    if not _ID.fullmatch(rule_id):
        raise ValueError(f"{rule_id!r} is not a rule ID (a letter M, P, U, Q, A or R and a number)")
    spec = RULES.setdefault(rule_id, RuleSpec(rule_id))
    if title or text:
        if spec.title or spec.text:
            raise ValueError(f"{rule_id}: the title and text are given twice")
        spec.title, spec.text = title, text
    spec.uses.append(use)


# Codes that reports carry in the rule column but that are not rules of the domain: facts about
# a file or a database that only the store can tell.
REPORT_CODES = {
    "FORMAT": ("Import", "A value of the wrong type (text where a number belongs, an unknown TLS mode, a "
                         "malformed `regarding`), or an unknown column (a warning: the column is ignored)."),
    "CONFLICT": ("Import", "Someone else saved a record the import was about to change; nothing was written."),
    "DATABASE": ("Import", "The database refused a row that the rules let through; nothing was written."),
    "KEY": ("Check", "A stored password can't be read with the current encryption key: re-enter it, or use "
                     "the key that encrypted it."),
}

_GROUP_ORDER = "MPUQAR"


def rule_order(rule_id: str) -> tuple[int, int]:
    """M before P before U, Q, A, R; then by number (M2 before M10)."""
    return _GROUP_ORDER.index(rule_id[0]), int(rule_id[1:])
