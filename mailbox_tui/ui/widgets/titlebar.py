"""The title line: the screen's title and subtitle, as Textual's Header shows them, in one widget.

Header is four widgets (icon, title, clock space and itself), each styled and laid out at every
start; the icon only answers a mouse click. One line of text does the job over SSH."""

from __future__ import annotations

from ..plain import Plain


class TitleBar(Plain):
    DEFAULT_CSS = """
    TitleBar {
        dock: top; width: 100%; height: 1; background: $panel; color: $foreground;
        text-wrap: nowrap; text-overflow: ellipsis; content-align: center middle;
    }
    """

    def on_mount(self) -> None:
        for owner in (self.app, self.screen):
            self.watch(owner, "title", self._show, init=False)
            self.watch(owner, "sub_title", self._show, init=False)
        self._show()

    def _show(self) -> None:
        screen, app = self.screen, self.app
        title = screen.title if screen.title is not None else app.title
        sub_title = screen.sub_title if screen.sub_title is not None else app.sub_title
        self.update(app.format_title(title, sub_title), layout=False)  # the app's: shown as written
