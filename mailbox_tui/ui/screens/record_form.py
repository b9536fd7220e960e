"""What every record form shares: fields with their live messages, save, save & close, conflicts
with another admin's save, and Escape that asks before discarding."""

from __future__ import annotations

from collections.abc import Callable

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Checkbox, Input, Select

from ...i18n import N_, _, ngettext, said, shown
from ...domain.availability import FieldState
from ...domain.findings import Finding, RuleViolation, Severity
from ...store.database import ConflictError, StoreError, is_unreachable
from ..plain import Plain, visible
from ..widgets.completing import CompletingInput
from ..db_trouble import GuardsDatabase, said_error, unreachable_sentence

MARKS = {Severity.ERROR: "✗", Severity.WARNING: "!", Severity.INFO: "i"}
FORM_CSS = """
    #summary { height: auto; padding: 0 1; }
    #summary.errors { color: $error; text-style: bold; }
    #summary.clean { color: $success; }
    .section-title { text-style: bold reverse; width: 100%; margin-top: 1; padding: 0 1; }
    VerticalScroll { padding: 0 1; }
    Input, Select { width: 1fr; }
    Input { background: $panel; }
    Input:disabled { background: $background; color: $text-muted; }
    Checkbox, Checkbox:focus { width: auto; border: none; padding: 0; height: 1; }
    Checkbox:focus > .toggle--label { text-style: reverse; }
    .note { padding-left: 25; color: $text-muted; }
    #form-end { height: 0; }
"""


class Field(Vertical):
    """The label and the widget on one line; under them, the rule messages or why it is locked."""

    DEFAULT_CSS = """
    Field { height: auto; }
    Field > Horizontal { height: auto; }
    Field .label { width: 25; color: $text-muted; padding: 0 1 0 0; }
    Field.has-focus .label { color: $text; text-style: bold reverse; }
    Field > .message { height: auto; padding-left: 25; display: none; }
    Field > .message.shown { display: block; }
    Field > .message.error { color: $error; text-style: bold; }
    Field > .message.warning { color: $warning; }
    Field > .message.info { color: $accent; }
    Field > .message.locked { color: $text-muted; text-style: italic; }
    Field.hidden { display: none; }
    """

    def __init__(self, name: str, widget: Widget, label: str) -> None:
        super().__init__(id=f"field-{name}")
        self.field_name, self.widget, self.label_text = name, widget, label
        self.shown = ("", "")
        self.judged: tuple[list[Finding], str] = ([], "")  # the last findings, to show again

    def compose(self) -> ComposeResult:
        with Horizontal():
            yield Plain(self.label_text, classes="label")
            yield self.widget
        yield Plain("", classes="message", id=f"msg-{self.field_name}")

    def show(self, findings: list[Finding], locked_reason: str) -> None:
        self.judged = (findings, locked_reason)
        completion = self.widget.completion if isinstance(self.widget, CompletingInput) else ""
        if completion:
            shown = (_("→ completes to {address}").format(address=visible(completion)), "info")
        elif findings:  # a message may quote outside text: each one line, shown as written
            worst = min(findings, key=lambda f: ("error", "warning", "info").index(f.severity.value))
            shown = ("\n".join(visible(f"{MARKS[f.severity]} {f.shown} ({f.rule})") for f in findings),
                     worst.severity.value)
        elif locked_reason:
            shown = (locked_reason, "locked")
        else:
            shown = ("", "")
        if shown == self.shown:
            return  # restyling is the costly part of a keystroke: only when something changed
        self.shown = shown
        message = self.query_one(".message", Plain)
        message.remove_class("error", "warning", "info", "locked", "shown")
        message.update(shown[0])
        if shown[1]:
            message.add_class(shown[1], "shown")


def yes_no(box: Checkbox) -> str:
    return _("Yes") if box.value else _("No")


def checkbox(name: str, value: bool, disabled: bool = False) -> Checkbox:
    return Checkbox(_("Yes") if value else _("No"), value, id=name, disabled=disabled)


