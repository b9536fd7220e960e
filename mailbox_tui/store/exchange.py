"""Import and export in the exchange format. Import is all-or-nothing: every row is judged by
the domain rules first, and nothing is written unless there are no errors."""

from __future__ import annotations

import csv
import json
import logging
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import peewee

from ..domain.context import EmailUse, MailboxContext, ProfileContext, ProfileFacts, UserContext
from ..domain.effects import mailbox_changes, new_queue_mailbox, new_user_mailbox
from ..domain.findings import Finding, RuleViolation, Severity
from ..domain.options import ApprovalStatus, MailboxKind, RecordState, TlsMode
from ..domain.records import MailboxDraft, PasswordEdit, changed_fields, ProfileDraft, QueueDraft, UserDraft
from ..domain.rules import check_mailbox, check_profile, check_queue, check_user, normalise_profile
from ..domain.text import email_key, normalise_email
from . import services
from .convert import mailbox_columns, mailbox_draft, name_key, profile_draft, user_columns
from .database import ConflictError, Store, StoreError
from .exchange_format import (
    COLUMNS,
    FIELD_OF,
    SECTIONS,
    TLS_NAMES,
    FormatProblem,
    ImportFinding,
    as_bool,
    as_int,
    as_key,
    as_text,
    csv_guard,
    csv_unguard,
    regarding_ref,
    regarding_text,
    shown,
    tls_mode,
)
from .models import AppUser, EmailServerProfile, Mailbox, Queue, bulk_insert, reserve_ids
from .safe_files import replace_atomically

log = logging.getLogger(__name__)
CHUNK = 500


class ImportFileError(StoreError):
    """The file cannot be read as an exchange document."""


# ---------------------------------------------------------------- reading files


def read_document(path: Path) -> dict[str, list[dict]]:
    """A JSON document, a folder of <section>.csv files, or one <section>.csv file.

    Anything that is not a well-formed exchange document raises ImportFileError with one
    sentence that says why; nothing else escapes."""
    path = Path(path)
    if not path.exists():
        raise ImportFileError(f"{path} does not exist.")
    if path.is_dir():
        doc = {s: _read_csv(path / f"{s}.csv") for s in SECTIONS if (path / f"{s}.csv").exists()}
        if not doc:
            raise ImportFileError(f"{path} holds none of {', '.join(s + '.csv' for s in SECTIONS)}.")
        return doc
    if path.suffix.lower() == ".csv":
        if path.stem not in SECTIONS:
            raise ImportFileError(f"A CSV file is named after its section: {', '.join(s + '.csv' for s in SECTIONS)}.")
        return {path.stem: _read_csv(path)}
    return parse_json_document(path.read_bytes(), str(path))


class _NumberProblem(ValueError):
    pass


def _json_int(text: str) -> int:
    digits = len(text.lstrip("-"))
    if digits > 100:  # anything longer is no code, port or count (a row's field says which when shorter)
        raise _NumberProblem(f"a number with {digits} digits is far too large for any field")
    return int(text)


def _json_float(text: str) -> float:
    if len(text) > 400:
        raise _NumberProblem(f"a number of {len(text)} characters is far too long for any field")
    value = float(text)
    if not math.isfinite(value):
        raise _NumberProblem(f"the number {shown(text, 24)} is too large for any field")
    return value


def _json_constant(text: str):
    raise _NumberProblem(f"{text} is not a number the exchange format accepts")


def parse_json_document(data: bytes, where: str = "The document") -> dict[str, list[dict]]:
    """The exchange document in `data`, checked for shape: sections of lists of objects."""
    try:
        text = data.decode("utf-8-sig")  # a byte-order mark is allowed
    except UnicodeDecodeError as exc:
        raise ImportFileError(f"{where} is not UTF-8 text (invalid byte at position {exc.start}).") from None
    try:
        doc = json.loads(text, parse_int=_json_int, parse_float=_json_float, parse_constant=_json_constant)
    except json.JSONDecodeError as exc:
        raise ImportFileError(f"{where} is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno}).") \
            from None
    except _NumberProblem as exc:
        raise ImportFileError(f"{where}: {exc}.") from None
    except RecursionError:
        raise ImportFileError(f"{where} is nested too deeply to be an exchange document.") from None
    return check_document_shape(doc)


def check_document_shape(doc) -> dict[str, list[dict]]:
    """`doc` itself when it is an exchange document's shape: sections, each a list of objects."""
    if not isinstance(doc, dict):
        raise ImportFileError("The document must be a JSON object with profiles, users, queues and mailboxes.")
    unknown = [str(k) for k in doc if k not in SECTIONS]
    if unknown:
        names = ", ".join(shown(k, 30) for k in sorted(unknown)[:5])
        raise ImportFileError(f"Unknown section(s): {names}. Expected {', '.join(SECTIONS)}.")
    for section, rows in doc.items():
        if rows is None:
            continue
        if not isinstance(rows, list):
            raise ImportFileError(f"Section {section!r} must be a list of objects, not {shown(rows)}.")
        for index, row in enumerate(rows, 1):
            if not isinstance(row, dict):
                raise ImportFileError(f"{section}[{index}] must be an object, not {shown(row)}.")
    return doc


