"""Every declared field (domain/fields.py) is wired into the store: a model column of a compatible
type (and every model column is declared or bookkeeping), a conversion both ways that keeps a
non-default value, and an exchange column that export writes and import reads back."""

from __future__ import annotations

import json
from datetime import datetime

import peewee
import pytest

from mailbox_tui.domain import fields as F
from mailbox_tui.store import convert
from mailbox_tui.store.exchange_format import COLUMNS
from mailbox_tui.store.models import AppUser, EmailServerProfile, Mailbox, OrganizationSettings, Queue

MODELS = {"profile": EmailServerProfile, "user": AppUser, "queue": Queue, "mailbox": Mailbox,
          "org": OrganizationSettings}
# Columns that are no field of a draft: ids, optimistic locking, timestamps, natural keys, and the
# second column of a mailbox's one regarding reference.
BOOKKEEPING = {"id", "version", "created_on", "modified_on", "regarding_queue"}
COMPATIBLE = {
    F.TEXT: peewee.CharField, F.EMAIL: peewee.CharField, F.PIN: peewee.CharField, F.INT: peewee.IntegerField,
    F.OPTION: peewee.IntegerField, F.BOOL: peewee.BooleanField, F.DATETIME: peewee.DateTimeField,
    F.REF: peewee.ForeignKeyField, F.PASSWORD: peewee.TextField,
}


@pytest.mark.parametrize("record", sorted(MODELS))
def test_every_declared_field_has_its_model_column_and_every_column_is_declared(record):
    model = MODELS[record]
    columns = model._meta.fields
    declared = [f for f in F.FIELDS[record] if f.stored == F.OWN]
    for f in declared:
        assert f.model_column in columns, f"{record}.{f.name}: no column {f.model_column!r}"
        column = columns[f.model_column]
        assert isinstance(column, COMPATIBLE[f.type]), f"{record}.{f.name}: {type(column).__name__} for {f.type}"
        if f.type in (F.TEXT, F.EMAIL, F.PIN):
            assert column.max_length == f.max_length, f"{record}.{f.name}: length {column.max_length}"
        if f.type == F.PASSWORD:
            assert column.null, f"{record}.{f.name}: a password column holds NULL when none is set"
        elif f.nullable:
            assert column.null, f"{record}.{f.name} is optional but its column is NOT NULL"
        if f.type in (F.TEXT, F.EMAIL) and (f.keyed or f.type == F.EMAIL):
            assert f"{f.model_column}_key" in columns, f"{record}.{f.name}: no natural-key column"
    covered = {f.model_column for f in declared} | {f"{f.model_column}_key" for f in declared}
    extra = set(columns) - covered - BOOKKEEPING
    assert not extra, f"{record}: columns no field declares: {sorted(extra)}"


def _non_default(f: F.Field):
    """A value unlike the field's default, of its type."""
    if f.type in (F.TEXT,):
        return "Value of " + f.name
    if f.type == F.EMAIL:
        return f"{f.name.replace('_', '')}@example.org"
    if f.type == F.PIN:
        return "ab" * 32
    if f.type == F.INT:
        return 7
    if f.type == F.BOOL:
        return not f.default
    if f.type == F.DATETIME:
        return datetime(2026, 1, 2, 3, 4, 5)
    if f.type == F.OPTION:
        return next(int(o) for o in f.options if o != f.default)
    raise AssertionError(f.type)


def test_conversions_keep_every_declared_value(store):
    """draft → columns → row → draft keeps every field a save writes, on both backends."""
    from support.builders import imap_profile, user

    profile = imap_profile(store)
    alice, box = user(store, "Alice Berg", "alice@example.com")
    for record, model, row_id, to_draft in (
            ("profile", EmailServerProfile, profile.id, convert.profile_draft),
            ("mailbox", Mailbox, box.id, convert.mailbox_draft),
            ("user", AppUser, alice.id, convert.user_draft)):
        draft = to_draft(model.get_by_id(row_id))
        expected = {}
        for f in F.FIELDS[record]:
            if f.stored != F.OWN or f.type in (F.PASSWORD, F.REF) or f.by_test or f.name == "kind":
                continue
            expected[f.name] = _non_default(f)
            setattr(draft, f.name, expected[f.name])
        columns = getattr(convert, f"{record}_columns")(draft)
        model.update(**columns).where(model.id == row_id).execute()
        again = to_draft(model.get_by_id(row_id))
        got = {name: getattr(again, name) for name in expected}
        assert got == expected, record


def test_export_writes_every_declared_column_and_import_reads_each_back(store, tmp_path):
    """An exported document has every declared column of its section; importing it unchanged
    plans no change (every field a row sets reads back as it is stored)."""
    from support.ui import seed_small_org

    from mailbox_tui.store.exchange import export_json, import_document

    seed_small_org(store)
    path = tmp_path / "out.json"
    with path.open("w") as fh:
        export_json(fh)
    doc = json.loads(path.read_text())
    for section, columns in COLUMNS.items():
        for row in doc[section]:
            assert set(row) == set(columns), (section, set(row) ^ set(columns))
    report = import_document(store, doc, dry_run=True)
    assert not [f for f in report.findings if f.is_error], report.findings


def test_model_columns_derive_from_the_declaration():
    """A field declared once becomes a column of its type, length, NULL and default: declare one
    more and a table made from the decorated model stores it, with no model code of its own."""
    from peewee import Model, SqliteDatabase

    from mailbox_tui.domain.fields import BOOL, DATETIME, INT, PASSWORD, REF, TEXT, Field
    from mailbox_tui.store.models import declared

    db = SqliteDatabase(":memory:")
    extra = (Field("nickname", TEXT, "Nickname", max_length=40, default="-"),
             Field("retries", INT, "Retries", nullable=True),
             Field("paused", BOOL, "Paused", default=False),
             Field("since", DATETIME, "Since", nullable=True),
             Field("token", PASSWORD, "Token", secret=True),
             Field("owner_id", REF, "Owner", column="owner"))  # a reference is the table's own structure

    @declared(extra)
    class Thing(Model):
        class Meta:
            database = db

    columns = Thing._meta.fields
    assert {"nickname", "retries", "paused", "since", "token_enc"} <= set(columns) and "owner" not in columns
    assert columns["nickname"].max_length == 40 and not columns["nickname"].null
    assert columns["retries"].null and columns["since"].null and columns["token_enc"].null
    db.create_tables([Thing])
    thing = Thing.create()
    again = Thing.get_by_id(thing.id)
    assert (again.nickname, again.retries, again.paused, again.since, again.token_enc) == ("-", None, False, None, None)
