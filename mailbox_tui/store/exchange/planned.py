"""The mailboxes an import plans, kept in a temporary file rather than in memory.

A planned mailbox is its draft as the row that planned it left it (a user's new mailbox, a
stored one, a forward mailbox), then the edits of each later row that names it, in order. Each
is one record in an unlinked temporary file (marshal, fast and plain; a typed password is sealed
with AES-GCM under a key that lives only in this process's memory, so no password is ever on
disk in clear, not even in a deleted file's blocks); what stays in memory is
a few numbers per mailbox (arrays), so an import of a million rows holds megabytes, not
gigabytes. `get(p)` builds planned mailbox p again as it stands, exactly as the plan built it
in memory before (the same drafts, edits, and the row each field's value came from).
"""

from __future__ import annotations

import marshal
import os
import tempfile
from array import array
from collections.abc import Iterator, Mapping
from dataclasses import fields
from datetime import datetime
from itertools import count
from operator import attrgetter

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ...domain.options import MailboxKind
from ...domain.records import MailboxDraft, PasswordEdit, UserDraft
from .keys import KeyIndex
from .plan_types import PlannedMailbox
from .rows import apply_in_place

SECTION_CODES = ("profiles", "users", "queues", "mailboxes")
_NAMES = tuple(f.name for f in fields(MailboxDraft))
_VALUES = attrgetter(*_NAMES)
_PLAIN = frozenset({str, int, bool, float, type(None)})
_PASSWORD = _NAMES.index("password")
_KIND = _NAMES.index("kind")
_TIMES = tuple(i for i, f in enumerate(fields(MailboxDraft)) if "datetime" in str(f.type))
_KINDS = MailboxKind._value2member_map_
_SEAL = AESGCM(AESGCM.generate_key(bit_length=128))  # this process's only: a spill outlives nothing
_NONCES = count()


def seal(text: str | None) -> bytes | None:
    if text is None:
        return None
    nonce = next(_NONCES).to_bytes(12, "little")
    return nonce + _SEAL.encrypt(nonce, text.encode("utf-8", "surrogatepass"), None)


def unseal(data: bytes | None) -> str | None:
    if data is None:
        return None
    return _SEAL.decrypt(data[:12], data[12:], None).decode("utf-8", "surrogatepass")


def _plain(value):
    """A value marshal keeps: an option's code as its int (IntEnum prints and compares as its int;
    only a draft's kind is asked for its label, and comes back a MailboxKind), a time as ISO text,
    a password edit as a tuple. Nothing else is ever in a draft or an edit."""
    if isinstance(value, int):
        return int(value)
    if isinstance(value, datetime):
        return ("d", value.isoformat())
    if isinstance(value, PasswordEdit):
        return (value.stored, seal(value.new), value.clear, value.readable)
    raise TypeError(f"a planned mailbox holds a {type(value).__name__}")  # a new field type: say so


def encode_draft(d: MailboxDraft) -> list:
    return [v if type(v) in _PLAIN else _plain(v) for v in _VALUES(d)]


def decode_draft(values: list) -> MailboxDraft:
    stored, new, clear, readable = values[_PASSWORD]
    values[_PASSWORD] = PasswordEdit(stored, unseal(new), clear, readable)
    values[_KIND] = _KINDS[values[_KIND]]
    for i in _TIMES:
        if values[i] is not None:
            values[i] = datetime.fromisoformat(values[i][1])
    d = object.__new__(MailboxDraft)
    d.__dict__.update(zip(_NAMES, values))
    return d


def _sealed(edits: dict) -> dict:
    return {**edits, "password": seal(edits["password"])} if "password" in edits else edits


def _plain_edits(edits: dict) -> dict:
    """Edits that marshal refused (it takes only its own plain types): a time, an option's IntEnum."""
    return {k: v if type(v) in _PLAIN or type(v) is bytes else _plain(v) for k, v in edits.items()}


def _decode_edits(edits: dict) -> dict:
    if "password" in edits:
        edits["password"] = unseal(edits["password"])
    for v in edits.values():
        if type(v) is tuple:
            return {k: datetime.fromisoformat(v[1]) if type(v) is tuple else v for k, v in edits.items()}
    return edits