def _read_csv(path: Path) -> list[dict]:
    """Rows of one CSV file: UTF-8 (a byte-order mark is allowed), a header row, formula guards removed."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            rows = list(csv.DictReader(fh))
    except UnicodeDecodeError:
        raise ImportFileError(f"{path} is not UTF-8 text.") from None
    except csv.Error as exc:
        if "field larger than field limit" in str(exc):
            raise ImportFileError(f"{path}: a value is longer than {csv.field_size_limit()} characters.") from None
        raise ImportFileError(f"{path} is not a readable CSV file: {exc}.") from None
    for number, row in enumerate(rows, 1):
        if None in row:
            raise ImportFileError(f"{path}: row {number} has more values than there are columns.")
        for key, value in row.items():
            if value == "":
                row[key] = None
            elif value is not None:
                row[key] = csv_unguard(value)
    return rows


# ---------------------------------------------------------------- the plan


@dataclass
class _MailboxPlan:
    section: str
    row: int
    draft: MailboxDraft  # as it will be after the import (ids may be placeholders < 0)
    edits: dict = field(default_factory=dict)  # fields the file sets, for an existing mailbox
    existing: bool = False
    password: PasswordEdit | None = None
    # Where a finding on a field is reported: the row that set it. Only fields an earlier row set
    # are kept here (most plans have one row; a dict per plan costs at 100,000 rows).
    origins: dict | None = None

    def hand_over(self, section: str, row: int, edits: dict) -> None:
        """A later row edits this mailbox: what the earlier row set stays that row's."""
        earlier = [attr for attr in self.edits if attr not in edits]
        if earlier:
            if self.origins is None:
                self.origins = {}
            for attr in earlier:
                self.origins.setdefault(attr, (self.section, self.row))
        self.section, self.row = section, row

    def origin(self, attr: str) -> tuple[str, int]:
        return self.origins.get(attr, (self.section, self.row)) if self.origins else (self.section, self.row)


@dataclass
class ImportReport:
    findings: list[ImportFinding] = field(default_factory=list)
    created: dict[str, int] = field(default_factory=lambda: {s: 0 for s in SECTIONS})
    updated: dict[str, int] = field(default_factory=lambda: {s: 0 for s in SECTIONS})
    written: bool = False

    @property
    def errors(self) -> list[ImportFinding]:
        return [f for f in self.findings if f.is_error]

    def as_dict(self) -> dict:
        return {"written": self.written, "created": self.created, "updated": self.updated,
                "errors": len(self.errors), "warnings": len(self.findings) - len(self.errors),
                "findings": [f.as_dict() for f in self.findings]}


