"""Which mailboxes `mailbox-tui watch` tests now, and which watch holds each (issue 24 item 4).

A mailbox is due when it is active and its `next_processing` (Dynamics' postponemailboxprocessinguntil: its
retry's time, or its next poll while enabled; domain/lifecycle.py) has come. Finding the due ones is one range of
the (state, next_processing) index, in due order, never a scan.

A watch claims a batch of due mailboxes before testing them: it marks them with its host id, Processing
(Dynamics' hostid and processingstatecode) and the claim's time, in one statement. On PostgreSQL the rows are
picked `FOR UPDATE SKIP LOCKED`, so watches on several machines claim disjoint batches without waiting for each
other; a claimed row is not due for anyone else until its claim is older than the claim timeout (its watch
died). Recording a result releases the mailbox (services/test_results.py); what a watch did not record it
releases itself. On SQLite one watch runs per database (store/watch_lock.py), so claims left by a watch that
died can be released as soon as the next one starts.

Claim times are the claiming machine's real UTC clock (the watches' clocks must agree, as NTP keeps them); the
schedule (`now`) is the watch's clock, which tests move.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from ..domain.options import ProcessingState, RecordState
from .database import Store
from .models import Mailbox, utcnow
from .services.test_results import RELEASED

CLAIM_TIMEOUT_S = 900.0  # a claim older than this is a dead watch's: more than the longest probe (600 s, P9)
_CHUNK = 500


@dataclass(frozen=True, order=True)
class Claimed:
    mailbox_id: int
    retry: bool  # a retry was scheduled (else a poll of an enabled mailbox)


def _due(now: datetime, expired_before: datetime):
    m = Mailbox
    return ((m.state == RecordState.ACTIVE) & (m.next_processing <= now)
            & ((m.processing_state == ProcessingState.IDLE) | (m.claimed_on <= expired_before)))


def _expired_before(claim_timeout: float) -> datetime:
    return utcnow() - timedelta(seconds=claim_timeout)


def due_query(now: datetime, limit: int, claim_timeout: float = CLAIM_TIMEOUT_S):
    """The due mailboxes' ids, soonest first: one range of the (state, next_processing) index."""
    return (Mailbox.select(Mailbox.id).where(_due(now, _expired_before(claim_timeout)))
            .order_by(Mailbox.next_processing).limit(limit))


def due_ids(now: datetime, limit: int = 500, claim_timeout: float = CLAIM_TIMEOUT_S) -> list[int]:
    return [row[0] for row in due_query(now, limit, claim_timeout).tuples()]


def any_due(now: datetime, claim_timeout: float = CLAIM_TIMEOUT_S) -> bool:
    """Whether anything is due: what an idle watch asks once per tick."""
    return bool(due_ids(now, 1, claim_timeout))


def claim(store: Store, host_id: str, now: datetime, limit: int,
          claim_timeout: float = CLAIM_TIMEOUT_S) -> list[Claimed]:
    """Claim up to `limit` due mailboxes for `host_id`, soonest first, in one statement: the ones another watch
    is claiming at this moment are skipped (PostgreSQL: FOR UPDATE SKIP LOCKED), never waited for or shared."""
    claimed_at = utcnow()
    expired = claimed_at - timedelta(seconds=claim_timeout)
    due = _due(now, expired)
    pick = Mailbox.select(Mailbox.id).where(due).order_by(Mailbox.next_processing).limit(limit)
    if store.is_postgres:
        pick = pick.for_update("FOR UPDATE SKIP LOCKED")
    # Picked once, in a materialized CTE: as a plain `IN (subquery)` PostgreSQL may run the LIMIT … SKIP LOCKED
    # subquery again during the update and claim more than `limit`.
    picked = pick.cte("picked", columns=("id",), materialized=True)
    with store.transaction():
        rows = (Mailbox.update(host_id=host_id, processing_state=ProcessingState.PROCESSING, claimed_on=claimed_at)
                .with_cte(picked)
                .where(Mailbox.id.in_(picked.select(picked.c.id)), due)  # as the row is now: never claimed twice
                .returning(Mailbox.id, Mailbox.next_test_attempt).tuples().execute())
        return sorted(Claimed(row[0], row[1] is not None) for row in rows)


def release(store: Store, ids: Iterable[int], host_id: str) -> int:
    """Give back the mailboxes among `ids` that `host_id` still holds (what it did not record)."""
    ids, released = list(ids), 0
    with store.transaction():
        for start in range(0, len(ids), _CHUNK):
            released += (Mailbox.update(**RELEASED)
                         .where(Mailbox.id.in_(ids[start:start + _CHUNK]), Mailbox.host_id == host_id).execute())
    return released


def release_all(store: Store) -> int:
    """Every claim (SQLite, with the watch lock held: whoever made them is no longer running)."""
    with store.transaction():
        return Mailbox.update(**RELEASED).where(Mailbox.processing_state != ProcessingState.IDLE).execute()


def claims(host_id: str | None = None) -> list[tuple[int, str]]:
    """(mailbox id, host id) of the claimed mailboxes, all or one host's."""
    query = Mailbox.select(Mailbox.id, Mailbox.host_id).where(Mailbox.processing_state != ProcessingState.IDLE)
    if host_id is not None:
        query = query.where(Mailbox.host_id == host_id)
    return list(query.order_by(Mailbox.id).tuples())
