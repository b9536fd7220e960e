"""The store's errors: each says, in the admin's terms, what went wrong."""

from __future__ import annotations


class StoreError(Exception):
    """A problem an admin can act on; the message says what it is."""


class ConflictError(StoreError):
    """Someone else saved the record since it was read."""

    def __init__(self, record: str, changed: list[str]):
        self.record = record
        self.changed = changed
        what = ", ".join(changed) if changed else "its state"
        super().__init__(f"{record} was changed by someone else since you opened it ({what}).")


class KeyMismatchError(StoreError):
    """A secret would be written under a key that does not read the database: refused."""
