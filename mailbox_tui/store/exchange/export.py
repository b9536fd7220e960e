"""Export in the exchange format: the whole database, streamed a page at a time."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

from ...i18n import say
from ...domain.fields import (
    BOOL,
    DATETIME,
    EMAIL,
    MAILBOX_FIELDS,
    OWN,
    PASSWORD,
    PIN,
    PROFILE_FIELDS,
    QUEUE_FIELDS,
    REF,
    TEXT,
    USER_FIELDS,
    Field,
)
from ...domain.options import ApprovalStatus, MailboxKind, TlsMode
from ..exchange_format import COLUMNS, SECTIONS, TLS_NAMES, csv_guard, regarding_text
from ..models import AppUser, EmailServerProfile, Mailbox, Queue
from ..safe_files import NotARegularFile, not_a_regular_file, replace_atomically
from .batches import chunks


def _keyed(model, *, where=None, size: int = 1000) -> Iterator:
    """Every row of a table in id order, a page at a time (never the whole table in memory)."""
    last = 0
    while True:
        q = model.select().where(model.id > last)
        if where is not None:
            q = q.where(where)
        page = list(q.order_by(model.id).limit(size))
        if not page:
            return
        yield from page
        last = page[-1].id


def _emails(ids: set[int]) -> dict[int, str]:
    out = {}
    for chunk in chunks(sorted(ids)):
        out.update({u.id: u.email for u in AppUser.select(AppUser.id, AppUser.email).where(AppUser.id.in_(chunk))})
    return out


def exported(f: Field, column: str, row):
    """The value export writes in `column` about declared field `f` of a stored row."""
    value = getattr(row, f.model_column)
    if f.type == PASSWORD:  # never the password: whether one is set
        return None if column == f.logical else value is not None
    if f.options is TlsMode:  # ssl/starttls/none, and Dynamics' usessl
        return TLS_NAMES[TlsMode(value)] if column == f.logical else value != TlsMode.NONE
    if f.type in (TEXT, EMAIL, PIN):
        return value or None
    if f.type == DATETIME:
        return value.isoformat() + "Z" if value else None
    if f.exchanged_as == BOOL:
        return bool(value)
    return value


def _simple_record(fields, row) -> dict:
    """The columns of every stored field that is not a reference (those name other records)."""
    return {column: exported(f, column, row) for f in fields if f.stored == OWN and f.type != REF
            for column in f.exchange_columns}


def profile_records() -> Iterator[dict]:
    for p in _keyed(EmailServerProfile):
        yield _simple_record(PROFILE_FIELDS, p)


def user_records() -> Iterator[dict]:
    for page in _pages(AppUser):
        boxes = {m.regarding_user_id: m for m in Mailbox.select(
            Mailbox.regarding_user, Mailbox.incoming, Mailbox.outgoing, Mailbox.approval)
            .where(Mailbox.regarding_user.in_([u.id for u in page]))}
        for u in page:
            m = boxes.get(u.id)
            yield {**_simple_record(USER_FIELDS, u),
                   "emailrouteraccessapproval": m.approval if m else ApprovalStatus.EMPTY,
                   "incomingemaildeliverymethod": m.incoming if m else None,
                   "outgoingemaildeliverymethod": m.outgoing if m else None}


def _pages(model, size: int = 1000) -> Iterator[list]:
    page = []
    for row in _keyed(model, size=size):
        page.append(row)
        if len(page) == size:
            yield page
            page = []
    if page:
        yield page


def queue_records() -> Iterator[dict]:
    for page in _pages(Queue):
        owners = _emails({q.owner_id for q in page})
        boxes = {m.regarding_queue_id: m for m in Mailbox.select(
            Mailbox.regarding_queue, Mailbox.incoming, Mailbox.outgoing, Mailbox.approval)
            .where(Mailbox.regarding_queue.in_([q.id for q in page]))}
        for q in page:
            m = boxes.get(q.id)
            own = _simple_record(QUEUE_FIELDS, q)
            yield {"name": own.pop("name"), "emailaddress": own.pop("emailaddress"), "owner": owners.get(q.owner_id),
                   "incomingemaildeliverymethod": m.incoming if m else 0,
                   "outgoingemaildeliverymethod": m.outgoing if m else 0,
                   "emailrouteraccessapproval": m.approval if m else 0, **own}


def mailbox_records() -> Iterator[dict]:
    profiles = {p.id: p.name for p in EmailServerProfile.select(EmailServerProfile.id, EmailServerProfile.name)}
    for page in _pages(Mailbox):
        users = _emails({m.owner_id for m in page} | {m.regarding_user_id for m in page if m.regarding_user_id})
        queue_ids = [m.regarding_queue_id for m in page if m.regarding_queue_id]
        queues = {q.id: q.name for q in Queue.select(Queue.id, Queue.name).where(Queue.id.in_(queue_ids))} \
            if queue_ids else {}
        for m in page:
            regarding = ({"user": users.get(m.regarding_user_id)} if m.regarding_user_id else
                         {"queue": queues.get(m.regarding_queue_id)} if m.regarding_queue_id else None)
            record = _simple_record(MAILBOX_FIELDS, m)
            record.update({"isforwardmailbox": m.kind == MailboxKind.FORWARD, "owner": users.get(m.owner_id),
                           "regarding": regarding, "emailserverprofile": profiles.get(m.profile_id)})
            yield record


RECORDS = {"profiles": profile_records, "users": user_records, "queues": queue_records, "mailboxes": mailbox_records}


def export_json(out: TextIO) -> dict[str, int]:
    """Write the whole document, streaming row by row. Returns counts per section."""
    counts = {}
    out.write("{")
    for s_index, section in enumerate(SECTIONS):
        out.write(("," if s_index else "") + f"\n  {json.dumps(section)}: [")
        n = 0
        for record in RECORDS[section]():
            out.write(("," if n else "") + "\n    " + json.dumps(record, ensure_ascii=False))
            n += 1
        out.write("\n  ]" if n else "]")
        counts[section] = n
    out.write("\n}\n")
    return counts


def export_csv(folder: Path) -> dict[str, int]:
    """One <section>.csv per record kind, with the same columns as the JSON."""
    folder.mkdir(parents=True, exist_ok=True)
    for section in SECTIONS:  # every file checked before any is written: none or all are replaced
        what = not_a_regular_file(folder / f"{section}.csv")
        if what:
            raise NotARegularFile(say("{path} is {kind}, not a regular file: nothing was written. Exports write only "
                                      "regular files: move it away, or export into another folder.",
                                      path=str(folder / f"{section}.csv"), kind=what))
    counts = {}
    for section in SECTIONS:
        with replace_atomically(folder / f"{section}.csv", newline="") as fh:  # never through a planted link
            writer = csv.DictWriter(fh, fieldnames=COLUMNS[section], extrasaction="ignore")
            writer.writeheader()
            n = 0
            for record in RECORDS[section]():
                if section == "mailboxes":
                    record["regarding"] = regarding_text(record["regarding"])
                writer.writerow({k: _csv_value(v) for k, v in record.items()})
                n += 1
            counts[section] = n
    return counts


def _csv_value(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return csv_guard(value)  # no cell a spreadsheet would run as a formula
    return "" if value is None else value