class _Importer:
    def __init__(self, store: Store, doc: dict[str, list[dict]]):
        self.store = store
        self.doc = {s: doc.get(s) or [] for s in SECTIONS}
        self.report = ImportReport()
        self.org = services.org_settings(store)
        self._next_placeholder = -1
        self.profiles: dict[str, tuple[int, ProfileDraft, bool]] = {}  # name_key -> (row, draft, existing)
        self.profile_facts: dict[int, ProfileFacts] = {}
        self.users: dict[str, tuple[int, UserDraft, bool, dict]] = {}  # email_key -> (row, draft, existing, extras)
        self.queues: dict[str, tuple[int, QueueDraft, bool]] = {}
        self.mailboxes: dict[tuple, _MailboxPlan] = {}  # ("user", key) / ("queue", key) / ("forward", key)
        self._profile_ids_by_key: dict[str, int] = {}
        # Natural keys of rows that were judged and refused, so rows that name them say so.
        self._failed_users: set[str] = set()
        self._failed_queues: set[str] = set()
        self._seen_queues: set[str] = set()
        self._seen_forward: set[tuple] = set()

    # -- helpers
    def placeholder(self) -> int:
        self._next_placeholder -= 1
        return self._next_placeholder

    def add(self, section: str, row: int, finding: Finding) -> None:
        self.report.findings.append(ImportFinding(section, row, finding.rule, finding.field, finding.severity,
                                                  finding.message))

    def error(self, section: str, row: int, rule: str, fld: str, message: str) -> None:
        self.add(section, row, Finding(rule, fld, Severity.ERROR, message))

    def _unknown_columns(self, section: str, row_no: int, row: dict) -> None:
        known = _KNOWN_COLUMNS[section]
        if all(k in known for k in row):
            return
        unknown = sorted(str(k) for k in row if k not in known)
        if unknown:
            names = ", ".join(k if len(k) <= 30 else k[:29] + "…" for k in unknown[:5])
            more = f" and {len(unknown) - 5} more" if len(unknown) > 5 else ""
            self.add(section, row_no, Finding("FORMAT", unknown[0][:64], Severity.WARNING,
                                              f"Ignored unknown field(s): {names}{more}."))

    def report_row(self, section: str, i: int, values: _Values, explicit: list[Finding],
                   judged: list[Finding], only: set[str] | None = None) -> bool:
        """Report every finding of one row: its format problems, what the importer found (a
        duplicate, an unknown reference), and the rules' findings, without saying twice what
        is wrong with one field. Returns whether the row has an error."""
        if not values.problems and not explicit and only is None:  # the common case
            for f in judged:
                self.add(section, i, f)
            return any(f.is_error for f in judged)
        covered = {FIELD_OF.get(p.field, p.field) for p in values.problems}
        said = {(f.rule, f.field) for f in explicit}
        has_error = bool(values.problems)
        for problem in values.problems:
            self.error(section, i, "FORMAT", problem.field, str(problem))
        for f in explicit:
            self.add(section, i, f)
            has_error = has_error or f.is_error
        for f in judged:
            if f.field in covered or (f.rule, f.field) in said or (only is not None and f.field not in only):
                continue
            self.add(section, i, f)
            has_error = has_error or f.is_error
        return has_error

    # -- phase 1: judge every row
    def plan(self) -> None:
        self._plan_profiles()
        self._plan_users()
        self._plan_queues()
        self._plan_mailbox_rows()
        self._check_mailboxes()

    def _plan_profiles(self) -> None:
        rows = self.doc["profiles"]
        keys = [name_key(r["name"]) if isinstance(r.get("name"), str) else "" for r in rows]
        existing = {}
        for chunk in _chunks(sorted({k for k in keys if k})):
            for p in EmailServerProfile.select().where(EmailServerProfile.name_key.in_(chunk)):
                existing[p.name_key] = p
        for i, row in enumerate(rows, 1):
            self._unknown_columns("profiles", i, row)
            key = keys[i - 1]
            duplicate = bool(key) and key in self.profiles
            old = existing.get(key) if key and not duplicate else None
            base = profile_draft(old, self.store.key_ok) if old else ProfileDraft()
            values = _Values(row)
            draft = normalise_profile(_profile_from_row(values, base))
            explicit = [Finding("P1", "name", Severity.ERROR, f"Profile {shown(row.get('name'))} appears twice "
                                                              "in this file.")] if duplicate else []
            self.report_row("profiles", i, values, explicit, check_profile(draft, ProfileContext(name_taken=False)))
            if duplicate or not key:
                continue
            # Planned even with errors (nothing is written then): rows that name it are judged against it.
            pid = old.id if old else self.placeholder()
            draft.id = old.id if old else None
            self.profiles[key] = (i, draft, old is not None)
            self.profile_facts[pid] = ProfileFacts(pid, draft.name, draft.server_type, draft.auth_method,
                                                   draft.state == RecordState.ACTIVE)
            self._profile_ids_by_key[key] = pid

    def profile_id(self, name: str | None) -> int | None | bool:
        """The id (or placeholder) of a profile named in the file or the database; False if unknown."""
        if name is None or not name.strip():
            return None
        key = name_key(name)
        if key in self._profile_ids_by_key:
            return self._profile_ids_by_key[key]
        p = EmailServerProfile.get_or_none(EmailServerProfile.name_key == key)
        if p is None:
            return False
        self._profile_ids_by_key[key] = p.id
        self.profile_facts[p.id] = ProfileFacts(p.id, p.name, p.server_type, p.auth_method,
                                                p.state == RecordState.ACTIVE)
        return p.id

    def _plan_users(self) -> None:
        rows = self.doc["users"]
        keys = [_user_key(r.get("internalemailaddress")) for r in rows]
        existing = self._existing_users(keys)
        existing_boxes = {}
        ids = [u.id for u in existing.values()]
        for chunk in _chunks(ids):
            for m in Mailbox.select().where(Mailbox.regarding_user.in_(chunk)):
                existing_boxes[m.regarding_user_id] = m
        for i, row in enumerate(rows, 1):
            self._unknown_columns("users", i, row)
            key = keys[i - 1]
            duplicate = bool(key) and (key in self.users or key in self._failed_users)
            old = existing.get(key) if key else None
            values = _Values(row)
            draft = UserDraft(
                full_name=values.get(as_text, "fullname", old.full_name if old else "") or "",
                email=values.get(as_text, "internalemailaddress", "") or "",
                state=RecordState.INACTIVE if values.get(as_bool, "isdisabled", bool(old and old.state)) else 0,
                id=old.id if old else None, version=old.version if old else 0,
            )
            edits = _mailbox_method_edits(values)
            email_text = shown(row.get("internalemailaddress"), 60, False)
            explicit = [Finding("U1", "email", Severity.ERROR, f"{email_text} appears twice in this file.")] \
                if duplicate else []
            if self.report_row("users", i, values, explicit, check_user(draft, UserContext(email_taken=False))) \
                    or duplicate:
                if key and not duplicate:
                    self._failed_users.add(key)
                self._judge_mailbox_values("users", i, MailboxKind.USER, edits)
                continue
            uid = old.id if old else self.placeholder()
            self.users[key] = (i, draft, old is not None, {"id": uid})
            if old and old.id in existing_boxes:
                base = mailbox_draft(existing_boxes[old.id], self.store.key_ok)
                self.mailboxes[("user", key)] = _MailboxPlan("users", i, _apply_in_place(base, edits), dict(edits), True)
            else:
                user = UserDraft(draft.full_name, draft.email, draft.state, uid)
                box = new_user_mailbox(user, self.org)
                self.mailboxes[("user", key)] = _MailboxPlan("users", i, _apply_in_place(box, edits), dict(edits), False)

    def _existing_users(self, keys: list[str]) -> dict[str, AppUser]:
        found = [row[0] for row in _where_in(AppUser, "email_key", sorted({k for k in keys if k}), ["id"])]
        out = {}
        for chunk in _chunks(found):
            for u in AppUser.select().where(AppUser.id.in_(chunk)):
                out[u.email_key] = u
        return out

    def user_id(self, email: str | None) -> int | None | bool:
        if email is None or not email.strip():
            return None
        key = _user_key(email)
        if key in self.users:
            return self.users[key][3]["id"]
        u = AppUser.get_or_none(AppUser.email_key == key)
        return u.id if u else False

    def _unknown_user(self, rule: str, fld: str, what: str, email: str) -> Finding:
        if _user_key(email) in self._failed_users:
            return Finding(rule, fld, Severity.ERROR, f"{what} {shown(email, 60, False)} is a user whose row in "
                                                      "this file has errors.")
        return Finding(rule, fld, Severity.ERROR, f"{what} {shown(email, 60, False)} is not a user here or in "
                                                  "this file.")

    def _plan_queues(self) -> None:
        for i, row in enumerate(self.doc["queues"], 1):
            self._unknown_columns("queues", i, row)
            key = name_key(row["name"]) if isinstance(row.get("name"), str) else ""
            duplicate = bool(key) and key in self._seen_queues
            self._seen_queues.add(key)
            old = Queue.get_or_none(Queue.name_key == key) if key and not duplicate else None
            values = _Values(row)
            explicit = [Finding("Q1", "name", Severity.ERROR, f"Queue {shown(row.get('name'))} appears twice "
                                                              "in this file.")] if duplicate else []
            owner = old.owner_id if old else None
            if "owner" in row:
                owner_email = values.get(_key_column, "owner")
                owner = None if values.bad("owner") else self.user_id(owner_email)
                if owner is False:
                    explicit.append(self._unknown_user("Q1", "owner_id", "Owner", owner_email))
                    owner = 0  # no such id: the rules judge the rest of the row
            oldbox = services.queue_mailbox(old.id) if old else None
            edits = _mailbox_method_edits(values)
            draft = QueueDraft(
                name=values.get(as_text, "name", "") or "",
                email=values.get(as_text, "emailaddress", old.email if old else "") or "",
                owner_id=owner,
                incoming=edits.get("incoming", oldbox.incoming if oldbox else 0),
                outgoing=edits.get("outgoing", oldbox.outgoing if oldbox else 0),
                state=values.get(as_int, "statecode", old.state if old else 0),
                id=old.id if old else None, version=old.version if old else 0,
            )
            ctx = services.queue_context(draft)
            if owner is not None and owner < 0:  # a user this file creates
                ctx.owner_exists = True
            if self.report_row("queues", i, values, explicit, check_queue(draft, ctx)) or duplicate:
                if key and not duplicate:
                    self._failed_queues.add(key)
                self._judge_mailbox_values("queues", i, MailboxKind.QUEUE, {"approval": edits.get("approval", 0)})
                continue
            qid = old.id if old else self.placeholder()
            self.queues[key] = (i, draft, old is not None)
            edits.update({"owner_id": owner, "email": draft.email})
            if oldbox:
                base = mailbox_draft(oldbox, self.store.key_ok)
                self.mailboxes[("queue", key)] = _MailboxPlan("queues", i, _apply_in_place(base, edits), edits, True)
            else:
                box = new_queue_mailbox(QueueDraft(draft.name, draft.email, owner, draft.incoming, draft.outgoing,
                                                   draft.state, qid), self.org)
                self.mailboxes[("queue", key)] = _MailboxPlan("queues", i, _apply_in_place(box, edits), edits, False)

    def _judge_mailbox_values(self, section: str, i: int, kind: MailboxKind, edits: dict) -> None:
        """The mailbox values (methods, approval) of a user or queue row that has errors of its own."""
        draft = _apply(MailboxDraft(kind=kind), edits)
        for f in check_mailbox(draft, MailboxContext()):
            if f.field in edits:
                self.add(section, i, f)

    def _plan_mailbox_rows(self) -> None:
        for i, row in enumerate(self.doc["mailboxes"], 1):
            self._unknown_columns("mailboxes", i, row)
            values = _Values(row)
            explicit: list[Finding] = []
            ref = values.call(None, regarding_ref, row.get("regarding"))
            forward = values.get(as_bool, "isforwardmailbox", ref is None)
            if forward and ref is not None:
                explicit.append(Finding("M7", "regarding_id", Severity.ERROR,
                                        "A forward mailbox has no regarding record."))
            elif not forward and ref is None and not values.bad("regarding"):
                explicit.append(Finding("M7", "regarding_id", Severity.ERROR,
                                        'A user or queue mailbox names its record: "regarding": {"user": EMAIL} '
                                        'or {"queue": NAME}.'))
            edits = self._mailbox_edits(values, explicit)
            if forward:
                self._plan_forward(i, values, edits, explicit)
            elif ref is None:
                # Which kind of mailbox it is, is unknown: judge what does not depend on the kind.
                self._judge_alone(i, MailboxDraft(kind=MailboxKind.USER), values, edits, explicit,
                                  only=set(edits) - _KIND_DEPENDENT)
            else:
                self._plan_regarding(i, ref, values, edits, explicit)

    def _mailbox_edits(self, values: _Values, explicit: list[Finding]) -> dict:
        """The mailbox fields a row sets; unknown references become findings in `explicit`."""
        row = values.row
        edits = _mailbox_method_edits(values)
        for key, attr, conv in (("name", "name", as_text), ("emailaddress", "email", as_text),
                                ("processanddeleteemails", "delete_after_processing", as_bool),
                                ("allowemailconnectortousecredentials", "allow_credentials", as_bool),
                                ("username", "username", as_text), ("statecode", "state", as_int),
                                ("actdeliverymethod", "act", as_int)):
            if row.get(key) is not None:
                value = values.take(conv, key)
                if value is not _BAD:
                    edits[attr] = value
        if "emailserverprofile" in row:
            name = values.take(_key_column, "emailserverprofile")
            if name is not _BAD:
                pid = self.profile_id(name)
                if pid is False:
                    explicit.append(Finding("M11", "profile_id", Severity.ERROR,
                                            f"Server profile {shown(name)} is not here or in this file."))
                else:
                    edits["profile_id"] = pid
        if row.get("owner") is not None:
            owner_email = values.take(_key_column, "owner")
            if owner_email is not _BAD:
                owner = self.user_id(owner_email)
                if owner is False:
                    explicit.append(self._unknown_user("M2", "owner_id", "Owner", owner_email))
                else:
                    edits["owner_id"] = owner
        password = values.get(as_text, "password")
        if password:
            edits["password"] = password
        return edits

    def _judge_alone(self, i: int, base: MailboxDraft, values: _Values, edits: dict, explicit: list[Finding],
                     only: set[str] | None = None) -> None:
        """A mailbox row that cannot be planned (a structural error) is still judged by every rule."""
        draft = _apply(base, edits)
        ctx = MailboxContext(
            profile=self.profile_facts.get(draft.profile_id) if draft.profile_id is not None else None,
            expected_owner_id=draft.owner_id,
        )
        if draft.profile_id is not None and ctx.profile is None and draft.profile_id > 0:
            self.profile_id_fact(draft.profile_id, ctx)
        self.report_row("mailboxes", i, values, explicit, check_mailbox(draft, ctx), only)

    def _plan_forward(self, i: int, values: _Values, edits: dict, explicit: list[Finding]) -> None:
        key = ("forward", name_key(edits.get("name") or ""))
        duplicate = bool(key[1]) and (key in self.mailboxes or key in self._seen_forward)
        self._seen_forward.add(key)
        if duplicate:
            explicit.append(Finding("M1", "name", Severity.ERROR,
                                    f"Forward mailbox {shown(edits.get('name'))} appears twice in this file."))
        old = (Mailbox.select().where(Mailbox.kind == MailboxKind.FORWARD, Mailbox.name_key == key[1]).first()
               if key[1] else None)
        base = (mailbox_draft(old, self.store.key_ok) if old else
                MailboxDraft(kind=MailboxKind.FORWARD, incoming=2, outgoing=0, act=2))
        if explicit or values.problems:
            self._judge_alone(i, base, values, edits, explicit)
            return
        self.mailboxes[key] = _MailboxPlan("mailboxes", i, _apply_in_place(base, edits), edits, old is not None)

    def _plan_regarding(self, i: int, ref: tuple, values: _Values, edits: dict, explicit: list[Finding]) -> None:
        kind, natural = ref
        if kind == MailboxKind.USER:
            key = ("user", _user_key(natural))
            failed = key[1] in self._failed_users
            if key not in self.mailboxes and not failed:
                u = AppUser.get_or_none(AppUser.email_key == key[1])
                m = Mailbox.get_or_none(Mailbox.regarding_user == u.id) if u else None
                if m is not None:
                    self.mailboxes[key] = _MailboxPlan("mailboxes", i, mailbox_draft(m, self.store.key_ok), {}, True)
            what = f"user {shown(natural, 60, False)}"
        else:
            key = ("queue", name_key(natural))
            failed = key[1] in self._failed_queues
            if key not in self.mailboxes and not failed:
                q = Queue.get_or_none(Queue.name_key == key[1])
                m = services.queue_mailbox(q.id) if q else None
                if m is not None:
                    self.mailboxes[key] = _MailboxPlan("mailboxes", i, mailbox_draft(m, self.store.key_ok), {}, True)
            what = f"queue {shown(natural)}"
        plan = self.mailboxes.get(key)
        if plan is None:
            explicit.append(Finding("M7", "regarding_id", Severity.ERROR,
                                    f"The {what} has errors in this file." if failed else
                                    f"No {what} here or in this file."))
        elif not plan.existing and "email" in edits and email_key(edits["email"]) != email_key(plan.draft.email):
            explicit.append(Finding("M4", "email", Severity.ERROR,
                                    "A new user's or queue's mailbox takes its record's address: change it in the "
                                    "users or queues section."))
        if explicit or values.problems:
            base = plan.draft if plan is not None else MailboxDraft(kind=kind)
            # The record is unknown: judge what the row itself sets, but not the owner it cannot be checked against.
            only = set(edits) - {"owner_id"} if plan is None else set(edits)
            self._judge_alone(i, base, values, edits, explicit, only)
            return
        plan.hand_over("mailboxes", i, edits)
        plan.edits.update(edits)
        _apply_in_place(plan.draft, edits)

    def _check_mailboxes(self) -> None:
        same_email = self._same_email_index()
        forward_active = any(p.draft.kind == MailboxKind.FORWARD and p.draft.state == RecordState.ACTIVE
                             for p in self.mailboxes.values()) or Mailbox.select().where(
            Mailbox.kind == MailboxKind.FORWARD, Mailbox.state == RecordState.ACTIVE).exists()
        for key, plan in self.mailboxes.items():
            d = plan.draft
            ctx = MailboxContext(
                profile=self.profile_facts.get(d.profile_id) if d.profile_id is not None else None,
                owner_exists=d.owner_id is None or d.owner_id < 0 or AppUser.select().where(
                    AppUser.id == d.owner_id).exists(),
                expected_owner_id=self._expected_owner(key, d),
                same_email=tuple(u for mid, u in same_email.get(email_key(d.email), ()) if mid != (d.id or key)),
                active_forward_mailbox_exists=forward_active,
                original=None,
            )
            if d.profile_id is not None and ctx.profile is None:
                self.profile_id_fact(d.profile_id, ctx)
            for f in check_mailbox(d, ctx):
                if (plan.section in ("users", "queues") and not plan.existing and f.is_error
                        and f.field not in plan.edits):
                    # As in create_user/create_queue: the new mailbox is made; what it lacks is a warning.
                    # What the row itself sets (a method, the approval) must be valid.
                    f = Finding(f.rule, f.field, Severity.WARNING, f"Its new mailbox: {f.message}")
                self.add(*plan.origin(f.field), f)

    def _expected_owner(self, key: tuple, d: MailboxDraft) -> int | None:
        if d.kind == MailboxKind.USER:
            return d.regarding_id
        if d.kind == MailboxKind.QUEUE:
            if key[1] in self.queues:
                return self.queues[key[1]][1].owner_id
            q = Queue.get_or_none(Queue.id == d.regarding_id)
            return q.owner_id if q else None
        return d.owner_id

    def profile_id_fact(self, pid: int, ctx: MailboxContext) -> None:
        p = EmailServerProfile.get_or_none(EmailServerProfile.id == pid)
        if p is not None:
            ctx.profile = self.profile_facts[pid] = ProfileFacts(p.id, p.name, p.server_type, p.auth_method)

    def _same_email_index(self) -> dict[str, list[tuple]]:
        """email key -> [(mailbox id or plan key, EmailUse)] from the database and this file (M5)."""
        index: dict[str, list[tuple]] = {}
        keys = {email_key(p.draft.email) for p in self.mailboxes.values() if p.draft.email}
        for mid, name, key, enabled in _where_in(Mailbox, "email_key", sorted(keys),
                                                 ["id", "name", "email_key", "enabled_incoming"]):
            index.setdefault(key, []).append((mid, EmailUse(name, bool(enabled))))
        for key, plan in self.mailboxes.items():
            if plan.draft.email and not plan.existing:
                index.setdefault(email_key(plan.draft.email), []).append((key, EmailUse(plan.draft.name, False)))
        return index

    # -- phase 2: write, in the caller's transaction
    def write(self) -> None:
        store = self.store
        profile_ids: dict[int, int] = {}
        for key, (i, draft, existing) in self.profiles.items():
            placeholder = self._profile_ids_by_key[key]
            if existing:
                base = services.get_profile(store, draft.id)
                if changed_fields(base, draft):
                    services.update_profile(store, base, draft)
                    self.report.updated["profiles"] += 1
            else:
                profile_ids[placeholder] = services.create_profile(store, draft).id
                self.report.created["profiles"] += 1
        resolve_profile = lambda pid: profile_ids.get(pid, pid)  # noqa: E731

        user_ids = self._write_users()
        resolve_user = lambda uid: user_ids.get(uid, uid)  # noqa: E731

        for key, (i, draft, existing) in self.queues.items():
            draft.owner_id = resolve_user(draft.owner_id)
            plan = self.mailboxes[("queue", key)]
            if existing:
                base = services.get_queue(store, draft.id)
                if changed_fields(base, draft):
                    services.update_queue(store, base, draft)
                    self.report.updated["queues"] += 1
                plan.existing = True
                plan.draft.id = services.queue_mailbox(draft.id).id
            else:
                queue, box, _ = services.create_queue(store, draft)
                self.report.created["queues"] += 1
                plan.existing, plan.draft.id = True, box.id
            plan.edits.pop("owner_id", None)
            plan.edits.pop("email", None)

        new_user_boxes = []
        for key, plan in self.mailboxes.items():
            edits = dict(plan.edits)
            for attr, resolve in (("profile_id", resolve_profile), ("owner_id", resolve_user)):
                if edits.get(attr) is not None:
                    edits[attr] = resolve(edits[attr])
            if key[0] == "user" and not plan.existing:
                new_user_boxes.append((key, plan, edits))
            elif plan.existing:
                # A queue's own row already went through update_queue/create_queue (owner, email, methods).
                if plan.section == "mailboxes" or (key[0] == "user" and edits):
                    base = services.get_mailbox(store, plan.draft.id)
                    new = _apply(base, edits)
                    if mailbox_changes(base, new) or new.approval != base.approval:
                        services.update_mailbox(store, base, new)
                        self.report.updated["mailboxes"] += 1
            else:
                draft = _apply(MailboxDraft(kind=MailboxKind.FORWARD, incoming=2, outgoing=0, act=2), edits)
                services.create_forward_mailbox(store, draft)
                self.report.created["mailboxes"] += 1
        self._insert_user_mailboxes(new_user_boxes, resolve_user, resolve_profile)

    def _write_users(self) -> dict[int, int]:
        """Existing users through the service; new ones in bulk. Returns placeholder -> id."""
        store, ids = self.store, {}
        new = []
        for key, (i, draft, existing, extra) in self.users.items():
            if existing:
                current = services.get_user(store, draft.id)
                if current.full_name != draft.full_name.strip() or current.state != draft.state:
                    services.update_user(store, current, UserDraft(draft.full_name, current.email, draft.state,
                                                                   current.id, current.version))
                    self.report.updated["users"] += 1
            else:
                new.append((key, extra["id"], user_columns(draft)))
        for (_, placeholder, cols), user_id in zip(new, reserve_ids(AppUser, len(new)), strict=True):
            cols["id"] = ids[placeholder] = user_id
        for chunk in _chunks(new, 5000):
            bulk_insert(AppUser, [cols for _, _, cols in chunk])
        self.report.created["users"] += len(new)
        return ids

    def _insert_user_mailboxes(self, boxes, resolve_user, resolve_profile) -> None:
        keyring = self.store.keyring
        rows = []
        for key, plan, edits in boxes:
            d = plan.draft  # this plan's own draft: resolving its placeholder ids in place is safe
            d.owner_id, d.regarding_id = resolve_user(d.owner_id), resolve_user(d.regarding_id)
            d.profile_id = resolve_profile(d.profile_id)
            cols = mailbox_columns(d)
            cols["password_enc"] = keyring.encrypt(d.password.new) if d.password.new else None
            rows.append(cols)
        for chunk in _chunks(rows, 5000):
            bulk_insert(Mailbox, chunk)


