"""Reading the change history: pages newest first (keyed, like the lists), views, one record's
history, and each change as a sentence. Plain records out: the screens never see the models.

Nothing here returns a secret: an entry's changes say only "set", "changed" or "cleared" for a
secret field (history.py), and change_secret is never read here."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from peewee import JOIN, fn

from ..i18n import N_, Said, _, number, said, say
from ..i18n import shown as shown_word
from ..domain import fields as F
from . import history_search, history_words
from .history import CREATE, DELETE, IMPORT, ChangeEntry, label
from .models import utcnow

VIEWS = ("all", "today", "mine", "deletes", "credentials")
VIEW_LABELS = {"all": N_("All"), "today": N_("Today"), "mine": N_("Mine"), "deletes": N_("Deletes"),
               "credentials": N_("Credential changes")}
RECORD_KINDS = ("mailbox", "user", "queue", "profile", "settings")
_FIELDS = {"mailbox": F.MAILBOX_FIELDS, "user": F.USER_FIELDS, "queue": F.QUEUE_FIELDS,
           "profile": F.PROFILE_FIELDS, "settings": F.ORG_FIELDS}


@dataclass(frozen=True)
class Change:
    field: str
    label: str
    old: str  # as shown: an option's label, Yes/No, a reference's name, "" for none
    new: str
    old_id: int | None = None  # a reference's id (owner, profile, regarding): --json keeps it
    new_id: int | None = None


@dataclass(frozen=True)
class HistoryEntry:
    id: int
    at: datetime  # UTC
    admin: str
    os_user: str
    host: str
    kind: str
    record_key: str
    record_id: int | None
    action: str
    changes: tuple[Change, ...]
    credentials: bool
    batch: int | None
    parent: int | None
    undoes: int | None

    @property
    def key(self) -> tuple[int, int]:
        """Where the entry sits in a page newest first, (its group, its id): `history_page(after=key)`
        goes on below it. An operation's records are grouped under its own entry (their `batch`);
        any other entry is a group of its own."""
        return (self.batch if self.batch is not None else self.id, self.id)

    @property
    def who(self) -> str:
        """The acting admin, and where from: "alice@example.com (alice@host)"."""
        where = f"{self.os_user}@{self.host}" if self.host else self.os_user
        return f"{self.admin or '(no acting admin)'} ({where})"

    @property
    def phrase(self) -> str:
        """What it did: "created mailbox 'Sales intake'", "rotated the encryption key"."""
        return history_words.phrase(self)

    @property
    def summary(self) -> str:
        """The changes in one line: "Name: Old → New; Password: changed"."""
        return "; ".join(describe(c, created=self.action in (CREATE, IMPORT)) for c in self.changes)

    def as_dict(self) -> dict:
        return {"id": self.id, "at": self.at.strftime("%Y-%m-%dT%H:%M:%SZ"), "admin": self.admin,
                "os_user": self.os_user, "host": self.host, "kind": self.kind, "record": self.record_key,
                "record_id": self.record_id, "action": self.action, "batch": self.batch, "parent": self.parent,
                "undoes": self.undoes, "phrase": self.phrase,
                "changes": [_change_dict(c) for c in self.changes]}


def _change_dict(c: Change) -> dict:
    out = {"field": c.field, "label": c.label, "old": c.old, "new": c.new}
    if c.old_id is not None or c.new_id is not None:  # a reference: its ids, beside the names shown
        out.update(old_id=c.old_id, new_id=c.new_id)
    return out


# The labels an import's entry and the undo of an import keep for their counts (store/exchange/write.py,
# store/undo_import.py): in the catalogue, so that they are shown in the admin's words.
EVENT_LABELS = (N_("created profiles"), N_("created users"), N_("created queues"), N_("created mailboxes"),
                N_("created settings"), N_("updated profiles"), N_("updated users"), N_("updated queues"),
                N_("updated mailboxes"), N_("updated settings"), N_("deleted profiles"), N_("deleted users"),
                N_("deleted queues"), N_("deleted mailboxes"), N_("deleted settings"), N_("put back profiles"),
                N_("put back users"), N_("put back queues"), N_("put back mailboxes"), N_("put back settings"),
                N_("skipped (undone before)"))
_SECRET_WORDS = {"set": N_("{field}: set"), "changed": N_("{field}: changed"), "cleared": N_("{field}: cleared")}


def describe(change: Change, created: bool = False) -> str:
    """A change as the admin reads it, in the admin's language (for a screen or the command line's
    human output: --json keeps the Change's English). Our own words in it (a label, Yes/No, an option's
    label, a secret's set/changed/cleared) are translated; a stored value is shown as it is."""
    label = shown_word(change.label)
    if change.old == "" and change.new in _SECRET_WORDS and not isinstance(change.new, Said):
        return _(_SECRET_WORDS[change.new]).format(field=label)
    if change.old == "" and created:
        return _("{field}: {new}").format(field=label, new=_value(change.new))
    return _("{field}: {old} → {new}").format(field=label, old=_value(change.old) or _("(none)"),
                                              new=_value(change.new) or _("(none)"))


