"""Messages that background workers post back to screens."""

from __future__ import annotations

from textual.message import Message

from ..store.queries import MailboxRow


class RowsLoaded(Message):
    def __init__(self, view: str, text: str, sort: str, descending: bool, count: int, total: int,
                 first_page: list[MailboxRow]) -> None:
        super().__init__()
        self.view, self.text, self.sort, self.descending = view, text, sort, descending
        self.count, self.total, self.first_page = count, total, first_page


class TestProgress(Message):
    """A Test & Enable run moved on: done of total, and the mailbox that just finished."""

    __test__ = False

    def __init__(self, progress) -> None:
        super().__init__()
        self.progress = progress


class TestFinished(Message):
    __test__ = False

    def __init__(self, report, error: str = "") -> None:
        super().__init__()
        self.report, self.error = report, error