_BAD = object()  # a value with a format problem


class _Values:
    """One row's values, read field by field. A value of the wrong type is kept as a format
    problem and the field keeps its default, so the rest of the row is still judged."""

    def __init__(self, row: dict):
        self.row = row
        self.problems: list[FormatProblem] = []

    def get(self, convert, key: str, default=None):
        try:
            return convert(self.row, key, default)
        except FormatProblem as exc:
            self.problems.append(exc)
            return default

    def take(self, convert, key: str):
        """The converted value, or _BAD when it has a format problem."""
        try:
            return convert(self.row, key, None)
        except FormatProblem as exc:
            self.problems.append(exc)
            return _BAD

    def call(self, default, function, *args):
        try:
            return function(*args)
        except FormatProblem as exc:
            self.problems.append(exc)
            return default

    def bad(self, key: str) -> bool:
        return any(p.field == key for p in self.problems)


_KNOWN_COLUMNS = {section: frozenset(columns) for section, columns in COLUMNS.items()}

# Mailbox fields whose rules depend on the mailbox's kind (user, queue, forward).
_KIND_DEPENDENT = {"incoming", "outgoing", "act", "delete_after_processing", "owner_id", "regarding_id"}


def _key_column(row: dict, key: str, default=None) -> str | None:
    return as_key(row.get(key), key)


