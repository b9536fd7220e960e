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

database = DatabaseProxy()


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0)


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


class AppUser(Versioned):
    full_name = CharField(max_length=200)
    email = CharField(max_length=100)
    email_key = CharField(max_length=100, unique=True)
    state = SmallIntegerField(default=0)

    class Meta:
        table_name = "app_user"


class EmailServerProfile(Versioned):
    name = CharField(max_length=100)
    name_key = CharField(max_length=100, unique=True)
    server_type = SmallIntegerField()
    auto_discover = BooleanField(default=False)
    incoming_location = CharField(max_length=500, default="")
    incoming_port = IntegerField(null=True)
    incoming_tls = SmallIntegerField(default=1)
    outgoing_location = CharField(max_length=500, default="")
    outgoing_port = IntegerField(null=True)
    outgoing_tls = SmallIntegerField(default=1)
    auth_method = SmallIntegerField(default=0)
    outgoing_auth_method = SmallIntegerField(default=0)
    use_same_settings_for_outgoing = BooleanField(default=True)
    username = CharField(max_length=200, default="")
    password_enc = TextField(null=True)
    outgoing_username = CharField(max_length=200, default="")
    outgoing_password_enc = TextField(null=True)
    max_concurrent_connections = IntegerField(default=10)
    min_polling_minutes = IntegerField(default=0)
    timeout_seconds = IntegerField(default=30)
    move_undelivered = BooleanField(default=False)  # schema 4
    incoming_cert_sha256 = CharField(max_length=64, default="")
    outgoing_cert_sha256 = CharField(max_length=64, default="")
    state = SmallIntegerField(default=0)

    class Meta:
        table_name = "email_server_profile"


class Queue(Versioned):
    name = CharField(max_length=200)
    name_key = CharField(max_length=200, unique=True)
    email = CharField(max_length=100, default="")
    email_key = CharField(max_length=100, default="", index=True)
    owner = ForeignKeyField(AppUser, backref="queues", on_delete="RESTRICT")
    state = SmallIntegerField(default=0)


class Mailbox(Versioned):
    kind = SmallIntegerField()  # MailboxKind: 0 user, 1 queue, 2 forward
    name = CharField(max_length=200)
    name_key = CharField(max_length=200)  # casefolded, for sorting and filtering
    email = CharField(max_length=100, default="")
    email_key = CharField(max_length=100, default="", index=True)
    owner = ForeignKeyField(AppUser, backref="owned_mailboxes", on_delete="RESTRICT")
    regarding_user = ForeignKeyField(AppUser, null=True, unique=True, backref="mailbox", on_delete="CASCADE")
    regarding_queue = ForeignKeyField(Queue, null=True, unique=True, backref="mailbox", on_delete="CASCADE")
    profile = ForeignKeyField(EmailServerProfile, null=True, backref="mailboxes", on_delete="SET NULL", index=True)
    delete_after_processing = BooleanField(default=False)
    allow_credentials = BooleanField(default=False)
    username = CharField(max_length=200, default="")
    password_enc = TextField(null=True)
    incoming = SmallIntegerField(default=0)
    outgoing = SmallIntegerField(default=0)
    act = SmallIntegerField(default=2)
    process_after = DateTimeField(null=True)  # schema 4; UTC
    incoming_status = SmallIntegerField(default=0)
    outgoing_status = SmallIntegerField(default=0)
    act_status = SmallIntegerField(default=0)
    test_completed_on = DateTimeField(null=True)
    enabled_incoming = BooleanField(default=False)
    enabled_outgoing = BooleanField(default=False)
    enabled_act = BooleanField(default=False)
    approval = SmallIntegerField(default=0)
    state = SmallIntegerField(default=0)

    class Meta:
        indexes = (
            (("name_key", "id"), False),
            (("state", "name_key", "id"), False),
            (("kind", "name_key", "id"), False),
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


class OrganizationSettings(BaseModel):
    id = IntegerField(primary_key=True, constraints=[SQL("CHECK (id = 1)")])
    default_profile = ForeignKeyField(EmailServerProfile, null=True, on_delete="SET NULL")
    # None until an admin picks a default profile: server-side sync without one breaks M11.
    default_incoming = SmallIntegerField(default=0)
    default_outgoing = SmallIntegerField(default=0)
    default_act = SmallIntegerField(default=2)
    approval_required_users = BooleanField(default=True)
    approval_required_queues = BooleanField(default=True)
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
    row_dates = [(name, convert) for name, convert in dates.items() if name in rows[0]]
    names = [f.name for f in fields]
    values = []
    for row in rows:
        full = {**defaults, **row}
        for name, convert in row_dates:
            full[name] = convert(full[name])
        values.append(tuple(full[name] for name in names))
    db.cursor().executemany(sql, values)


ALL_MODELS = (Meta, AppUser, EmailServerProfile, Queue, Mailbox, MailboxAlert, OrganizationSettings)
