"""A screen shown again and again (installed once, refilled on each use) is not restyled whole
each time it is shown.

Textual restyles every node of a screen that is pushed (`ScreenResume(refresh_styles=True)`), in
case what its styles depend on changed while it was hidden: for the mailbox form that is 156 nodes
and about a third of opening it. Textual itself skips this when it can tell nothing changed (a
screen uncovered by an opaque one resumes with `refresh_styles=False`). Here the same public event
says so when nothing the app's styles depend on changed since the screen was last styled: its
theme, whether the terminal has focus, its colours, its classes. A node that changes its own
classes meanwhile (a form refilled for another record) is restyled at once by Textual, as always.
"""

from __future__ import annotations

from textual import events
from textual.message import Message


class ReusedScreen:
    """Mixin for a Screen: pushing it again restyles it only if the app's styles changed meanwhile."""

    styled_under: tuple | None = None  # style_state() when this screen was last styled whole (None: unknown)
    restyled_on_push = 0  # how many pushes restyled it whole (tests read it)

    def style_state(self) -> tuple:
        """What every node's styles depend on, outside the screen itself."""
        app = self.app
        return app.theme, app.app_focus, app.ansi_color, frozenset(app.classes)

    def styled_now(self) -> None:
        """Its styles are up to date with the app as it is now (built, or shown until now)."""
        self.styled_under = self.style_state()

    def post_message(self, message: Message) -> bool:
        if isinstance(message, events.ScreenResume) and message.refresh_styles:
            if self.styled_under is not None and self.styled_under == self.style_state():
                message = events.ScreenResume(refresh_styles=False)
            else:
                self.restyled_on_push += 1
        return super().post_message(message)

    def on_screen_suspend(self) -> None:
        self.styled_now()  # shown until now: Textual kept it styled (it restyles the screens in the stack)
