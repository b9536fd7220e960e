"""Read-only queries for lists: views, SQL filtering, keyed and offset pages. Never a whole table.

The filter means what it always meant: the needle (NFC, lower-cased) is a substring of the name,
email or (mailboxes) profile name, matched by LIKE. A trigram index (schema migration 3: SQLite
FTS5 tables kept in step by triggers, PostgreSQL pg_trgm) only decides which rows are looked at:
when it says few rows can match, the query reads those rows by id and the same LIKE condition
decides; when many can, the list is scanned in its order, where matches come soon.
"""

from __future__ import annotations

import logging
import weakref
from dataclasses import dataclass
from datetime import datetime

from peewee import JOIN, SQL, PostgresqlDatabase, Select, Tuple, fn

from ..i18n import N_
from ..domain.options import ApprovalStatus, MailboxKind, RecordState, TestStatus
from ..domain.text import natural_key
from .health import disabled_condition, failing_condition
from .models import AppUser, EmailServerProfile, Mailbox, MailboxAlert, Queue, database, filter_index_table

log = logging.getLogger(__name__)

TRIGRAM = 3  # a trigram index finds substrings of at least this many characters; shorter ones scan
NARROW = 10_000  # at most this many candidate rows: read them by id and sort; more: scan in list order
COUNT_CAP = 10_000  # a capped count stops here: a list says "10,000+" instead of counting every row
_PROFILE_IDS = 1_000  # profiles matching a filter, passed as values (an index can use them); more: a subquery

NO_ATTEMPT = datetime(9999, 12, 31)  # no retry scheduled: sorts after every scheduled one

# Views of the Mailboxes page, in menu order.
VIEWS = {
    "active": N_("Active Mailboxes"),
    "all": N_("All Mailboxes"),
    "forward": N_("Forward Mailboxes"),
    "user": N_("User Mailboxes"),
    "queue": N_("Queue Mailboxes"),
    "pending": N_("Pending Approval"),
    "failed": N_("Failed"),
    "retrying": N_("Retrying"),
    "disabled": N_("Disabled by failures"),
    "never_tested": N_("Never Tested"),
    "inactive": N_("Inactive"),
}

SORTS = {
    "name": Mailbox.name_key,
    "email": Mailbox.email_key,
    "kind": Mailbox.kind,
    "approval": Mailbox.approval,
    "incoming": Mailbox.incoming,
    "outgoing": Mailbox.outgoing,
    "act": Mailbox.act,
    "tested": fn.COALESCE(Mailbox.test_completed_on, datetime(1900, 1, 1)),
    "next_attempt": fn.COALESCE(Mailbox.next_test_attempt, NO_ATTEMPT),
}

@dataclass(frozen=True)
class MailboxRow:
    """One line of the mailbox list. Carries no secret."""

    id: int
    name: str
    email: str
    kind: int
    profile_name: str
    incoming: int
    outgoing: int
    act: int
    incoming_status: int
    outgoing_status: int
    act_status: int
    approval: int
    state: int
    test_completed_on: datetime | None
    version: int
    next_test_attempt: datetime | None = None  # a retry scheduled after a transient failure (issue 24)

    @property
    def mailbox_status(self) -> int:
        """Failure if any test failed; Success if at least one ran and none failed; else Not Run."""
        statuses = (self.incoming_status, self.outgoing_status, self.act_status)
        if TestStatus.FAILURE in statuses:
            return TestStatus.FAILURE
        if TestStatus.SUCCESS in statuses:
            return TestStatus.SUCCESS
        return TestStatus.NOT_RUN

NARROW_VIEWS = ("retrying", "disabled")  # views an index range finds: (state, next_test_attempt), (state, last_error_on)


def _view_condition(view: str):
    m = Mailbox
    return {
        "active": m.state == RecordState.ACTIVE,
        "all": None,
        "forward": m.kind == MailboxKind.FORWARD,
        "user": m.kind == MailboxKind.USER,
        "queue": m.kind == MailboxKind.QUEUE,
        "pending": m.approval == ApprovalStatus.PENDING,
        "failed": failing_condition(),
        "retrying": (m.state == RecordState.ACTIVE) & m.next_test_attempt.is_null(False),
        "disabled": (m.state == RecordState.ACTIVE) & m.last_error_on.is_null(False) & disabled_condition(),
        "never_tested": m.test_completed_on.is_null(),
        "inactive": m.state == RecordState.INACTIVE,
    }[view]

def needle(text: str) -> str:
    """Filter text as stored keys hold it; contains() escapes LIKE wildcards."""
    return natural_key(text)


# ---------------------------------------------------------------- the filter's trigram index

