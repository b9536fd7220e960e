"""Inputs that complete a user's email from the database as the admin types (the owner fields, the
acting-admin dialog), and tell their form while a completion is offered."""

from __future__ import annotations

from collections.abc import Callable

from textual.message import Message
from textual.suggester import Suggester, SuggestionReady

from ...domain.text import email_key
from ...store.lookups import OwnerLookup, owner_lookup
from ..plain import PlainInput, visible


class UserEmailSuggester(Suggester):
    """Completes a user's email from the database as the admin types (one indexed read, never all
    users). Compared by the address's own key (NFC, then lower case), as saves and imports compare
    it: Textual's default casefold() would turn a typed "ß" into "ss" and find no one. A form passes
    its own `lookup`, so completing and judging the same text read it once."""

    def __init__(self, lookup: Callable[[str], OwnerLookup] = owner_lookup) -> None:
        super().__init__(case_sensitive=True)
        self.lookup = lookup

    async def get_suggestion(self, value: str) -> str | None:
        found = self.lookup(value)
        if found.completion is None:
            return None
        key = email_key(value)
        # Keep what the admin typed as typed; complete only the rest (a stored address is outside text).
        return visible(value + found.completion[len(key):] if len(key) == len(value) else found.completion)


class CompletingInput(PlainInput):
    """An Input whose completion (shown greyed after the cursor; → takes it) is known to its Field:
    while one is offered, the field says so rather than judging the half-typed value."""

    class CompletionChanged(Message):
        def __init__(self, box: CompletingInput) -> None:
            super().__init__()
            self.box = box

    # What Input shows greyed: the suggester's suggestion for the value it was asked about, while
    # the value is still that, until the input is focused again or all its text is selected.
    offered: tuple[str, str] = ("", "")  # (value, suggestion)

    @property
    def completion(self) -> str:
        value, suggestion = self.offered
        return suggestion if self.has_focus and value == self.value and len(suggestion) > len(value) else ""

    def _offer(self, value: str, suggestion: str) -> None:
        if (value, suggestion) != self.offered:
            self.offered = (value, suggestion)
            self.post_message(self.CompletionChanged(self))

    def on_suggestion_ready(self, event: SuggestionReady) -> None:
        if event.value == self.value:
            self._offer(event.value, event.suggestion)

    def watch_value(self, value: str) -> None:
        self._offer("", "")

    def on_focus(self) -> None:
        self._offer("", "")

    def select_all(self) -> None:
        super().select_all()
        self._offer("", "")