def _user_key(email) -> str:
    """The natural key of the user an address names: the validator's form (domain lowercased, NFC), NFC + lower()."""
    if not isinstance(email, str) or not email.strip():
        return ""
    normalised, _ = normalise_email(email.strip())
    return email_key(normalised or email)


def _mailbox_method_edits(values: _Values) -> dict:
    edits = {}
    for key, attr in (("incomingemaildeliverymethod", "incoming"), ("outgoingemaildeliverymethod", "outgoing"),
                      ("emailrouteraccessapproval", "approval")):
        value = values.get(as_int, key)
        if value is not None:
            edits[attr] = value
    return edits


def _apply(draft: MailboxDraft, edits: dict) -> MailboxDraft:
    """A copy of `draft` with the file's values."""
    return _apply_in_place(draft.copy(), edits)


def _apply_in_place(draft: MailboxDraft, edits: dict) -> MailboxDraft:
    """For a draft the plan owns (built for this import): no copy, which counts at 100,000 rows."""
    for attr, value in edits.items():
        if attr == "password":
            draft.password = PasswordEdit(stored=draft.password.stored, new=value)
        else:
            setattr(draft, attr, value)
    return draft


def _profile_from_row(values: _Values, base: ProfileDraft) -> ProfileDraft:
    d = base.copy()
    get = values.get
    d.name = get(as_text, "name", d.name) or ""
    d.server_type = get(as_int, "servertype", d.server_type)
    d.auto_discover = get(as_bool, "useautodiscover", d.auto_discover)
    d.incoming_location = get(as_text, "incomingserverlocation", d.incoming_location) or ""
    d.outgoing_location = get(as_text, "outgoingserverlocation", d.outgoing_location) or ""
    d.incoming_tls = values.call(d.incoming_tls, tls_mode, values.row, "incoming", d.incoming_tls)
    d.outgoing_tls = values.call(d.outgoing_tls, tls_mode, values.row, "outgoing", d.outgoing_tls)
    d.incoming_port = get(as_int, "incomingportnumber", d.incoming_port)
    d.outgoing_port = get(as_int, "outgoingportnumber", d.outgoing_port)
    d.auth_method = get(as_int, "incomingcredentialretrieval", d.auth_method)
    d.outgoing_auth_method = get(as_int, "outgoingcredentialretrieval", d.outgoing_auth_method)
    d.use_same_settings_for_outgoing = get(as_bool, "usesamesettingsforoutgoingconnections",
                                           d.use_same_settings_for_outgoing)
    d.username = get(as_text, "username", d.username) or ""
    d.outgoing_username = get(as_text, "outgoingusername", d.outgoing_username) or ""
    password = get(as_text, "password")
    if password:
        d.password = PasswordEdit(stored=d.password.stored, new=password)
    outgoing_password = get(as_text, "outgoingpassword")
    if outgoing_password:
        d.outgoing_password = PasswordEdit(stored=d.outgoing_password.stored, new=outgoing_password)
    d.max_concurrent_connections = get(as_int, "maxconcurrentconnections", d.max_concurrent_connections)
    d.min_polling_minutes = get(as_int, "minpollingintervalinminutes", d.min_polling_minutes)
    d.timeout_seconds = get(as_int, "timeoutseconds", d.timeout_seconds)
    d.incoming_cert_sha256 = get(as_text, "incomingcertsha256", d.incoming_cert_sha256) or ""
    d.outgoing_cert_sha256 = get(as_text, "outgoingcertsha256", d.outgoing_cert_sha256) or ""
    d.state = get(as_int, "statecode", d.state)
    return d