def _value(value: str) -> str:
    """A value of a change: our own word (made by say() in `shown`) translated, anything else as stored."""
    return said(value) if isinstance(value, Said) else value


def shown(kind: str, name: str, value) -> str:
    """A stored value as a form shows it: an option's label, Yes/No, a reference's id."""
    if value is None:
        return ""
    field = F.by_name(_FIELDS.get(kind, ())).get(name)
    if field is None:
        return str(value)
    if field.type == F.BOOL:
        return say("Yes") if value else say("No")
    if field.type == F.OPTION and field.options is not None:
        try:
            return say(field.options(int(value)).label)
        except (ValueError, TypeError):
            return str(value)
    if field.type == F.REF:
        return f"#{value}"
    return str(value)


def _ref(kind: str, name, value) -> int | None:
    field = F.by_name(_FIELDS.get(kind, ())).get(name)
    if field is None or field.type != F.REF or isinstance(value, bool) or not isinstance(value, int):
        return None
    return value


def _entry(row: ChangeEntry) -> HistoryEntry:
    try:
        raw = json.loads(row.changes or "[]")
    except ValueError:
        raw = []
    changes = []
    for item in raw:
        name, old, new = (list(item) + [None, None, None])[:3]
        changes.append(Change(str(name), label(row.kind, str(name)), shown(row.kind, name, old),
                              shown(row.kind, name, new), _ref(row.kind, name, old), _ref(row.kind, name, new)))
    return HistoryEntry(row.id, row.at, row.admin, row.os_user, row.host, row.kind, row.record_key, row.record_id,
                        row.action, tuple(changes), bool(row.credentials), row.batch, row.parent, row.undoes)


def first_id_since(since: datetime) -> int | None:
    """The first entry at or after `since`, found by halving the ids: `at` grows with the id (entries
    are written as they happen), so no index on `at` is needed. None when there is none."""
    top = ChangeEntry.select(fn.MAX(ChangeEntry.id)).scalar()
    if top is None:
        return None
    lo, hi = 1, top + 1
    while lo < hi:
        mid = (lo + hi) // 2
        row = ChangeEntry.select(ChangeEntry.id, ChangeEntry.at).where(ChangeEntry.id >= mid).order_by(
            ChangeEntry.id).first()
        if row is None or row.at >= since:
            hi = mid
        else:
            lo = row.id + 1
    return lo if lo <= top else None


def start_of_today() -> datetime:
    now = utcnow()
    return datetime(now.year, now.month, now.day)


def parse_since(text: str) -> datetime | None:
    """--since: a date (YYYY-MM-DD), a date and time in UTC, "today" or "yesterday"; None if it is none."""
    text = (text or "").strip().lower()
    if text == "today":
        return start_of_today()
    if text == "yesterday":
        return start_of_today() - timedelta(days=1)
    return F.parse_utc(text)


def _query(store, view: str = "all", text: str = "", *, record: tuple[str, int] | None = None,
           record_key: tuple[str, str] | None = None, admin: str | None = None, since: datetime | None = None):
    """The entries of a view and filter, and the column that orders them (newest first) and keys
    their pages: the entry's id, or, when the filter's index drives the query (history_search.py),
    the index's rowid, which is that id (SQLite then reads the index newest first and stops at the
    page's end). None when nothing can match."""
    q = ChangeEntry.select()
    key = ChangeEntry.id
    if view == "today":
        since = max(since, start_of_today()) if since else start_of_today()
    elif view == "mine":
        admin = getattr(store, "actor", "") or ""
    elif view == "deletes":
        q = q.where(ChangeEntry.action == DELETE)
    elif view == "credentials":
        q = q.where(ChangeEntry.credentials)  # the partial index's own condition, as written there
    if since is not None:
        first = first_id_since(since)
        if first is None:
            return None
        q = q.where(ChangeEntry.id >= first, ChangeEntry.at >= since)
    if admin is not None:
        q = q.where(ChangeEntry.admin == admin.strip().lower())
    if record is not None:
        q = q.where(ChangeEntry.kind == record[0], ChangeEntry.record_id == record[1])
    if record_key is not None:
        q = q.where(ChangeEntry.kind == record_key[0], fn.LOWER(ChangeEntry.record_key) == record_key[1].lower())
    text = (text or "").strip()
    if short_filter_bounded(text) and record is None and record_key is None:
        # One or two characters: no trigram to look up. Only the newest entries are searched, so a
        # keystroke stays as quick as the lists' (the screen says so; three characters search all).
        q = q.where(ChangeEntry.id > latest_id() - SHORT_FILTER_SCAN)
    if text:  # contains() escapes LIKE's wildcards, and ignores case: what matches, with or without the index
        q = q.where(ChangeEntry.record_key.contains(text) | ChangeEntry.admin.contains(text)
                    | ChangeEntry.action.contains(text) | ChangeEntry.kind.contains(text))
        source = None if record is not None or record_key is not None else history_search.sqlite_source(
            store.db, text)  # one record's entries: its own index finds them
        if source is not None:  # the index's rows newest first, each joined to its entry by id
            table, key, match = source
            q = q.from_(table).join(ChangeEntry, JOIN.CROSS).where(match, ChangeEntry.id == key)
            if since is not None:
                q = q.where(key >= first)  # SQLite does not carry the entry's id range over to the index
    return q, key