class Spill:
    """Records appended to an unlinked temporary file, read back by (offset, length). Reads go
    through a few blocks of the file kept in memory: a plan is read back mostly in the order it
    was written (a stream of rows of one section, another of the next), a block serves hundreds."""

    BLOCK = 1 << 20
    BLOCKS = 4

    def __init__(self):
        self.fh = tempfile.TemporaryFile(prefix="mailbox-tui-import-")
        self.size = 0
        self.dirty = False
        self._blocks: dict[int, bytes] = {}  # block start -> its bytes, least recently read first

    def put(self, record) -> tuple[int, int]:
        data = marshal.dumps(record)
        self.fh.write(data)
        offset = self.size
        self.size += len(data)
        self.dirty = True
        return offset, len(data)

    def get(self, offset: int, length: int):
        start = offset - offset % self.BLOCK
        block = self._blocks.get(start)
        if block is None or offset + length > start + len(block):
            if self.dirty:
                self.fh.flush()
                self.dirty = False
            if length > self.BLOCK // 2:  # a record of a big row: read alone
                return marshal.loads(os.pread(self.fh.fileno(), length, offset))
            block = os.pread(self.fh.fileno(), 2 * self.BLOCK, start)
            if len(self._blocks) >= self.BLOCKS:
                del self._blocks[next(iter(self._blocks))]
        else:
            del self._blocks[start]
        self._blocks[start] = block
        return marshal.loads(block[offset - start:offset - start + length])

    def close(self) -> None:
        self.fh.close()


class PlannedMailboxes:
    """Planned mailboxes 0, 1, 2… in the order the plan made them."""

    def __init__(self, new_user_box=None):
        self.spill = Spill()
        self.new_user_box = new_user_box  # (p, user) -> the new mailbox of the user planned with p
        # Offsets in 8 bytes; lengths and edit numbers in 4 (a record is a row of at most a few MiB).
        self._base = array("q")  # per mailbox: its record's offset, length
        self._base_len = array("i")
        self._head = array("i")  # its first and last later edit, or -1
        self._tail = array("i")
        self.existing = bytearray()
        self._edit = array("q")  # per edit: its record's offset, length, the next edit of its mailbox
        self._edit_len = array("i")
        self._next = array("i")
        self._row: array | None = None  # per mailbox: its row to insert (kept_row), or -1
        self._row_len: array | None = None
        self.row_columns: tuple[str, ...] = ()

    def __len__(self) -> int:
        return len(self.existing)

    def add(self, section: str, row: int, draft: MailboxDraft | None, edits: dict, existing: bool,
            user: UserDraft | None = None, key: str = "") -> int:
        """A planned mailbox as its row leaves it; its number. A users row's mailbox keeps its user's
        draft and key too (`user`, `key`); a new user's mailbox is made again from it (`draft` None:
        new_user_box makes it, then `edits`)."""
        entry = None if user is None else (user.full_name, user.email, int(user.state), user.id, user.version, key)
        record = [SECTION_CODES.index(section), row, None if draft is None else encode_draft(draft), _sealed(edits),
                  entry]
        try:
            offset, length = self.spill.put(tuple(record))
        except ValueError:  # marshal refuses anything but its plain types: then convert (rare, and costs more)
            record[3] = _plain_edits(record[3])
            offset, length = self.spill.put(tuple(record))
        self._base.append(offset)
        self._base_len.append(length)
        self._head.append(-1)
        self._tail.append(-1)
        self.existing.append(existing)
        return len(self.existing) - 1

    def edit(self, p: int, section: str, row: int, edits: dict) -> None:
        """A later row sets `edits` on planned mailbox p."""
        code, edits = SECTION_CODES.index(section), _sealed(edits)
        try:
            offset, length = self.spill.put((code, row, edits))
        except ValueError:  # see add
            offset, length = self.spill.put((code, row, _plain_edits(edits)))
        e, tail = len(self._edit), self._tail
        self._edit.append(offset)
        self._edit_len.append(length)
        self._next.append(-1)
        if tail[p] < 0:
            self._head[p] = e
        else:
            self._next[tail[p]] = e
        tail[p] = e

    def get(self, p: int) -> PlannedMailbox:
        """Planned mailbox p as it stands: a new object each time (changing it changes no plan)."""
        section, row, draft, edits, user = self.spill.get(self._base[p], self._base_len[p])
        edits = _decode_edits(edits)
        draft = apply_in_place(self.new_user_box(p, user), edits) if draft is None else decode_draft(draft)
        planned = PlannedMailbox(SECTION_CODES[section], row, draft, dict(edits), bool(self.existing[p]))
        e = self._head[p]
        while e >= 0:
            section, row, edits = self.spill.get(self._edit[e], self._edit_len[e])
            edits = _decode_edits(edits)
            planned.hand_over(SECTION_CODES[section], row, edits)
            planned.edits.update(edits)
            apply_in_place(planned.draft, edits)
            e = self._next[e]
        return planned

    def draft(self, p: int) -> MailboxDraft:
        """Planned mailbox p's draft as it stands (what `get(p).draft` is, without the rest)."""
        _, _, draft, edits, user = self.spill.get(self._base[p], self._base_len[p])
        edits = _decode_edits(edits)
        draft = apply_in_place(self.new_user_box(p, user), edits) if draft is None else decode_draft(draft)
        e = self._head[p]
        while e >= 0:
            apply_in_place(draft, _decode_edits(self.spill.get(self._edit[e], self._edit_len[e])[2]))
            e = self._next[e]
        return draft

    def user(self, p: int) -> UserDraft:
        """The user's draft, as its row left it, of a users row's mailbox p."""
        return UserDraft(*self.spill.get(self._base[p], self._base_len[p])[4][:5])

    def user_key(self, p: int) -> str:
        """The natural key of the user of a users row's mailbox p."""
        return self.spill.get(self._base[p], self._base_len[p])[4][5]

    def keep_row(self, p: int, columns: dict) -> None:
        """Planned mailbox p's row to insert, as the judging pass built it (its ids may still be
        placeholders; its password encrypted by the store's key, never in clear)."""
        if self._row is None:
            self._row, self._row_len = array("q", [-1]) * len(self), array("i", [0]) * len(self)
            self.row_columns = tuple(columns)
        assert len(columns) == len(self.row_columns)
        self._row[p], self._row_len[p] = self.spill.put(tuple(columns.values()))

    def kept_row(self, p: int) -> dict | None:
        """The row keep_row kept for p (a new dict), or None."""
        if self._row is None or self._row[p] < 0:
            return None
        return dict(zip(self.row_columns, self.spill.get(self._row[p], self._row_len[p])))

    def edited(self, p: int) -> bool:
        return self._head[p] >= 0

    def all(self, start: int = 0) -> Iterator[tuple[int, PlannedMailbox]]:
        for p in range(start, len(self)):
            yield p, self.get(p)

    def close(self) -> None:
        self.spill.close()


