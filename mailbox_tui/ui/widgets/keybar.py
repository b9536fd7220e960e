"""A one-line key bar: the keys of the focused widget, its screen and the app.

Textual's Footer builds a widget per key and rebuilds them on every focus change, which
costs more than the rest of a screen's start. One line of text does the job over SSH."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static


class KeyBar(Static):
    DEFAULT_CSS = """
    KeyBar { dock: bottom; height: 1; background: $panel; color: $text; padding: 0 1; }
    """

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)
        self.call_after_refresh(self._bindings_changed, self.screen)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def _bindings_changed(self, screen) -> None:
        text = Text(no_wrap=True, overflow="ellipsis")
        seen = set()
        # The page's own keys first (its commands), then the focused widget's, then the app's.
        rank = lambda active: 0 if active.node is screen else 2 if active.node is self.app else 1  # noqa: E731
        for active in sorted(screen.active_bindings.values(), key=rank):
            binding = active.binding
            if not binding.show or not binding.description or binding.action in seen or not active.enabled:
                continue
            seen.add(binding.action)
            if text:
                text.append("  ")
            text.append(binding.key_display or self.app.get_key_display(binding), style="bold reverse")
            text.append(" " + binding.description)
        self.update(text)
