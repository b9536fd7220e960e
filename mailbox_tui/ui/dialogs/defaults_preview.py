"""Apply Default Email Settings: first what would change, per mailbox, and any rule it would break."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen

from ...i18n import N_, _, ngettext, number, shown
from ...domain.findings import Severity
from ...domain.options import ActMethod, IncomingMethod, OutgoingMethod
from ...store import lookups
from ...store.services import DefaultsPreview
from ..terminal.input_queue import GuardsTypeahead
from ..plain import Plain, plain, plain_lines
from ..db_trouble import GuardsDatabase

NAMES = {"profile_id": N_("Server Profile"), "incoming": N_("Incoming"), "outgoing": N_("Outgoing"), "act": N_("ACT")}
OPTIONS = {"incoming": IncomingMethod, "outgoing": OutgoingMethod, "act": ActMethod}


def _value(field: str, value, profile_names: dict[int, str]) -> str:
    if field == "profile_id":
        if value is None:
            return _("(none)")
        return profile_names.get(value, f"#{value}")
    return shown(OPTIONS[field].label_of(value))


class DefaultsPreviewScreen(GuardsDatabase, GuardsTypeahead, ModalScreen[bool]):
    """y applies (one transaction); n or Escape changes nothing; keys typed before it appeared are ignored."""

    DEFAULT_CSS = """
    DefaultsPreviewScreen { align: center middle; }
    DefaultsPreviewScreen > Vertical { width: 100%; max-width: 100; height: 90%; border: thick $warning;
                                       background: $surface; padding: 0 1; }
    DefaultsPreviewScreen #preview { height: 1fr; }
    """
    BINDINGS = [Binding("y", "answer(True)", N_("Apply"), id="apply"),
                Binding("n,escape", "answer(False)", N_("Cancel"), id="cancel")]

    def __init__(self, previews: list[DefaultsPreview]) -> None:
        super().__init__()
        self.previews = previews
        self.blocked = any(f.severity is Severity.ERROR for p in previews for f in p.findings)

    def compose(self) -> ComposeResult:
        lines = []
        changing = [p for p in self.previews if p.changes]
        names = lookups.profile_names(v for p in changing for field, old, new in p.changes
                                      if field == "profile_id" for v in (old, new))
        for p in self.previews:  # a mailbox's or profile's name, a rule's message: shown as written
            lines.append(Text.assemble(plain(p.name, style="bold"),
                                       "" if p.changes else "  " + _("(already on the defaults)"), end=""))
            for field, old, new in p.changes:
                lines.append(f"  {shown(NAMES[field])}: {_value(field, old, names)} → {_value(field, new, names)}")
            for f in p.findings:
                lines.append(f"  {'✗' if f.severity is Severity.ERROR else '!'} {f.rule}: {f.shown}")
        if self.blocked:
            footer = _("Some mailboxes would break a rule (✗): nothing can be applied. n / Escape: back.")
        else:
            footer = ngettext("y: apply to {n} mailbox in one transaction · n / Escape: change nothing.",
                              "y: apply to {n} mailboxes in one transaction · n / Escape: change nothing.",
                              len(changing)).format(n=number(len(changing)))
        with Vertical():
            yield Plain(Text.assemble((_("Apply Default Email Settings"), "bold"), " ",
                                      ngettext("to {n} mailbox", "to {n} mailboxes", len(self.previews))
                                      .format(n=number(len(self.previews))), end=""))
            with VerticalScroll(id="preview"):
                yield Plain(plain_lines(lines) if lines else _("Nothing selected."))
            yield Plain(footer, id="preview-footer")

    def action_answer(self, apply: bool) -> None:
        if apply and self.blocked:
            self.notify(_("Nothing applied: fix the mailboxes marked ✗ first."), severity="error")
            return
        self.dismiss(apply)
