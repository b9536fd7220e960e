"""Peewee models. Bound to `database` (a proxy) when a Store opens."""

from __future__ import annotations

from datetime import datetime, timezone

from peewee import (
    SQL,
    BooleanField,
    CharField,
    DatabaseError,
    DatabaseProxy,
    DateTimeField,
    ForeignKeyField,
    IntegerField,
    Model,
    PostgresqlDatabase,
    SmallIntegerField,
    TextField,
)

from ..domain import fields as F

database = DatabaseProxy()


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0)


def _column(field: F.Field):
    """The model column a declared field is stored in: its type, length, default and NULL follow the
    declaration (domain/fields.py). Defaults are Python-side (Peewee), so the DDL is the same."""
    default = field.default
    if field.type == F.OPTION:
        return SmallIntegerField(default=None if default is None else int(default), null=field.nullable)
    if field.type in (F.TEXT, F.EMAIL, F.PIN):
        return CharField(max_length=field.max_length, default=default, null=field.nullable)
    if field.type == F.INT:
        return IntegerField(default=default, null=field.nullable)
    if field.type == F.BOOL:
        return BooleanField(default=default, null=field.nullable)
    if field.type == F.DATETIME:
        return DateTimeField(null=True)
    if field.type == F.PASSWORD:
        return TextField(null=True)  # the Fernet token; NULL when no password is stored
    raise TypeError(f"{field.name}: no column type for {field.type!r}")


def declared(fields: tuple[F.Field, ...]):
    """A class decorator: add a column for each field the record stores in its own table, in
    declaration order. References (foreign keys), natural-key columns and indexes are the table's
    structure and are written in the class; the values an admin sets are declared once."""

    def add_columns(model):
        for field in fields:
            if field.stored == F.OWN and field.type != F.REF:
                model._meta.add_field(field.model_column, _column(field))
        return model

    return add_columns


class BaseModel(Model):
    class Meta:
        database = database
        legacy_table_names = False


class Meta(BaseModel):
    """Key/value facts about the database: schema version, key-check value."""

    key = CharField(primary_key=True, max_length=64)
    value = TextField()


class Versioned(BaseModel):
    created_on = DateTimeField(default=utcnow)
    modified_on = DateTimeField(default=utcnow)
    version = IntegerField(default=1)  # optimistic locking


@declared(F.USER_FIELDS)
class AppUser(Versioned):
    email_key = CharField(max_length=100, unique=True)

    class Meta:
        table_name = "app_user"


@declared(F.PROFILE_FIELDS)
class EmailServerProfile(Versioned):
    name_key = CharField(max_length=100, unique=True)

    class Meta:
        table_name = "email_server_profile"


@declared(F.QUEUE_FIELDS)
class Queue(Versioned):
    name_key = CharField(max_length=200, unique=True)
    email_key = CharField(max_length=100, default="", index=True)
    owner = ForeignKeyField(AppUser, backref="queues", on_delete="RESTRICT")


@declared(F.MAILBOX_FIELDS)
class Mailbox(Versioned):
    name_key = CharField(max_length=200)  # casefolded, for sorting and filtering
    email_key = CharField(max_length=100, default="", index=True)
    owner = ForeignKeyField(AppUser, backref="owned_mailboxes", on_delete="RESTRICT")
    regarding_user = ForeignKeyField(AppUser, null=True, unique=True, backref="mailbox", on_delete="CASCADE")
    regarding_queue = ForeignKeyField(Queue, null=True, unique=True, backref="mailbox", on_delete="CASCADE")
    profile = ForeignKeyField(EmailServerProfile, null=True, backref="mailboxes", on_delete="SET NULL", index=True)

    class Meta:
        indexes = (
            (("name_key", "id"), False),
            (("state", "name_key", "id"), False),
            (("kind", "name_key", "id"), False),
            (("state", "next_test_attempt"), False),  # the due retries: one index range, in order (issue 24)
            (("state", "last_error_on"), False),  # the view "Disabled by failures": the mailboxes that failed
            (("state", "next_processing"), False),  # what `watch` must test now: one index range (issue 24 item 4)
        )


class MailboxAlert(BaseModel):
    mailbox = ForeignKeyField(Mailbox, backref="alerts", on_delete="CASCADE")
    created_on = DateTimeField(default=utcnow)
    level = CharField(max_length=16)  # error, warning, info
    step = CharField(max_length=32, default="")  # DNS, connect, TLS, greeting, authentication, mailbox access
    message = TextField()

    class Meta:
        table_name = "mailbox_alert"
        indexes = ((("mailbox", "created_on"), False),)


@declared(F.ORG_FIELDS)
class OrganizationSettings(BaseModel):
    id = IntegerField(primary_key=True, constraints=[SQL("CHECK (id = 1)")])
    # None until an admin picks a default profile: server-side sync without one breaks M11.
    default_profile = ForeignKeyField(EmailServerProfile, null=True, on_delete="SET NULL")
    version = IntegerField(default=1)

    class Meta:
        table_name = "organization_settings"


def reserve_ids(model, count: int) -> list[int]:
    """Ids for rows about to be bulk-inserted, so no read-back is needed.

    PostgreSQL hands them out from the table's sequence; on SQLite the caller holds the write
    lock (transactions begin IMMEDIATE), so max(id)+1… cannot be taken by anyone else."""
    if count <= 0:
        return []
    db = _bound(model)
    table = model._meta.table_name
    if isinstance(db, PostgresqlDatabase):
        cursor = db.execute_sql(
            f"SELECT nextval(pg_get_serial_sequence('{table}', 'id')) FROM generate_series(1, %s)", (count,))
        return [row[0] for row in cursor.fetchall()]
    start = (db.execute_sql(f'SELECT COALESCE(MAX(id), 0) FROM "{table}"').fetchone()[0]) + 1
    return list(range(start, start + count))


