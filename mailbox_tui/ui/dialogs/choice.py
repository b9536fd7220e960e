"""A modal with several labelled choices, each on its own key."""

from __future__ import annotations

from textual import events
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button

from ...i18n import _, said
from ..terminal.input_queue import GuardsTypeahead
from ..plain import Plain


class ChoiceDialog(GuardsTypeahead, ModalScreen[str]):
    """Returns the chosen key; Escape returns `escape_choice`. Keys typed before it appeared do not answer it."""

    DEFAULT_CSS = """
    ChoiceDialog { align: center middle; }
    ChoiceDialog > Vertical { width: 70; max-width: 100%; height: auto; border: thick $warning; padding: 1 2;
                              background: $surface; }
    ChoiceDialog Horizontal { height: auto; margin-top: 1; }
    ChoiceDialog Button { margin-right: 1; }
    """

    def __init__(self, message: str, choices: list[tuple[str, str]], escape_choice: str) -> None:
        super().__init__()
        self.message, self.choices, self.escape_choice = message, choices, escape_choice

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Plain(self.message, id="message")  # its lines; a name in it is visible() first
            with Horizontal():
                for key, label in self.choices:
                    yield Button(f"{label} ({key})", id=f"choice-{key}")

    def on_mount(self) -> None:
        self.query_one(f"#choice-{self.escape_choice}", Button).focus()

    def on_key(self, event: events.Key) -> None:
        # Each choice's key, and Escape: keys of this dialog alone, so handled here rather than as
        # bindings (its choices are known only when it is made).
        keys = {key: key for key, _ in self.choices} | {"escape": self.escape_choice}
        if event.key in keys:
            event.stop()
            self.action_choose(keys[event.key])

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id.removeprefix("choice-"))

    def action_choose(self, key: str) -> None:
        self.dismiss(key)




def ask_keep_secrets(app, moves: list[str], then) -> None:
    """P15 before a save: `then(False)` clears what would go to a new destination, `then(True)` keeps it for
    the new destination, `then(None)` keeps editing (Escape)."""
    lines = "\n".join(f"• {said(move)}" for move in moves)
    app.push_screen(ChoiceDialog(
        lines + "\n" + _("Clear what would go to the new destination (enter it again later), or keep it for the "
                         "new destination?"),
        [("c", _("Clear")), ("k", _("Keep for the new host")), ("e", _("Keep editing"))], escape_choice="e"),
        lambda choice: then({"c": False, "k": True}.get(choice)))