_READY: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def trigram_ready() -> bool:
    """Whether this database has the filter's trigram index. Always, once migrated, on SQLite with
    FTS5; on PostgreSQL only if migration 3 could create pg_trgm (else the lists scan, as before)."""
    db = database.obj
    ready = _READY.get(db)
    if ready is None:
        if isinstance(db, PostgresqlDatabase):
            sql = "SELECT 1 FROM pg_indexes WHERE indexname = 'mailbox_name_key_trgm'"
        else:
            sql = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'mailbox_filter'"
        ready = _READY[db] = db.execute_sql(sql).fetchone() is not None
        if not ready:
            log.info("no trigram index for the lists' filter in this database: filters scan the tables")
    return ready


def _fts_phrase(key: str) -> str:
    """`key` as one FTS5 phrase: with the trigram tokenizer, rows holding it as a substring."""
    return '"' + key.replace('"', '""') + '"'


def _text_candidates(model, key: str, like):
    """Ids of the rows of `model` whose filtered text may contain `key`: every row `like` matches,
    maybe more. None when the index can't tell (a key shorter than a trigram, or no index)."""
    if len(key) < TRIGRAM or not trigram_ready():
        return None
    if isinstance(database.obj, PostgresqlDatabase):  # pg_trgm serves LIKE itself
        return model.select(model.id.alias("id")).where(like)
    fts = filter_index_table(model)
    return (Select(from_list=[SQL(f'"{fts}"')], columns=[SQL("rowid").alias("id")])
            .where(SQL(f'"{fts}" MATCH ?', [_fts_phrase(key)])).bind(database))


def _narrowed(query, model, *candidates):
    """`query` reading only the candidate rows when they are few (at most NARROW), by id, in a
    fixed join order (SQLite: CROSS JOIN; the CTE is materialized, so PostgreSQL can't undo it);
    `query` unchanged when they are many or unknown (a candidate source is None). `query` keeps
    its own conditions: the candidates only choose the rows looked at, never which of them match."""
    if not candidates or any(c is None for c in candidates):
        return query
    found = 0
    for source in candidates:  # each counted on its own: a UNION would be built whole first
        found += source.limit(NARROW + 1).count()
        if found > NARROW:
            return query
    union = candidates[0]
    for source in candidates[1:]:
        union = union | source
    hits = union.cte("hits", columns=("id",), materialized=True)
    return query.with_cte(hits).from_(hits).join(model, JOIN.CROSS).where(model.id == hits.c.id)


def _capped(query, cap: int | None) -> int:
    """The number of rows `query` returns, or cap + 1 when there are more than `cap`."""
    return query.count() if cap is None else query.limit(cap + 1).count()


# ---------------------------------------------------------------- mailboxes

def _profile_ids(key: str):
    """Profiles whose name holds `key`: their ids as values when few, else a subquery."""
    profiles = EmailServerProfile.select(EmailServerProfile.id).where(EmailServerProfile.name_key.contains(key))
    ids = [p.id for p in profiles.limit(_PROFILE_IDS + 1)]
    return profiles if len(ids) > _PROFILE_IDS else ids


def _mailbox_candidates(key: str, profiles) -> list:
    """The rows the filter may match: by the trigram index, and the mailboxes of matching profiles."""
    sources = [_text_candidates(Mailbox, key, Mailbox.name_key.contains(key) | Mailbox.email_key.contains(key))]
    if profiles:
        sources.append(Mailbox.select(Mailbox.id.alias("id")).where(Mailbox.profile.in_(profiles)))
    return sources


NO_PROFILE = 0  # as `profile`: the mailboxes with no server profile (ids start at 1)


def _mailbox_query(query, view: str, text: str, profile: int | None = None):
    """`query` (a select from Mailbox) for a view, a filter and maybe one profile (the Health page's
    "the mailboxes behind this row"); profile joins come after."""
    view_cond = _view_condition(view)
    if view_cond is not None:
        query = query.where(view_cond)
    if profile is not None:
        query = query.where(Mailbox.profile.is_null() if profile == NO_PROFILE else Mailbox.profile == profile)
    if not text.strip():
        if view in NARROW_VIEWS:  # few, usually: read them by id off their index, not the list in its order
            return _narrowed(query, Mailbox, Mailbox.select(Mailbox.id.alias("id")).where(view_cond))
        return query
    key = needle(text)
    profiles = _profile_ids(key)
    cond = Mailbox.name_key.contains(key) | Mailbox.email_key.contains(key)
    if profiles:
        cond = cond | Mailbox.profile.in_(profiles)
    return _narrowed(query.where(cond), Mailbox, *_mailbox_candidates(key, profiles))


def count_mailboxes(view: str = "all", text: str = "", cap: int | None = None, profile: int | None = None) -> int:
    """How many mailboxes the view and filter show; with `cap`, counting stops after cap + 1
    (more than `cap`: show "cap+"), so a count over a big table never holds the rows up."""
    return _capped(_mailbox_query(Mailbox.select(Mailbox.id), view, text, profile), cap)