SHORT_FILTER_SCAN = 100_000  # entries a filter of one or two characters searches, the newest


def short_filter_bounded(text: str) -> bool:
    """Whether the History filter `text` searches only the newest SHORT_FILTER_SCAN entries."""
    return 0 < len((text or "").strip()) < history_search.TRIGRAM


def short_filter_note(text: str) -> str:
    """What the History page says about a short filter when the history has more entries than it
    searches ("" otherwise)."""
    if not short_filter_bounded(text) or latest_id() <= SHORT_FILTER_SCAN:
        return ""
    return _("the newest {n} searched: type 3 characters to search all").format(n=number(SHORT_FILTER_SCAN))


def history_page(store, view: str = "all", text: str = "", limit: int = 200, after: tuple | None = None,
                 **where) -> list[HistoryEntry]:
    """A page of entries, newest first; `after` is the key of the last row of the page before
    (`HistoryEntry.key`; a bare (id,) goes on below that id).

    Entries are listed by group, newest group first: an operation (an import, the undo of one: the
    entry its records name as their `batch`) is one group, its own entry first, then its records
    newest first; any other entry is a group of its own, placed by its id. An operation's records are
    written after its entry, so its entry has the smallest id of the group, and the group sits where
    that entry is: after an import of 100,000 users it is the first line, not the 200,001st, and a
    save another admin made while the import wrote (on PostgreSQL its id falls among the import's)
    is listed above the import, never inside it. Keyed pages go on inside a group or below it; every
    read is a range of an index (the id's, the view's own, the batch index of migration 8): the view
    is never sorted."""
    found = _query(store, view, text, **where)
    if found is None:
        return []
    q, key = found
    complete = view == "all" and not (text or "").strip() and not where  # every operation's own entry is in it
    return history_words.name_references(_ordered(q, key, limit, after, complete))


def _group(row) -> int:
    return row.batch if row.batch is not None else row.id


def _ordered(q, key, limit: int, after: tuple | None, complete: bool = False) -> list[HistoryEntry]:
    """The page newest first by (group, entry): each operation's own entry, then its records.

    The view's entries are read newest first a page at a time, as a list by id would (one query), and
    the groups they hold are listed in order; only an operation's records take a query of their own
    (the batch index). A page that holds nothing but an older operation's records skips them all
    (`_next_group`)."""
    rows: list = []
    below = None  # the groups still to list are those under this id (None: all)
    if after:
        below = after[0]
        if len(after) > 1:  # go on inside the group of the entry the page before ended with
            rows += _members(q, key, after[0], after[1] if after[1] != after[0] else None, limit)
    while len(rows) < limit:
        want = limit - len(rows)
        chunk = list((q if below is None else q.where(key < below)).order_by(key.desc()).limit(want))
        floor = chunk[-1].id if len(chunk) == want else None  # every entry from here up to `below` is in it
        groups = {_group(r) for r in chunk if floor is None or _group(r) >= floor}
        if below is not None and not complete:
            groups |= _groups_above(q, key, below, floor)
        own = {r.id: r for r in chunk if r.batch is None}
        if not groups:
            group = _next_group(q, key, below, complete) if floor is not None else None
            if group is None:
                break
            groups, found = {group}, q.where(key == group).first()
            if found is not None:
                own[group] = found
        operations = _operations([g for g in groups if g in own])
        for group in sorted(groups, reverse=True):
            if group in own:
                rows.append(own[group])
            if group in operations or group not in own:
                rows += _members(q, key, group, None, limit - len(rows))
            if len(rows) >= limit:
                break
        below = min(groups)
    return [_entry(r) for r in rows[:limit]]


def _operations(ids: list[int]) -> set[int]:
    """Which of these entries have records (an operation's own entries): one look-up in the batch index
    each, that stops at the first record (not a DISTINCT, which would read all 100,000 of an import's)."""
    if not ids:
        return set()
    record = ChangeEntry.alias()
    has = fn.EXISTS(record.select(record.id).where(record.batch == ChangeEntry.id))
    return {r.id for r in ChangeEntry.select(ChangeEntry.id).where(ChangeEntry.id.in_(ids), has)}


