"""A declared field (domain/fields.py) on a form: the widget its type asks for, what that widget
shows for a draft's value, and the draft value it holds. Every record form builds, fills and reads
its fields through `DeclaredForm`, section by section and field by field as declared, so a new
declared field needs no form code of its own; a form overrides only what its record does
differently (an owner typed as an email, a choice narrowed by the record's kind)."""

from __future__ import annotations

from datetime import datetime

import copy

from textual import events
from textual.app import ComposeResult
from textual.widget import Widget
from textual.widgets import Checkbox, Select

from ... import i18n
from ...i18n import N_
from ...domain.fields import BOOL, DATETIME, INT, OPTION, PASSWORD, REF, Field, form_fields, parse_utc, utc_text
from ...domain.options import ServerType
from ...domain.records import PasswordEdit
from ..plain import Plain, PlainInput, plain
from .record_form import Field as FormField
from ..db_trouble import GuardsDatabase

PASSWORD_PLACEHOLDER = N_("new password; blank keeps the stored one")
DATETIME_PLACEHOLDER = N_("YYYY-MM-DD HH:MM UTC; blank: none")


class LinesInput(PlainInput):
    """An input for a value of several lines (a PEM or JSON key, P14): a paste keeps every line, joined
    by spaces (Textual's Input keeps only the first); the domain puts the line breaks back."""

    def on_paste(self, event: events.Paste) -> None:
        if event.text:
            self.insert_text_at_cursor(" ".join(line.strip() for line in event.text.splitlines() if line.strip()))
        event.prevent_default()  # and not Input's own paste of the first line after it
        event.stop()


def profile_options(rows) -> list:
    """The server profiles a form offers, (name and type, id) from queries.profiles_lookup(): a
    name may have been imported with markup in it, so each is shown as written (ui/plain.py)."""
    return [(plain(f"{name} ({i18n.shown(ServerType.label_of(kind))})"), pid) for pid, name, kind in rows]


def widget_for(field: Field, value, *, disabled: bool = False, choices: list[tuple[str, int]] | None = None,
               placeholder: str | None = None) -> Widget:
    """The widget for a declared field, showing `value`. `choices` narrows an option set."""
    if field.type == BOOL:
        return Checkbox(i18n._("Yes") if value else i18n._("No"), bool(value), id=field.name, disabled=disabled)
    if field.type == REF:  # a choice among records; blank is "none"
        return Select(choices or [], prompt=i18n.shown(field.placeholder) or i18n._("(none)"), id=field.name, compact=True,
                      value=Select.NULL if value is None else value, disabled=disabled)
    if field.type == OPTION:
        return Select(choices if choices is not None else field.options.choices(), value=value, allow_blank=False,
                      id=field.name, compact=True, disabled=disabled)
    if placeholder is None:
        placeholder = i18n.shown(field.placeholder) or i18n.shown({PASSWORD: PASSWORD_PLACEHOLDER,
                                                       DATETIME: DATETIME_PLACEHOLDER}.get(field.type, ""))
    kind = LinesInput if field.lines else PlainInput
    return kind(shown(field, value), id=field.name, compact=True, disabled=disabled, placeholder=placeholder,
                 password=field.type == PASSWORD, **({"type": "integer"} if field.type == INT else {}))


def shown(field: Field, value):
    """What the field's widget holds for a draft's value (a password is never shown)."""
    if field.type in (BOOL, OPTION):
        return value
    if field.type == REF:
        return Select.NULL if value is None else value
    if field.type == PASSWORD:
        return ""
    if field.type == DATETIME:
        return utc_text(value)
    return "" if value is None else str(value)


def read(field: Field, raw, base_value):
    """The draft value a widget holds. Text that is no number or date-time keeps `base_value`: the
    form's own check says why it can't be saved."""
    if field.type == REF:
        return None if raw is Select.NULL else raw
    if field.type == INT:
        text = (raw or "").strip()
        return int(text) if text.lstrip("-").isdigit() else None
    if field.type == PASSWORD:
        stored: PasswordEdit = base_value
        return PasswordEdit(stored=stored.stored, new=raw or None, readable=stored.readable)
    if field.type == DATETIME:
        text = (raw or "").strip()
        if not text:
            return None
        when: datetime | None = parse_utc(text)
        return when if when is not None else base_value
    return raw


class DeclaredForm(GuardsDatabase):
    """What a record form (a RecordFormScreen) builds, fills and reads from its declared fields."""

    FIELDS: tuple[Field, ...] = ()
    SECTIONS: dict[str, str] = {}  # the declared sections the form shows, with their titles

    def compose_fields(self, draft, locked: dict[str, bool] | None = None) -> ComposeResult:
        locked = locked or {}
        for section, title in self.SECTIONS.items():
            yield self.section_title(section, title)
            for f in form_fields(self.FIELDS, section):
                yield FormField(f.name, self.widget(f, draft, locked.get(f.name, False)), self.field_label(f))
                yield from self.beside(f.name, locked)
            yield from self.section_end(section, draft)

    def section_title(self, section: str, title: str) -> Plain:
        return Plain(i18n.shown(title), classes="section-title", id=f"section-{section}")

    def field_label(self, f: Field) -> str:
        return f.shown_short

    def widget(self, f: Field, draft, locked: bool) -> Widget:
        return widget_for(f, getattr(draft, f.name), disabled=locked, choices=self.choices(f, draft))

    def choices(self, f: Field, draft) -> list[tuple[str, int]] | None:
        """The choices an option or reference offers on this form (None: the whole option set)."""
        return None

    def beside(self, name: str, locked: dict[str, bool]) -> ComposeResult:
        """What a field brings along under it."""
        yield from ()

    def section_end(self, section: str, draft) -> ComposeResult:
        """What a section shows after its fields."""
        yield from ()

    def read_fields(self, base):
        """A copy of `base` with what the widgets hold."""
        draft = base.copy() if hasattr(base, "copy") else copy.copy(base)
        for f in form_fields(self.FIELDS):
            setattr(draft, f.name, self.read_field(f, self.value(f.name), base))
        return draft

    def read_field(self, f: Field, raw, base):
        return read(f, raw, getattr(base, f.name))

    def fill_fields(self, draft) -> None:
        for f in form_fields(self.FIELDS):
            self.query_one(f"#{f.name}").value = self.shown_field(f, draft)

    def shown_field(self, f: Field, draft):
        return shown(f, getattr(draft, f.name))
