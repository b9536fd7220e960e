"""A planned mailbox: what an import will write to one mailbox (planned.py keeps them)."""

from __future__ import annotations

from dataclasses import dataclass, field

from ...domain.records import MailboxDraft, PasswordEdit


@dataclass
class PlannedMailbox:
    section: str
    row: int
    draft: MailboxDraft  # as it will be after the import (ids may be placeholders < 0)
    edits: dict = field(default_factory=dict)  # fields the file sets, for an existing mailbox
    existing: bool = False
    password: PasswordEdit | None = None
    # Where a finding on a field is reported: the row that set it. Only fields an earlier row set
    # are kept here (most plans have one row; a dict per plan costs at 100,000 rows).
    origins: dict | None = None

    def hand_over(self, section: str, row: int, edits: dict) -> None:
        """A later row edits this mailbox: what the earlier row set stays that row's."""
        earlier = [attr for attr in self.edits if attr not in edits]
        if earlier:
            if self.origins is None:
                self.origins = {}
            for attr in earlier:
                self.origins.setdefault(attr, (self.section, self.row))
        self.section, self.row = section, row

    def origin(self, attr: str) -> tuple[str, int]:
        return self.origins.get(attr, (self.section, self.row)) if self.origins else (self.section, self.row)