# A user the file creates has a placeholder id until it is written: below -2**40 (profiles and
# queues count down from -2), so the number of its planned mailbox is in it and no table maps them.
USER_PLACEHOLDERS = 1 << 40


def user_placeholder(p: int) -> int:
    return -(USER_PLACEHOLDERS + p)


def placeholder_number(uid: int) -> int | None:
    """The planned mailbox number in a user placeholder; None for any other id."""
    return -uid - USER_PLACEHOLDERS if uid <= -USER_PLACEHOLDERS else None


class PlannedUsers:
    """email_key -> the number of the user's planned mailbox (users rows plan mailboxes 0, 1, 2…
    first, in row order). In memory only fingerprints of the key (keys.py) and the user's id; the
    key itself and the user's draft, as the row left it, are kept with its mailbox's record."""

    def __init__(self, planned: PlannedMailboxes):
        self.planned = planned
        self._index = KeyIndex()
        self._uid = array("q")

    def add(self, key: str, p: int, uid: int) -> None:
        assert p == len(self._uid), "a user's mailbox is planned before any other"
        self._index[key] = p
        self._uid.append(uid)

    def __len__(self) -> int:
        return len(self._uid)

    def __contains__(self, key: str) -> bool:
        return self._index.get(key) is not None

    def __getitem__(self, key: str) -> int:
        return self._index[key]

    def get(self, key: str, default=None):
        return self._index.get(key, default)

    def values(self) -> range:
        return range(len(self._uid))

    def __iter__(self) -> Iterator[str]:
        """The keys, read back from the temporary file (for tests and small plans)."""
        for p in self.values():
            yield self.planned.user_key(p)

    def uid(self, p: int) -> int:
        """The user's id, or its placeholder."""
        return self._uid[p]

    def entry(self, p: int) -> tuple[UserDraft, bool]:
        """The user's draft as its row left it, and whether the user exists."""
        return self.planned.user(p), self._uid[p] > 0


class PlanView(Mapping):
    """A plan's mailboxes by key, in the order it planned them, each built again when asked for."""

    def __init__(self, plan):
        self.plan = plan

    def __getitem__(self, key: tuple) -> PlannedMailbox:
        p = self.plan.plan_of(key)
        if p is None:
            raise KeyError(key)
        return self.plan.planned.get(p)

    def __iter__(self) -> Iterator[tuple]:
        for key in self.plan.users:
            yield ("user", key)
        yield from self.plan.plans

    def __len__(self) -> int:
        return len(self.plan.planned)
