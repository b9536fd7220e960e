"""The Textual app. Screens edit drafts; the store services save them."""

from __future__ import annotations

from textual.app import App
from textual.binding import Binding

from ..store.database import Store, describe_url


class MailboxApp(App[int]):
    TITLE = "mailbox-tui"
    CSS_PATH = "app.tcss"
    ENABLE_COMMAND_PALETTE = True
    BINDINGS = [Binding("ctrl+q", "quit", "Quit", priority=True, id="quit")]

    def __init__(self, store: Store, acting: str | None = None):
        super().__init__()
        self.store = store
        self.acting = acting
        self.sub_title = describe_url(store.url)

    def on_mount(self) -> None:
        from .screens.mailbox_list import MailboxListScreen

        self.theme = "textual-ansi" if "textual-ansi" in self.available_themes else self.theme
        self.push_screen(MailboxListScreen())
        if not self.store.key_ok:
            self.notify(self.store.key_message, severity="warning", timeout=30)


def run_app(store: Store, acting: str | None = None, mouse: bool = True) -> int:
    app = MailboxApp(store, acting)
    app.run(mouse=mouse)
    return app.return_code or 0