def _where_in(model, column: str, keys: list, columns: list[str]) -> Iterator[tuple]:
    """Rows whose `column` is one of `keys`, as tuples, a chunk of keys per query.

    Plain SQL: peewee builds a node per IN value, which dominates at 100,000 keys."""
    db = model._meta.database
    wanted = ", ".join(f'"{c}"' for c in columns)
    for chunk in _chunks(keys):
        marks = ", ".join([db.param] * len(chunk))
        sql = f'SELECT {wanted} FROM "{model._meta.table_name}" WHERE "{column}" IN ({marks})'
        yield from db.execute_sql(sql, chunk).fetchall()


def _chunks(items: list, size: int = CHUNK) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def import_document(store: Store, doc: dict[str, list[dict]], dry_run: bool = False) -> ImportReport:
    """Judge every row, then write everything in one transaction, or nothing."""
    try:
        return _import(store, doc, dry_run)
    finally:
        normalise_email.cache_clear()  # an import can fill it with every address in the file


def _import(store: Store, doc: dict[str, list[dict]], dry_run: bool) -> ImportReport:
    importer = _Importer(store, check_document_shape(doc))
    with store.transaction() as txn:
        importer.plan()
        report = importer.report
        if report.errors or dry_run:
            txn.rollback()
            return report
        try:
            importer.write()
        except RuleViolation as exc:
            txn.rollback()
            report.findings += [ImportFinding("import", 0, f.rule, f.field, f.severity, f.message)
                                for f in exc.findings]
            report.created = {s: 0 for s in SECTIONS}
            report.updated = {s: 0 for s in SECTIONS}
            return report
        except ConflictError as exc:
            txn.rollback()
            report.findings.append(ImportFinding("import", 0, "CONFLICT", "", Severity.ERROR, str(exc)))
            report.created = {s: 0 for s in SECTIONS}
            report.updated = {s: 0 for s in SECTIONS}
            return report
        except (peewee.IntegrityError, peewee.DataError) as exc:
            # The rules should have found it first; if the database still refuses a row, say so plainly.
            txn.rollback()
            why = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
            report.findings.append(ImportFinding("import", 0, "DATABASE", "", Severity.ERROR,
                                                 f"The database refused a row: {why}"))
            report.created = {s: 0 for s in SECTIONS}
            report.updated = {s: 0 for s in SECTIONS}
            return report
        report.written = True
    log.info("import written: created %s, updated %s", report.created, report.updated)
    return report


