"""Messages that background workers (ui/workers.py) post back to screens."""

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
    """A Test & Enable run is over: its report, or None when it failed (the app has said why)."""

    __test__ = False

    def __init__(self, report) -> None:
        super().__init__()
        self.report = report


class ConnectionChecked(Message):
    """Test Connection's results, with the profile as it was read for the test."""

    def __init__(self, profile, checks) -> None:
        super().__init__()
        self.profile, self.checks = profile, checks


class CertificateFetched(Message):
    def __init__(self, direction: str, result) -> None:
        super().__init__()
        self.direction, self.result = direction, result
