"""The field declarations (domain/fields.py) and what derives from them: every declared field is a
draft attribute and every draft attribute is declared; labels fit; exchange columns mean one field."""

from __future__ import annotations

from dataclasses import fields as dataclass_fields

import pytest

from mailbox_tui.domain import fields as F
from mailbox_tui.domain.records import (
    MAILBOX_EDITABLE_FIELDS,
    MAILBOX_FIELD_LABELS,
    MailboxDraft,
    OrgSettings,
    ProfileDraft,
    QueueDraft,
    UserDraft,
)

DRAFTS = {"profile": ProfileDraft, "user": UserDraft, "queue": QueueDraft, "mailbox": MailboxDraft,
          "org": OrgSettings}
BOOKKEEPING = {"id", "version"}
SECTIONS = {"profile": F.PROFILE_SECTIONS, "user": F.USER_SECTIONS, "queue": F.QUEUE_SECTIONS,
            "mailbox": F.MAILBOX_SECTIONS, "org": F.ORG_SECTIONS}


def _draft_names(cls) -> set[str]:
    return {f.name for f in dataclass_fields(cls)} - BOOKKEEPING


@pytest.mark.parametrize("record", sorted(DRAFTS))
def test_every_draft_attribute_is_declared_and_every_declared_field_is_an_attribute(record):
    declared = F.FIELDS[record]
    names = [f.name for f in declared]
    assert len(names) == len(set(names)), f"{record}: a field is declared twice"
    own = {f.name for f in declared if f.stored != F.MAILBOX}
    on_mailbox = {f.name for f in declared if f.stored == F.MAILBOX}
    draft = _draft_names(DRAFTS[record])
    assert own <= draft, f"{record}: declared but not on the draft: {sorted(own - draft)}"
    assert draft <= own | on_mailbox, f"{record}: on the draft but not declared: {sorted(draft - own - on_mailbox)}"
    # A field kept on the record's mailbox is a mailbox field, of the same type and options.
    mailbox = F.by_name(F.MAILBOX_FIELDS)
    for name in on_mailbox:
        assert name in mailbox and (mailbox[name].type, mailbox[name].options) == (
            F.by_name(declared)[name].type, F.by_name(declared)[name].options)


@pytest.mark.parametrize("record", sorted(DRAFTS))
def test_declarations_are_well_formed(record):
    for f in F.FIELDS[record]:
        assert f.type in F.TYPES, f
        assert (f.options is not None) == (f.type == F.OPTION), f"{record}.{f.name}: an option set iff OPTION"
        assert f.label
        if f in F.form_fields(F.FIELDS[record]):
            assert len(f.short_label) <= F.LABEL_WIDTH, f"{record}.{f.name}: {f.short_label!r} is too long for a form"
        assert f.secret == (f.type == F.PASSWORD), f"{record}.{f.name}: secrets are exactly the passwords"
        if f.type in (F.TEXT, F.EMAIL, F.PIN) and f.stored == F.OWN:
            assert f.max_length, f"{record}.{f.name}: text needs a length limit"
        if f.editable and f.section:
            assert f.section in SECTIONS[record], f"{record}.{f.name}: unknown section"


def test_default_values_of_the_drafts_are_the_declared_defaults():
    for record, cls in DRAFTS.items():
        draft = cls(kind=0) if cls is MailboxDraft else cls()
        for f in F.FIELDS[record]:
            if f.stored == F.OWN and f.type not in (F.PASSWORD, F.REF) and f.name != "kind":
                assert getattr(draft, f.name) == (f.default if f.default is not None or not f.nullable else None), (
                    record, f.name)


def test_secrets_are_never_exported_and_export_only_columns_are_never_imported():
    from mailbox_tui.store.exchange_format import COLUMNS, READ_ONLY

    for section, record in F.EXCHANGE_SECTIONS.items():
        for f in F.FIELDS[record]:
            for column in f.export_only:
                assert column in READ_ONLY and column in COLUMNS[section]
            assert not (f.by_test and f.import_columns)


def test_every_exchange_column_means_one_field_in_every_section():
    """FIELD_OF is shared by the sections: a column name may not set different fields in two of them."""
    seen: dict[str, str] = {}
    for record in F.EXCHANGE_SECTIONS.values():
        for column, name in F.field_of_column(F.FIELDS[record]).items():
            assert seen.setdefault(column, name) == name, f"{column} sets {seen[column]} and {name}"


def test_labels_and_form_order_derive_from_the_declaration():
    assert MAILBOX_FIELD_LABELS == F.labels(F.MAILBOX_FIELDS)
    assert MAILBOX_EDITABLE_FIELDS == tuple(f.name for f in F.form_fields(F.MAILBOX_FIELDS))
    assert MAILBOX_EDITABLE_FIELDS[:3] == ("name", "owner_id", "email")  # form order, not column order


@pytest.mark.parametrize("text,expected", [
    ("2026-01-31 08:00", (2026, 1, 31, 8, 0)), ("2026-01-31T08:00:00Z", (2026, 1, 31, 8, 0)),
    ("2026-01-31T08:00:00+00:00", (2026, 1, 31, 8, 0)), ("2026-01-31", (2026, 1, 31, 0, 0)),
    ("31/01/2026", None), ("2026-02-30 08:00", None), ("", None), ("2026-01-31T08:00:00+02:00", None),
])
def test_parse_utc_takes_utc_only(text, expected):
    when = F.parse_utc(text)
    assert (when and (when.year, when.month, when.day, when.hour, when.minute)) == expected or (
        when is None and expected is None)