# ---------------------------------------------------------------- export


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
    for chunk in _chunks(sorted(ids)):
        out.update({u.id: u.email for u in AppUser.select(AppUser.id, AppUser.email).where(AppUser.id.in_(chunk))})
    return out


def profile_records() -> Iterator[dict]:
    for p in _keyed(EmailServerProfile):
        yield {
            "name": p.name, "servertype": p.server_type, "useautodiscover": p.auto_discover,
            "incomingserverlocation": p.incoming_location or None, "incomingportnumber": p.incoming_port,
            "incomingusessl": p.incoming_tls != TlsMode.NONE, "incomingtlsmode": TLS_NAMES[TlsMode(p.incoming_tls)],
            "outgoingserverlocation": p.outgoing_location or None, "outgoingportnumber": p.outgoing_port,
            "outgoingusessl": p.outgoing_tls != TlsMode.NONE, "outgoingtlsmode": TLS_NAMES[TlsMode(p.outgoing_tls)],
            "incomingcredentialretrieval": p.auth_method, "outgoingcredentialretrieval": p.outgoing_auth_method,
            "usesamesettingsforoutgoingconnections": p.use_same_settings_for_outgoing,
            "username": p.username or None, "password": None, "ispasswordset": p.password_enc is not None,
            "outgoingusername": p.outgoing_username or None, "outgoingpassword": None,
            "isoutgoingpasswordset": p.outgoing_password_enc is not None,
            "maxconcurrentconnections": p.max_concurrent_connections,
            "minpollingintervalinminutes": p.min_polling_minutes, "timeoutseconds": p.timeout_seconds,
            "incomingcertsha256": p.incoming_cert_sha256 or None, "outgoingcertsha256": p.outgoing_cert_sha256 or None,
            "statecode": p.state,
        }


