"""The change history in an admin's words: references by name (an owner's email, a profile's name), what
an entry did as a phrase ("created mailbox 'Sales intake'", "rotated the encryption key"), and what
undoing it will do ("Delete the mailbox 'Sales intake', created by this entry?").

A page of entries names its references with one read per kind of record it refers to, never one per
entry. A record that no longer exists keeps its id: "#6 (deleted)"."""

from __future__ import annotations

from dataclasses import replace

from ..domain.options import MailboxKind
from ..i18n import N_, Said, joined, say
from .history import (
    ACTIVATE,
    APPLY_DEFAULTS,
    APPROVE,
    CREATE,
    DEACTIVATE,
    DELETE,
    IMPORT,
    REJECT,
    ROTATE_KEY,
    TEST,
    UNDO,
    UPDATE,
)
from .models import AppUser, EmailServerProfile, Mailbox, Queue

# (record kind, field) -> what the id refers to
_TARGETS = {("mailbox", "owner_id"): "user", ("queue", "owner_id"): "user", ("mailbox", "profile_id"): "profile",
            ("settings", "default_profile_id"): "profile", ("mailbox", "regarding_id"): "regarding"}
_NAME_OF = {"user": (AppUser, AppUser.email), "queue": (Queue, Queue.name),
            "profile": (EmailServerProfile, EmailServerProfile.name)}
# The phrases are made in English with say() (--json gives them so) and shown with said(); a record's
# name is a value, never translated. Each kind and action has a template of its own, so that a
# translation can put the words in its own order.
_KIND_WORDS = {"mailbox": N_("mailbox {name}"), "user": N_("user {name}"), "queue": N_("queue {name}"),
               "profile": N_("server profile {name}"), "import": N_("file {name}")}
_DONE = {CREATE: N_("created {what}"), UPDATE: N_("changed {what}"), DELETE: N_("deleted {what}"),
         APPROVE: N_("approved the email of {what}"), REJECT: N_("rejected the email of {what}"),
         ACTIVATE: N_("activated {what}"), DEACTIVATE: N_("deactivated {what}"),
         APPLY_DEFAULTS: N_("applied the default email settings to {what}"), TEST: N_("tested {what}"),
         UNDO: N_("undid a change to {what}")}


_ACTION_WORDS = {CREATE: N_("created"), UPDATE: N_("changed"), DELETE: N_("deleted"), APPROVE: N_("approved"),
                 REJECT: N_("rejected"), ACTIVATE: N_("activated"), DEACTIVATE: N_("deactivated"),
                 APPLY_DEFAULTS: N_("applied defaults"), TEST: N_("tested"), UNDO: N_("undid"),
                 IMPORT: N_("imported"), ROTATE_KEY: N_("rotated key")}


def action_word(action: str) -> str:
    """The action in a word or two, for a column: "created", "rotated key" (English: said() shows it)."""
    word = _ACTION_WORDS.get(action)
    return say(word) if word else action


def record_words(kind: str, key: str) -> str:
    """The record an entry is about: "mailbox 'Sales intake'", "Email Settings", "the encryption key"
    (English: said() shows it)."""
    if kind == "settings":
        return say("Email Settings")
    if kind == "key":
        return say("the encryption key")
    if kind in _KIND_WORDS:  # an import's entry is about its file
        return say(_KIND_WORDS[kind], name=_quoted(key))
    return f"{kind} {_quoted(key)}"


def _quoted(key: str) -> str:
    """A record's name in quotes, as stored: whoever shows it makes its control characters visible."""
    return f"'{key}'"


def phrase(e) -> str:
    """What the entry did, as a phrase."""
    if e.action == ROTATE_KEY:
        return say("rotated the encryption key")
    if e.action == IMPORT:
        return say("imported {name}", name=_quoted(e.record_key))
    if e.action == UNDO and e.kind == "import":
        return say("undid the import of {name}", name=_quoted(e.record_key))
    what = record_words(e.kind, e.record_key)
    return say(_DONE[e.action], what=what) if e.action in _DONE else f"{e.action} {what}"