# The lists' filter has a trigram index (schema migration 3): on SQLite an FTS5 table named
# "<table>_filter" per filtered table, filled row by row by the trigger "<table>_filter_insert".


def _bound(model):
    """The database a model is bound to: the one behind the proxy (isinstance needs it)."""
    db = model._meta.database
    return db.obj if isinstance(db, DatabaseProxy) else db


def filter_index_table(model) -> str:
    return f"{model._meta.table_name}_filter"


def _filter_index_columns(db, model) -> list[str]:
    """The columns of the model's FTS5 table; none on PostgreSQL (pg_trgm keeps itself) or without it."""
    if isinstance(db, PostgresqlDatabase):
        return []
    return [row[1] for row in db.execute_sql(f'PRAGMA table_info("{filter_index_table(model)}")').fetchall()]


def bulk_insert(model, rows: list[dict]) -> None:
    """INSERT many rows with one prepared statement (peewee's insert_many builds SQL per value,
    which costs more than the insert itself at import scale). Rows must share their keys.

    On SQLite the filter's trigram index is filled once for the whole batch: its insert trigger
    (a row at a time costs ten times as much, and slows every row down even when it does
    nothing) is dropped for the batch and put back, in the same transaction, so no other
    connection ever writes without it. The new rows are the ones above the largest id before."""
    if not rows:
        return
    db = _bound(model)
    if isinstance(db, PostgresqlDatabase):
        _insert_rows(db, model, rows)
        if len(rows) >= 1000:
            _merge_pending_trigrams(db, model)
        return
    columns = _filter_index_columns(db, model)
    if not columns:
        _insert_rows(db, model, rows)
        return
    table, fts = model._meta.table_name, filter_index_table(model)
    with db.atomic():
        first = db.execute_sql(f'SELECT COALESCE(MAX(id), 0) FROM "{table}"').fetchone()[0]
        trigger = db.execute_sql("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = ?",
                                 (f"{fts}_insert",)).fetchone()
        if trigger is None or ("id" in rows[0] and min(row["id"] for row in rows) <= first):
            _insert_rows(db, model, rows)  # ids below the largest: the trigger indexes them
            return
        # No try/finally: if anything fails, rolling back (this savepoint, or SQLite's own rollback
        # of the whole transaction, say on a full disk) brings the trigger back with the rest.
        db.execute_sql(f'DROP TRIGGER "{fts}_insert"')
        _insert_rows(db, model, rows)
        names = ", ".join(f'"{c}"' for c in columns)
        db.execute_sql(f'INSERT INTO "{fts}" (rowid, {names}) SELECT id, {names} FROM "{table}" WHERE id > ?',
                       (first,))
        db.execute_sql(trigger[0])


def _merge_pending_trigrams(db, model) -> None:
    """PostgreSQL: a GIN index keeps new entries in a pending list, which every search reads
    through until (auto)vacuum merges it: after a bulk insert a filter took 30-90 ms instead of
    1-3 ms for a minute. Merge it now (50 ms per 100,000 rows). Only the index's owner may: for
    anyone else, autovacuum still does it."""
    try:
        with db.atomic():
            db.execute_sql("SELECT gin_clean_pending_list(i.indexrelid::regclass) FROM pg_index i "
                           "JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am a ON a.oid = c.relam "
                           "WHERE i.indrelid = %s::regclass AND a.amname = 'gin'", (model._meta.table_name,))
    except DatabaseError:
        pass


def _insert_rows(db, model, rows: list[dict]) -> None:
    fields = [model._meta.combined[name] for name in rows[0]]
    defaults = {f.name: (f.default() if callable(f.default) else f.default)
                for f in model._meta.sorted_fields
                if f.name not in rows[0] and not f.primary_key and f.default is not None}
    fields += [model._meta.fields[name] for name in defaults]
    columns = ", ".join(f'"{f.column_name}"' for f in fields)
    marks = ", ".join([db.param] * len(fields))
    sql = f'INSERT INTO "{model._meta.table_name}" ({columns}) VALUES ({marks})'
    # Both drivers take ints, strings and bools as they are; only dates need peewee's conversion.
    dates = {f.name: f.db_value for f in fields if isinstance(f, DateTimeField)}
    defaults = {name: dates[name](value) if name in dates else value for name, value in defaults.items()}
    if not isinstance(db, PostgresqlDatabase):
        # sqlite3 would turn the same time (the batch's created_on, modified_on) into text again for
        # every row (val.isoformat(" "), its default adapter): a twentieth of an import's CPU. Once here.
        defaults = {name: value.isoformat(" ") if isinstance(value, datetime) else value
                    for name, value in defaults.items()}
    row_dates = [(name, convert) for name, convert in dates.items() if name in rows[0]]
    names = [f.name for f in fields]
    # A row with the first row's keys in its order (an import's rows all are): its values, then the defaults.
    own, tail = tuple(rows[0]), tuple(defaults.values())
    dates_at = [(i, dates[name]) for i, name in enumerate(own) if name in dates]
    values = []
    for row in rows:
        if tuple(row) == own:
            if dates_at:
                listed = list(row.values())
                for i, convert in dates_at:
                    listed[i] = convert(listed[i])
                values.append((*listed, *tail))
            else:
                values.append((*row.values(), *tail))
            continue
        full = {**defaults, **row}
        for name, convert in row_dates:
            full[name] = convert(full[name])
        values.append(tuple(full[name] for name in names))
    db.cursor().executemany(sql, values)


ALL_MODELS = (Meta, AppUser, EmailServerProfile, Queue, Mailbox, MailboxAlert, OrganizationSettings)