def user_records() -> Iterator[dict]:
    for page in _pages(AppUser):
        boxes = {m.regarding_user_id: m for m in Mailbox.select(
            Mailbox.regarding_user, Mailbox.incoming, Mailbox.outgoing, Mailbox.approval)
            .where(Mailbox.regarding_user.in_([u.id for u in page]))}
        for u in page:
            m = boxes.get(u.id)
            yield {"fullname": u.full_name, "internalemailaddress": u.email, "isdisabled": u.state == 1,
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
            yield {"name": q.name, "emailaddress": q.email or None, "owner": owners.get(q.owner_id),
                   "incomingemaildeliverymethod": m.incoming if m else 0,
                   "outgoingemaildeliverymethod": m.outgoing if m else 0,
                   "emailrouteraccessapproval": m.approval if m else 0, "statecode": q.state}


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
            yield {
                "name": m.name, "emailaddress": m.email or None, "isforwardmailbox": m.kind == MailboxKind.FORWARD,
                "owner": users.get(m.owner_id), "regarding": regarding,
                "emailserverprofile": profiles.get(m.profile_id), "processanddeleteemails": m.delete_after_processing,
                "allowemailconnectortousecredentials": m.allow_credentials, "username": m.username or None,
                "password": None, "ispasswordset": m.password_enc is not None,
                "incomingemaildeliverymethod": m.incoming, "outgoingemaildeliverymethod": m.outgoing,
                "actdeliverymethod": m.act, "statecode": m.state, "emailrouteraccessapproval": m.approval,
                "incomingemailstatus": m.incoming_status, "outgoingemailstatus": m.outgoing_status,
                "actstatus": m.act_status,
                "testmailboxaccesscompletedon": m.test_completed_on.isoformat() + "Z" if m.test_completed_on else None,
            }


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

