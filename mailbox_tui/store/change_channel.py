"""The PostgreSQL channel on which every write tells the other admins' apps (store/changes.py listens)."""

from __future__ import annotations

CHANNEL = "mailbox_tui_changes"


def notify(db) -> None:
    """In the writer's transaction: the listeners hear it once, and only if, the transaction commits
    (PostgreSQL sends one notification per transaction for any number of these)."""
    db.execute_sql(f"NOTIFY {CHANNEL}")