def undo_question(e) -> str:
    """What undoing the entry will do, in the admin's terms, as a question."""
    what = record_words(e.kind, e.record_key)
    made = e.action == CREATE or (e.action == UNDO and e.changes and all(c.old == "" for c in e.changes))
    removed = e.action == DELETE or (e.action == UNDO and e.changes and all(c.new in ("", "cleared") for c in e.changes))
    if made:  # created, or brought back by an undo
        if e.action == CREATE:
            return say("Delete the {what}, created by this entry (#{id})?", what=what, id=e.id)
        return say("Delete the {what}, brought back by this entry (#{id})?", what=what, id=e.id)
    if removed:  # deleted, or taken away by an undo
        return say("Bring back the {what}, deleted by this entry (#{id}), with the values it had?", what=what, id=e.id)
    labels = [say(label) for label in dict.fromkeys(c.label for c in e.changes)]
    if not labels:
        return say("Put back on the {what} what entry #{id} changed?", what=what, id=e.id)
    return say("Put back on the {what} what entry #{id} changed ({labels})?", what=what, id=e.id,
               labels=listed(labels))


def commas(made: Said) -> Said:
    """A say_n() sentence with its number as English writes it (100,000); said() writes it the admin's way."""
    text = Said((made.template if made.count == 1 else made.plural).format(**made.values, n=f"{made.count:,}"))
    text.template, text.plural, text.count, text.values = made.template, made.plural, made.count, made.values
    return text


def listed(items: list, separator: str = ", "):
    """Sentences (or words) joined in English, each shown in the admin's words by said(): a Said whose
    template has no words of its own (so it is in no catalogue)."""
    return joined(items, separator)


def name_references(entries: list) -> list:
    """The entries with each reference (owner, profile, regarding) shown by name; the ids stay in
    Change.old_id/new_id. One read per kind of record referred to."""
    wanted: dict[str, set[int]] = {}
    regarding_of: dict[int, str] = {}
    for e in entries:
        for c in e.changes:
            target = _TARGETS.get((e.kind, c.field))
            if target == "regarding" and e.record_id is not None:
                regarding_of[e.record_id] = ""
            for ref in (c.old_id, c.new_id):
                if target and ref is not None:
                    wanted.setdefault(target, set()).add(ref)
    if not wanted:
        return entries
    if regarding_of:  # a mailbox's regarding record is its user's or its queue's: its kind says which
        ids = list(regarding_of)
        for start in range(0, len(ids), 500):
            for mid, kind in (Mailbox.select(Mailbox.id, Mailbox.kind).where(Mailbox.id.in_(ids[start:start + 500]))
                              .tuples()):
                regarding_of[mid] = {MailboxKind.USER: "user", MailboxKind.QUEUE: "queue"}.get(kind, "")
        for ref in wanted.pop("regarding", set()):
            wanted.setdefault("user", set()).add(ref)
            wanted.setdefault("queue", set()).add(ref)
    names = {target: _names(target, ids) for target, ids in wanted.items()}
    return [_named(e, names, regarding_of) for e in entries]


def _names(target: str, ids: set[int]) -> dict[int, str]:
    model, column = _NAME_OF[target]
    found: dict[int, str] = {}
    ordered = sorted(ids)
    for start in range(0, len(ordered), 500):
        found.update(model.select(model.id, column).where(model.id.in_(ordered[start:start + 500])).tuples())
    return found


def _named(e, names: dict[str, dict[int, str]], regarding_of: dict[int, str]):
    changes = []
    for c in e.changes:
        target = _TARGETS.get((e.kind, c.field))
        if target == "regarding":
            target = regarding_of.get(e.record_id or 0, "")
        if not target or (c.old_id is None and c.new_id is None):
            changes.append(c)
            continue
        known = names.get(target, {})
        changes.append(replace(c, old=_shown(c.old_id, known, c.old), new=_shown(c.new_id, known, c.new)))
    return replace(e, changes=tuple(changes))


def _shown(ref: int | None, known: dict[int, str], fallback: str) -> str:
    if ref is None:
        return fallback
    name = known.get(ref)
    return name if name else say("#{id} (deleted)", id=ref)
