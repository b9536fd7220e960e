"""Help: every binding of the screen underneath, and the app's."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen

from ...i18n import N_, _, shown
from ..plain import Plain, plain, plain_lines


def describe_bindings(screen: Screen) -> list[tuple[str, str]]:
    """(keys, description): the screen's own keys first, then the app's, then the focused widget's
    (a text field's editing keys are many and well known: they come last)."""
    seen, out = set(), []
    nodes = [screen, screen.app]
    if screen.focused:
        nodes.append(screen.focused)
    for node in nodes:
        for binding in getattr(node, "BINDINGS", []):
            if not isinstance(binding, Binding) or not binding.description:
                continue
            if binding.action in seen:
                continue
            seen.add(binding.action)
            keys = ", ".join(screen.app.get_key_display(Binding(k.strip(), "")) for k in binding.key.split(","))
            out.append((keys, shown(binding.tooltip or binding.description)))
    return out


def help_title(screen: Screen) -> str:
    """What the admin calls the screen: "Keys: Mailboxes", "Keys: mailbox form"."""
    return _("Keys: {screen}").format(
        screen=shown(getattr(screen, "HELP_TITLE", "")) or screen.__class__.__name__.removesuffix("Screen"))


class HelpScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll { width: 72; max-width: 100%; height: 80%; border: thick $primary; padding: 0 1;
                                  background: $surface; }
    """
    BINDINGS = [Binding("escape,q,question_mark,f1", "dismiss", N_("Close help"))]

    def __init__(self, title: str, bindings: list[tuple[str, str]]) -> None:
        super().__init__()
        self.title_text, self.bindings_list = title, bindings

    def compose(self) -> ComposeResult:
        lines = [plain(self.title_text, style="bold"), ""]
        lines += [Text.assemble(plain(f"{keys:<18}", style="bold"), " ", plain(description), end="")
                  for keys, description in self.bindings_list]
        lines += ["", _("ctrl+p opens the command palette: every action, by name. Escape closes this.")]
        with VerticalScroll():
            yield Plain(plain_lines(lines))