def total_mailboxes() -> int:
    return Mailbox.select().count()

_ROW_FIELDS = (
    Mailbox.id, Mailbox.name, Mailbox.email, Mailbox.kind, EmailServerProfile.name.alias("profile_name"),
    Mailbox.incoming, Mailbox.outgoing, Mailbox.act, Mailbox.incoming_status, Mailbox.outgoing_status,
    Mailbox.act_status, Mailbox.approval, Mailbox.state, Mailbox.test_completed_on, Mailbox.version,
    Mailbox.next_test_attempt,
)

def _rows(query) -> list[MailboxRow]:
    out = []
    for r in query.dicts():
        r["profile_name"] = r["profile_name"] or ""
        out.append(MailboxRow(**r))
    return out

def mailbox_page(view: str = "all", text: str = "", sort: str = "name", descending: bool = False,
                 limit: int = 200, offset: int = 0, after: tuple | None = None,
                 profile: int | None = None) -> list[MailboxRow]:
    """A page of the list. `after` is the (sort value, id) of the last row seen: a keyed page,
    which costs the same anywhere in the list; `offset` is for jumping (the end, a scroll bar)."""
    sort_expr = SORTS[sort]
    query = (_mailbox_query(Mailbox.select(*_ROW_FIELDS), view, text, profile)
             .join(EmailServerProfile, JOIN.LEFT_OUTER, on=(Mailbox.profile == EmailServerProfile.id)))
    if after is not None:
        key = Tuple(sort_expr, Mailbox.id)
        query = query.where(key < Tuple(*after) if descending else key > Tuple(*after))
    order = (sort_expr.desc(), Mailbox.id.desc()) if descending else (sort_expr.asc(), Mailbox.id.asc())
    query = query.order_by(*order).limit(limit)
    if offset and after is None:
        query = query.offset(offset)
    return _rows(query)

def sort_key(row: MailboxRow, sort: str = "name") -> tuple:
    """The `after` value for a keyed page following `row`."""
    value = {
        "name": natural_key(row.name),
        "email": natural_key(row.email),
        "kind": row.kind,
        "approval": row.approval,
        "incoming": row.incoming,
        "outgoing": row.outgoing,
        "act": row.act,
        "tested": row.test_completed_on or datetime(1900, 1, 1),
        "next_attempt": row.next_test_attempt or NO_ATTEMPT,
    }[sort]
    return (value, row.id)

def mailbox_alerts(mailbox_id: int, limit: int = 50) -> list[MailboxAlert]:
    return list(MailboxAlert.select().where(MailboxAlert.mailbox == mailbox_id)
                .order_by(MailboxAlert.created_on.desc(), MailboxAlert.id.desc()).limit(limit))

def users_lookup(text: str = "", limit: int = 50) -> list[tuple[int, str, str]]:
    """(id, full name, email) of users matching text, for Owner pickers."""
    q = AppUser.select(AppUser.id, AppUser.full_name, AppUser.email)
    if text.strip():
        key = needle(text)
        q = q.where(AppUser.full_name.contains(key) | AppUser.email_key.contains(key))
    return [(u.id, u.full_name, u.email) for u in q.order_by(AppUser.full_name, AppUser.id).limit(limit)]

def profiles_lookup(limit: int = 500) -> list[tuple[int, str, int]]:
    """(id, name, server type) of every profile; profiles are few."""
    q = EmailServerProfile.select(EmailServerProfile.id, EmailServerProfile.name, EmailServerProfile.server_type)
    return [(p.id, p.name, p.server_type) for p in q.order_by(EmailServerProfile.name_key).limit(limit)]



# ---------------------------------------------------------------- users, queues, profiles


@dataclass(frozen=True)
class UserRow:
    id: int
    full_name: str
    email: str
    state: int
    approval: int
    incoming: int
    outgoing: int
    mailbox_id: int | None


@dataclass(frozen=True)
class QueueRow:
    id: int
    name: str
    email: str
    owner_email: str
    state: int
    approval: int
    incoming: int
    outgoing: int
    mailbox_id: int | None


@dataclass(frozen=True)
class ProfileRow:
    id: int
    name: str
    server_type: int
    incoming_location: str
    auth_method: int
    state: int
    mailboxes: int


USER_VIEWS = {"all": N_("All Users"), "active": N_("Active Users"), "pending": N_("Pending Approval"),
              "inactive": N_("Inactive")}
QUEUE_VIEWS = {"all": N_("All Queues"), "pending": N_("Pending Approval")}
PROFILE_VIEWS = {"all": N_("All Profiles")}


