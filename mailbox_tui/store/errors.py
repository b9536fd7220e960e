"""The store's errors: each says, in the admin's terms, what went wrong."""

from __future__ import annotations

from ..i18n import N_, say

# The words a conflict is told with (the callers' `since`, and what changed when no field did).
SINCE_WORDS = (N_("its state"), N_("you opened it"), N_("you chose it"), N_("the preview"), N_("the import read it"))


class StoreError(Exception):
    """A problem an admin can act on; the message says what it is."""


class ConflictError(StoreError):
    """Someone else saved the record since it was read."""

    def __init__(self, record: str, changed: list[str], since: str = "you opened it", then: str = ""):
        self.record = record
        self.changed = changed
        what = ", ".join(changed) if changed else SINCE_WORDS[0]
        when = say(since)  # one of SINCE_WORDS: shown in the admin's language (said())
        if then:
            super().__init__(say("{record} was changed by someone else since {when} ({what}): {then}",
                                 record=record, when=when, what=what, then=then))
        else:
            super().__init__(say("{record} was changed by someone else since {when} ({what}).",
                                 record=record, when=when, what=what))


class KeyMismatchError(StoreError):
    """A secret would be written under a key that does not read the database: refused."""