class RecordFormScreen(GuardsDatabase, Screen[bool]):
    """A form over one draft. Subclasses build the widgets and say how to read, judge and save."""

    RECORD = N_("record")
    FIELD_ORDER: tuple[str, ...] = ()
    # No automatic focus: it would go to the first focusable widget, the scrolling form, and restyle
    # all of it as focus enters and leaves it again; on_mount focuses the first field itself.
    AUTO_FOCUS = ""
    BINDINGS = [
        Binding("ctrl+s", "save(False)", N_("Save"), priority=True, id="save"),
        Binding("ctrl+w,f9", "save(True)", N_("Save & Close"), priority=True, id="save_close"),
        Binding("escape", "back", N_("Back"), id="back"),
        Binding("f10", "history", N_("History"), id="history"),
    ]
    HISTORY_KINDS = {"mailbox": "mailbox", "user": "user", "queue": "queue", "server profile": "profile",
                     "email settings": "settings"}
    # A heading's record word when the record has no name yet (RECORD.title(), in the admin's words).
    RECORD_TITLES = (N_("Record"), N_("Mailbox"), N_("User"), N_("Queue"), N_("Server Profile"), N_("Email Settings"))

    def __init__(self, draft) -> None:
        super().__init__()
        self.base = draft
        self.findings: list[Finding] = []
        self.saved = False
        self._loading = True
        self.validations = 0  # how many times the rules ran; tests and the benchmark wait on it

    @property
    def is_new(self) -> bool:
        return self.base.id is None

    @property
    def HELP_TITLE(self) -> str:  # noqa: N802 (read by the help screen, like a class constant)
        return _("{record} form").format(record=shown(self.RECORD))

    def heading(self, draft) -> str:
        """The header's text: which record this form edits."""
        if getattr(draft, "id", 0) is None:
            return _("New {record}").format(record=shown(self.RECORD))
        return self.title_of(draft) or shown(self.RECORD.title())

    def action_history(self) -> None:
        """F10: this record's history, newest first, old → new per field."""
        from .history import RecordHistoryScreen

        kind = self.HISTORY_KINDS.get(self.RECORD)
        record_id = 1 if kind == "settings" else getattr(self.base, "id", None)
        if kind is None or record_id is None:
            self.notify(_("A new record has no history yet: save it first."), severity="warning")
            return
        self.app.push_screen(RecordHistoryScreen(kind, record_id, self.heading(self.base)))

    def value(self, widget_id: str):
        """The current value of the widget with this id."""
        return self.query_one(f"#{widget_id}").value

    # -- what a subclass provides
    def read_draft(self):
        raise NotImplementedError

    def check(self, draft) -> list[Finding]:
        raise NotImplementedError

    def field_states(self, draft) -> dict[str, FieldState]:
        return {}

    def write(self, draft, base):
        """Save through a store service; returns the saved draft."""
        raise NotImplementedError

    def reload_base(self):
        """The record as it is in the database now."""
        raise NotImplementedError

    def fill(self, draft) -> None:
        """Put a draft's values into the widgets."""
        raise NotImplementedError

    def changes(self, base, draft) -> list[str]:
        from dataclasses import fields

        return [f.name for f in fields(base) if f.name not in ("version",)
                and getattr(base, f.name) != getattr(draft, f.name)]

    def notices(self, draft) -> list[Finding]:
        return []

    def after_validate(self, draft) -> None:
        pass

    # -- live validation
    def on_mount(self) -> None:
        self.sub_title = self.heading(self.base)
        self._ready()  # judged before the first paint: one paint, no messages popping in after

    def _ready(self) -> None:
        for box in self.query(Input):
            box.cursor_blink = False  # nothing may redraw while the admin is idle (SSH)
        self._loading = False
        self.validate()
        self._focus_first_field()

    def _focus_first_field(self) -> None:
        first = next((w for name in self.FIELD_ORDER for w in self.query(f"#{name}") if not w.disabled), None)
        if first is not None:
            if isinstance(first, Input):
                # The first key typed must add to the field, not replace it: cursor at the end, nothing
                # selected. Tab into a field later still selects its text, as browsers do.
                first.select_on_focus = False
                first.cursor_position = len(first.value)
                self._opening_focus = first
            self.focused_on_open = first
            first.focus()
        elif self.focused is None:
            self.focus_next()  # every field locked: the first focusable widget, as Textual would

    focused_on_open = None
    _summary_shown: str | None = None
    _summary_one_line = False
    refocus_on_resume = False  # set when the form is refilled for another record while hidden

    def on_screen_resume(self) -> None:
        # A form shown again for another record starts on its first field, like a new one; back
        # from a dialog or help, focus stays where it was.
        if self.refocus_on_resume:
            self.refocus_on_resume = False
            if self.focused_on_open is not None:
                self.set_focus(self.focused_on_open, scroll_visible=False)

    _opening_focus: Input | None = None

    _focused_field: Field | None = None

    def on_descendant_focus(self, event) -> None:
        if self._opening_focus is not None and event.widget is self._opening_focus:
            self._opening_focus.select_on_focus = True
            self._opening_focus = None
        # The focused field's label stands out. A class on two Fields, not :focus-within, which
        # restyles the whole screen when focus first enters it.
        field = next((node for node in event.widget.ancestors if isinstance(node, Field)), None)
        if field is not self._focused_field:
            if self._focused_field is not None:
                self._focused_field.remove_class("has-focus")
            if field is not None:
                field.add_class("has-focus")
            self._focused_field = field

    @on(CompletingInput.CompletionChanged)
    def _completion_changed(self, event: CompletingInput.CompletionChanged) -> None:
        for field in self.query(Field):
            if field.widget is event.box:
                field.show(*field.judged)

    @on(Input.Changed)
    @on(Select.Changed)
    @on(Checkbox.Changed)
    def _changed(self, event) -> None:
        if isinstance(event, Checkbox.Changed):  # the box itself is hard to read in 16 colours
            event.checkbox.label = self.checkbox_label(event.checkbox)
        if not self._loading:
            self.validate()

    def checkbox_label(self, box: Checkbox) -> str:
        return yes_no(box)

    def validate(self) -> list[Finding]:
        draft = self.read_draft()
        self.findings = self.check(draft)
        states = self.field_states(draft)
        by_field: dict[str, list[Finding]] = {}
        for f in self.findings + self.notices(draft):
            by_field.setdefault(f.field, []).append(f)
        for field in self.query(Field):
            state = states.get(field.field_name)
            locked = state is not None and not state.editable
            widget = self.query_one(f"#{field.field_name}")
            if widget.disabled != locked:
                widget.disabled = locked
            hidden = state is not None and not state.visible
            field.set_class(hidden, "hidden")
            field.show(by_field.pop(field.field_name, []), said(state.reason) if locked and not hidden else "")
        self.after_validate(draft)
        self._summary(by_field)
        self.validations += 1
        return self.findings

    def _summary(self, unplaced: dict[str, list[Finding]]) -> None:
        summary = self.query_one("#summary", Plain)
        errors = [f for f in self.findings if f.severity is Severity.ERROR]
        warns = [f for f in self.findings if f.severity is Severity.WARNING]
        extra = [f"{f.rule}: {f.shown}" for fs in unplaced.values() for f in fs if f.severity is not Severity.INFO]
        self._refused = self._refused and bool(errors)  # "Not saved" lasts as long as its cause
        text = (_("{errors}, {warnings}").format(
            errors=ngettext("{n} error", "{n} errors", len(errors)).format(n=len(errors)),
            warnings=ngettext("{n} warning", "{n} warnings", len(warns)).format(n=len(warns)))
            if (errors or warns) else _("No problems found."))
        text = _("Not saved: {reason}").format(reason=text) if self._refused else text
        if self.is_dirty():
            text += " · " + _("unsaved changes")
        shown = visible(" · ".join([text, *extra]))  # one line; a message may quote outside text
        if shown != self._summary_shown:
            # One line that stays one line: redraw that line, not the layout below it.
            one_line = bool(summary.size.width) and len(shown) < summary.content_region.width
            summary.update(shown, layout=not (one_line and self._summary_one_line))
            self._summary_shown, self._summary_one_line = shown, one_line
        summary.set_class(bool(errors), "errors")
        summary.set_class(not errors and not warns, "clean")

    _refused = False

    def is_dirty(self) -> bool:
        return bool(self.changes(self.base, self.read_draft()))

    # -- saving
    def action_save(self, close: bool) -> None:
        self._refused = True  # the summary line says "Not saved" while errors stop this save
        try:
            findings = self.validate()
        except Exception as error:  # the rules read the database as it is now: it may be unreachable
            if not is_unreachable(error):
                raise
            self._not_saved_unreachable(error)
            return
        errors = [f for f in findings if f.severity is Severity.ERROR]
        if errors:  # said on the summary line, which stays true: "Not saved" goes when the errors do
            self._focus_first_error(errors)
            self.app.bell()
            return
        moves = [f for f in self.findings if f.rule == "P15"]
        if moves:
            self._ask_keep_secrets(moves, self.read_draft(), close)
            return
        self.keep_secrets = False
        self._save(self.read_draft(), self.base, close)

    keep_secrets = False  # P15: the admin chose to keep stored secrets for a changed destination

    def _ask_keep_secrets(self, moves: list[Finding], draft, close: bool) -> None:
        """P15: a stored secret would go somewhere new. Clear it (the default of every path) or keep it."""
        from ..dialogs.choice import ask_keep_secrets

        def decide(keep: bool | None) -> None:
            if keep is None:
                self.notify(_("Still editing: your changes are not saved."), severity="warning")
                return
            self.keep_secrets = keep
            self._save(draft, self.base, close)

        ask_keep_secrets(self.app, [f.shown for f in moves], decide)

    def _save(self, draft, base, close: bool) -> None:
        try:
            saved = self.write(draft, base)
        except ConflictError as exc:
            self._conflict(exc, draft, close)
            return
        except RuleViolation as exc:  # someone else's change made it invalid since the last check
            self.validate()
            self.notify(_("Not saved: {reason}").format(reason=said_error(exc)), severity="error", timeout=8)
            return
        except StoreError as exc:
            if is_unreachable(exc):
                self._not_saved_unreachable(exc)
                return
            self.notify(_("Not saved: {reason}").format(reason=said_error(exc)), severity="error", timeout=8)
            return
        self.saved = True
        self.sub_title = self.heading(saved)
        self.notify(_("Saved {record} {name}.").format(record=shown(self.RECORD), name=repr(self.title_of(saved))))
        if close:
            self.dismiss(True)
        else:
            self.fill(saved)

    def _not_saved_unreachable(self, error: BaseException) -> None:
        """The database can't be reached: nothing was saved, and the edits stay on the form."""
        self.notify(_("Not saved: {reason} Your edits are still here: save again (ctrl+s) once the title line "
                      "no longer says the database is unreachable.").format(
                          reason=unreachable_sentence(error, self.app.store.url)), severity="error", timeout=15)
        self.app.database_unreachable(error, said=True)

    def title_of(self, draft) -> str:
        return getattr(draft, "name", None) or getattr(draft, "full_name", "")

    def _conflict(self, exc: ConflictError, draft, close: bool) -> None:
        from ..dialogs.choice import ChoiceDialog

        def decide(choice: str | None) -> None:
            if choice == "r":
                self.fill(self.reload_base())
                self.notify(_("Reloaded the saved version; your edits were discarded."))
            elif choice == "o":
                self.base = self.reload_base()
                self._save(draft, self.base, close)
            else:
                self.notify(_("Still editing: your changes are not saved."), severity="warning")

        fields = ", ".join(self.label_for(f) for f in exc.changed) or _("its state")
        self.app.push_screen(ChoiceDialog(
            _("Someone else saved this {record} after you opened it. They changed: {fields}.\n"
              "Reload their version (your edits are lost), overwrite with yours, or keep editing?").format(
                  record=shown(self.RECORD), fields=fields),
            [("r", _("Reload")), ("o", _("Overwrite")), ("k", _("Keep editing"))], escape_choice="k"), decide)

    def label_for(self, field: str) -> str:
        found = self.query(f"#field-{field}")
        return found.first().label_text if found else field

    def _focus_first_error(self, errors: list[Finding]) -> None:
        fields = {f.field for f in errors}
        for name in self.FIELD_ORDER:
            if name in fields:
                widget = self.query_one(f"#{name}")
                if widget.disabled:
                    continue
                widget.focus()
                widget.scroll_visible(animate=False)
                return

    _discard_question = None  # the discard question this form shows, if it shows one

    def action_back(self) -> None:
        if self.app.screen is not self:
            return
        if not self.is_dirty():
            self.dismiss(self.saved)
            return
        self._ask_discard(_("Discard"), lambda: self.dismiss(self.saved))

    def ask_before_quit(self, keys_dropped: bool = False) -> bool:
        """ctrl+q (the app asks every screen): with unsaved changes, the discard question first, as
        Escape asks; True when it asked. Also when ctrl+q went ahead of keys typed before it (the
        input queue dropped them: they may have been edits). ctrl+q on the question quits."""
        if self.app.screen is self._discard_question or not (keys_dropped or self.is_dirty()):
            return False
        self._ask_discard(_("Discard and quit"), self.app.exit)
        return True

    def _ask_discard(self, yes: str, then: Callable[[], object]) -> None:
        from ..dialogs.confirm import ConfirmDialog

        def answer(discard: bool | None) -> None:
            self._discard_question = None
            if discard:
                then()

        self._discard_question = ConfirmDialog(
            _("Discard your unsaved changes to this {record}?").format(record=shown(self.RECORD)),
            yes=yes, no=_("Keep editing"))
        self.app.push_screen(self._discard_question, answer)