def _groups_above(q, key, below: int, floor: int | None) -> set[int]:
    """Groups under `below` (down to `floor`) that may have records in the view above it while the view
    lacks their own entry (a filter, --since): their records are listed in their group's place. Asked of
    the batch index, for the operations whose entries start in that range (a group found here with no
    record in the view lists nothing); when the view ends in this page, of the view's entries above."""
    if floor is None:
        older = q.select(ChangeEntry.batch).where(ChangeEntry.batch.is_null(False), ChangeEntry.batch < below,
                                                   key >= below)
    else:
        older = ChangeEntry.select(ChangeEntry.batch).where(
            ChangeEntry.batch.is_null(False), ChangeEntry.batch >= floor, ChangeEntry.batch < below,
            ChangeEntry.id >= below)
    return {r.batch for r in older.distinct()}


def _members(q, key, group: int, before: int | None, limit: int) -> list:
    """An operation's records in the view, newest first (below `before`): the batch index's range."""
    if limit <= 0:
        return []
    page = q.where(ChangeEntry.batch == group)
    if before is not None:
        page = page.where(key < before)
    return list(page.order_by(key.desc()).limit(limit))


def _next_group(q, key, below: int | None, complete: bool) -> int | None:
    """The newest group under `below` that has an entry in the view (its id), or None.

    An entry's group is at most its id. So, newest entry first under `below`: that entry's group is
    the answer unless an entry between the group and it is of a newer group (a save made while an
    operation wrote, on PostgreSQL), looked for among the entries in that range that are not the
    group's (an operation's own records are skipped there; they are rarely more than the entries of
    one import above the newest other entry). A view without the operation's own entry may also have
    records of an older group above `below`: the batch index finds the newest such group."""
    newest = q if below is None else q.where(key < below)
    row = newest.order_by(key.desc()).first()
    best = None
    if row is not None:
        best, top = _group(row), row.id
        while best < top:
            row = (q.where(key > best, key < top, ChangeEntry.batch.is_null(True) | (ChangeEntry.batch > best))
                   .order_by(key.desc()).first())
            if row is None:
                break
            best, top = _group(row), row.id
    if below is not None and not complete:
        for group in sorted(_groups_above(q, key, below, None if best is None else best + 1), reverse=True):
            if q.where(ChangeEntry.batch == group, key >= below).exists():
                return group
    return best


COUNT_CAP = 10_000  # a list counts this many matches at most (+1): more shows as "10,000+"


def count_entries(store, view: str = "all", text: str = "", cap: int | None = COUNT_CAP, **where) -> int:
    """How many entries match, counting at most `cap` (+1, so a list can say "10,000+")."""
    found = _query(store, view, text, **where)
    if found is None:
        return 0
    q, _ = found
    if cap is None:
        return q.count()
    return ChangeEntry.select(fn.COUNT(1)).from_(q.select(ChangeEntry.id).limit(cap + 1).alias("c")).scalar()


def latest_id() -> int:
    """The newest entry's id (0 when there is none)."""
    return ChangeEntry.select(fn.MAX(ChangeEntry.id)).scalar() or 0


def own_entries_after(store, mark: int) -> list[int]:
    """The entries this admin wrote after `mark` that undo reverses (not the ones that came along
    with another: a user's mailbox goes back with its user)."""
    q = (ChangeEntry.select(ChangeEntry.id)
         .where(ChangeEntry.id > mark, ChangeEntry.admin == (getattr(store, "actor", "") or ""),
                ChangeEntry.parent.is_null(True))
         .order_by(ChangeEntry.id).limit(10_000))
    return [r.id for r in q]


def entry(entry_id: int) -> HistoryEntry | None:
    row = ChangeEntry.get_or_none(ChangeEntry.id == entry_id)
    return history_words.name_references([_entry(row)])[0] if row else None


def record_history(kind: str, record_id: int, limit: int = 200) -> list[HistoryEntry]:
    """One record's entries, newest first (by the index on kind, record id)."""
    q = (ChangeEntry.select().where(ChangeEntry.kind == kind, ChangeEntry.record_id == record_id)
         .order_by(ChangeEntry.id.desc()).limit(limit))
    return history_words.name_references([_entry(r) for r in q])


def parse_record(text: str) -> tuple[str, str] | None:
    """--record KIND:KEY (mailbox:NAME, user:EMAIL, queue:NAME, profile:NAME, settings); None if malformed."""
    kind, _, key = (text or "").partition(":")
    kind = kind.strip().lower()
    if kind == "settings":
        return kind, "Email Settings"
    if kind not in RECORD_KINDS or not key.strip():
        return None
    return kind, key.strip()

