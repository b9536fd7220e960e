"""The store's errors: each says, in the admin's terms, what went wrong."""

from __future__ import annotations


class StoreError(Exception):
    """A problem an admin can act on; the message says what it is."""


class ConflictError(StoreError):
    """Someone else saved the record since it was read."""

    def __init__(self, record: str, changed: list[str], since: str = "you opened it", then: str = ""):
        self.record = record
        self.changed = changed
        what = ", ".join(changed) if changed else "its state"
        said = f"{record} was changed by someone else since {since} ({what})"
        super().__init__(f"{said}: {then}" if then else f"{said}.")


class KeyMismatchError(StoreError):
    """A secret would be written under a key that does not read the database: refused."""
