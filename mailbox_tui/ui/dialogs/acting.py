"""Choose the acting admin: the default owner of new forward mailboxes."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input

from ...i18n import N_, _
from ...store import lookups
from ..plain import Plain, PlainInput, plain
from ..widgets.completing import UserEmailSuggester
from ..db_trouble import GuardsDatabase


class ActingAdminDialog(GuardsDatabase, ModalScreen[int | None]):
    DEFAULT_CSS = """
    ActingAdminDialog { align: center middle; }
    ActingAdminDialog > Vertical { width: 70; max-width: 100%; height: auto; border: thick $primary; padding: 1 2;
                                   background: $surface; }
    """
    BINDINGS = [Binding("escape", "cancel", N_("Cancel"))]

    def on_mount(self) -> None:
        self.query_one(Input).cursor_blink = False
        self.query_one(Input).focus()

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Plain(_("Who is acting? Your user's email (→ completes). New forward mailboxes are yours "
                          "by default. Escape: decide later."))
            yield PlainInput(placeholder=_("e.g. you@example.com"), id="acting-email", suggester=UserEmailSuggester())
            yield Plain("", id="acting-message")

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        user = lookups.user_by_email(event.value)
        if user is None:
            self.query_one("#acting-message", Plain).update(plain(_("No user has the email {email}.").format(email=repr(event.value))))
            return
        self.dismiss(user.id)

    def action_cancel(self) -> None:
        self.dismiss(None)