def _user_query(view: str, text: str, counting: bool = False):
    """Users (with their mailbox's approval and methods) in a view, filtered. `counting`: only
    the ids, and no join where the view does not need one (a user has at most one mailbox)."""
    if counting:
        q = AppUser.select(AppUser.id)
    else:
        q = AppUser.select(AppUser.id, AppUser.full_name, AppUser.email, AppUser.state,
                           fn.COALESCE(Mailbox.approval, 0).alias("approval"),
                           fn.COALESCE(Mailbox.incoming, 0).alias("incoming"),
                           fn.COALESCE(Mailbox.outgoing, 0).alias("outgoing"), Mailbox.id.alias("mailbox_id"))
    if view == "active":
        q = q.where(AppUser.state == RecordState.ACTIVE)
    elif view == "inactive":
        q = q.where(AppUser.state == RecordState.INACTIVE)
    elif view == "pending":
        q = q.where(Mailbox.approval == ApprovalStatus.PENDING)
    if text.strip():
        key = needle(text)
        cond = fn.LOWER(AppUser.full_name).contains(key) | AppUser.email_key.contains(key)
        q = _narrowed(q.where(cond), AppUser, _text_candidates(AppUser, key, cond))
    if counting and view != "pending":
        return q
    return q.join(Mailbox, JOIN.LEFT_OUTER, on=(Mailbox.regarding_user == AppUser.id))


def count_users(view: str = "all", text: str = "", cap: int | None = None) -> int:
    return _capped(_user_query(view, text, counting=True), cap)


def user_page(view: str = "all", text: str = "", limit: int = 100, offset: int = 0) -> list[UserRow]:
    q = _user_query(view, text).order_by(fn.LOWER(AppUser.full_name), AppUser.id).limit(limit).offset(offset)
    return [UserRow(**r) for r in q.dicts()]


def _queue_query(view: str, text: str):
    owner = AppUser.alias()
    q = Queue.select(Queue.id, Queue.name, Queue.email, owner.email.alias("owner_email"), Queue.state,
                     fn.COALESCE(Mailbox.approval, 0).alias("approval"),
                     fn.COALESCE(Mailbox.incoming, 0).alias("incoming"),
                     fn.COALESCE(Mailbox.outgoing, 0).alias("outgoing"), Mailbox.id.alias("mailbox_id"))
    if view == "pending":
        q = q.where(Mailbox.approval == ApprovalStatus.PENDING)
    if text.strip():
        key = needle(text)
        cond = Queue.name_key.contains(key) | Queue.email_key.contains(key)
        q = _narrowed(q.where(cond), Queue, _text_candidates(Queue, key, cond))
    return (q.join(owner, on=(Queue.owner == owner.id))
            .switch(Queue).join(Mailbox, JOIN.LEFT_OUTER, on=(Mailbox.regarding_queue == Queue.id)))


def count_queues(view: str = "all", text: str = "", cap: int | None = None) -> int:
    return _capped(_queue_query(view, text), cap)


def queue_page(view: str = "all", text: str = "", limit: int = 100, offset: int = 0) -> list[QueueRow]:
    q = _queue_query(view, text).order_by(Queue.name_key, Queue.id).limit(limit).offset(offset)
    return [QueueRow(**r) for r in q.dicts()]


def _profile_query(text: str):
    usage = (Mailbox.select(fn.COUNT(Mailbox.id)).where(Mailbox.profile == EmailServerProfile.id))
    q = EmailServerProfile.select(EmailServerProfile.id, EmailServerProfile.name, EmailServerProfile.server_type,
                                  EmailServerProfile.incoming_location, EmailServerProfile.auth_method,
                                  EmailServerProfile.state, usage.alias("mailboxes"))
    if text.strip():
        q = q.where(EmailServerProfile.name_key.contains(needle(text)))
    return q


def count_profiles(view: str = "all", text: str = "", cap: int | None = None) -> int:
    """Profiles are few: no index; counted like the others."""
    return _capped(_profile_query(text), cap)


def profile_page(view: str = "all", text: str = "", limit: int = 100, offset: int = 0) -> list[ProfileRow]:
    q = _profile_query(text).order_by(EmailServerProfile.name_key, EmailServerProfile.id).limit(limit).offset(offset)
    return [ProfileRow(**r) for r in q.dicts()]


def due_retry_ids(now, limit: int = 500) -> list[int]:
    """Active mailboxes whose retry's time has come (issue 24), soonest first: a range of the
    next_test_attempt index, never a scan of the table."""
    return [row[0] for row in Mailbox.select(Mailbox.id)
            .where(Mailbox.next_test_attempt <= now, Mailbox.state == RecordState.ACTIVE)
            .order_by(Mailbox.next_test_attempt).limit(limit).tuples()]
