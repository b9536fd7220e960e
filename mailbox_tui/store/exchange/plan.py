"""Planning an import: every row judged by the domain rules against the database and against
the other rows of the same file, before anything is written (write.py writes the plan).

Records refer to each other by natural keys; a record the file creates gets a placeholder id
(< 0) until it is written. The rules are fed by the one builder of rule contexts
(store/contexts.py), from the plan laid over the database (planned_facts.py)."""

from __future__ import annotations

from functools import partial

from ...i18n import say
from ...domain.fields import MAILBOX_FIELDS, QUEUE_FIELDS, USER_FIELDS
from ...domain.effects import new_queue_mailbox, user_mailbox_maker
from ...domain.findings import Finding, Severity
from ...domain.options import MailboxKind
from ...domain.records import MailboxDraft, ProfileDraft, QueueDraft, UserDraft
from ...domain.rules import check_mailbox, check_profile, check_queue, check_user, normalise_profile
from ...domain.text import email_key
from .. import contexts, services
from ..convert import mailbox_draft, name_key, profile_draft, queue_draft, user_draft
from ..database import Store
from ..exchange_format import FIELD_OF, SECTIONS, ImportFinding, as_bool, as_text, regarding_ref, shown
from ..models import AppUser, EmailServerProfile, Mailbox, Queue
from .batches import batches, chunks, where_in
from .judge import judge_planned_mailboxes
from .judged import Judged
from .plan_types import PlannedMailbox  # noqa: F401 (the package's name for it)
from .planned import PlannedMailboxes, PlannedUsers, PlanView, user_placeholder
from .planned_facts import PlannedFacts
from .read import DocumentSource, Source
from .report import ImportReport
from .rows import (
    BAD,
    KIND_DEPENDENT,
    KNOWN_COLUMNS,
    READERS,
    RowValues,
    applied,
    apply_in_place,
    from_row,
    key_column,
    mailbox_method_edits,
    profile_from_row,
    user_key,
)


# The columns of a mailbox row that set a value of its own (not a reference, not its kind, not the
# password, not what mailbox_method_edits reads for user and queue rows too), from the declaration.
_METHOD_COLUMNS = {"incomingemaildeliverymethod", "outgoingemaildeliverymethod", "emailrouteraccessapproval"}
MAILBOX_VALUE_COLUMNS = tuple((f.logical, f.name, READERS[f.type]) for f in MAILBOX_FIELDS
                              if f.import_columns and f.type in READERS and f.name != "kind"
                              and f.logical not in _METHOD_COLUMNS)

class ImportPlan:
    """What an import will write, row by row, and what the rules found in it."""

    def __init__(self, store: Store, doc: dict[str, list[dict]] | Source, build_rows: bool = False):
        self.store = store
        # Whether judging a new user's mailbox also builds its row to insert (not for a dry run):
        # the mailbox is built again from the temporary file once, not once more to be written.
        self.build_rows = build_rows
        self.encrypt = None  # the keyring's bulk encrypter, once a password needs it
        self.source = doc if isinstance(doc, Source) else DocumentSource(doc)
        self.report = ImportReport()
        self.has_errors = False  # whether the report has an error yet (without looking through its findings)
        self.org = services.org_settings(store)
        self._user_box = user_mailbox_maker(self.org)  # U2, for each new user's mailbox
        self._next_placeholder = -1
        self.profiles: dict[str, tuple[int, ProfileDraft, bool]] = {}  # name_key -> (row, draft, existing)
        # The mailboxes it plans live in a temporary file (planned.py), numbered in the order it plans
        # them; in memory, a natural key and a few numbers each. A user row's mailbox is found by
        # the user's key (self.users), any other by ("user" | "queue" | "forward", key) in self.plans.
        self.planned = PlannedMailboxes(self._new_user_box)
        self.users = PlannedUsers(self.planned)  # email_key -> its mailbox's number (and the user's row)
        self.plans: dict[tuple, int] = {}
        self.mailboxes = PlanView(self)  # ("user", key) / ("queue", key) / ("forward", key) -> PlannedMailbox
        self.forwards: list[tuple[int | None, int]] = []  # (id, state) of each planned forward mailbox
        self.queues: dict[str, tuple[int, QueueDraft, bool]] = {}
        self.profile_ids: dict[str, int] = {}  # name_key -> id, or placeholder for a profile the file creates
        self.facts = PlannedFacts(store, self.org, self)
        self.judged = Judged()  # the stored records judged, and their versions: held still to be written
        # Rows that cannot be planned are judged once every row is: by the same facts as the rest.
        self._unplanned: list = []
        # Natural keys of rows that were judged and refused, so rows that name them say so.
        self._failed_users: set[str] = set()
        self._failed_queues: set[str] = set()
        self._seen_queues: set[str] = set()
        self._seen_forward: set[tuple] = set()
        self.moved_passwords: dict[int, int | None] = {}  # P15: planned mailbox -> the profile it had
        self.keep_secrets = False  # P15: --keep-secrets, secrets kept for their new destination

    # -- helpers
    def plan_of(self, key: tuple) -> int | None:
        """The number of the mailbox planned under `key`, if any."""
        if key[0] == "user":
            p = self.users.get(key[1])
            if p is not None:
                return p
        return self.plans.get(key)

    def _plan(self, key: tuple, section: str, i: int, draft: MailboxDraft, edits: dict, existing: bool) -> int:
        p = self.planned.add(section, i, draft, edits, existing)
        self.plans[key] = p
        self.facts.note_email(p, draft.email)
        return p

    def _new_user_box(self, p: int, user: tuple) -> MailboxDraft:
        """The new mailbox (U2) of the user planned with mailbox number p: (full name, email, state, …)."""
        return self._user_box(user[0], user[1], user[2], self.users.uid(p))

    def close(self) -> None:
        self.planned.close()

    def placeholder(self) -> int:
        self._next_placeholder -= 1
        return self._next_placeholder

    def add(self, section: str, row: int, finding: Finding) -> None:
        self.has_errors = self.has_errors or finding.is_error
        self.report.findings.append(ImportFinding.at(section, row, finding))

    def error(self, section: str, row: int, rule: str, fld: str, message: str) -> None:
        self.add(section, row, Finding(rule, fld, Severity.ERROR, message))

    def _unknown_columns(self, section: str, row_no: int, row: dict) -> None:
        known = KNOWN_COLUMNS[section]
        if known.issuperset(row):  # its keys (C's loop: this runs for every row)
            return
        unknown = sorted(str(k) for k in row if k not in known)
        if unknown:
            names = ", ".join(k if len(k) <= 30 else k[:29] + "…" for k in unknown[:5])
            message = (say("Ignored unknown fields: {names} and {n} more.", names=names, n=len(unknown) - 5)
                       if len(unknown) > 5 else say("Ignored unknown fields: {names}.", names=names)
                       if len(unknown) > 1 else say("Ignored unknown field: {names}.", names=names))
            self.add(section, row_no, Finding("FORMAT", unknown[0][:64], Severity.WARNING, message))

    def report_row(self, section: str, i: int, values: RowValues, explicit: list[Finding],
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
            self.error(section, i, "FORMAT", problem.field, problem.message)
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
        for judge in self._unplanned:
            judge()
        judge_planned_mailboxes(self)

    def _plan_profiles(self) -> None:
        for batch in batches(self.source.rows("profiles")):
            self._plan_profile_rows(batch)

    def _plan_profile_rows(self, batch: list[tuple[int, dict]]) -> None:
        keys = [name_key(r["name"]) if isinstance(r.get("name"), str) else "" for _, r in batch]
        existing = {}
        for chunk in chunks(sorted({k for k in keys if k})):
            for p in EmailServerProfile.select().where(EmailServerProfile.name_key.in_(chunk)):
                existing[p.name_key] = p
        for (i, row), key in zip(batch, keys, strict=True):
            self._unknown_columns("profiles", i, row)
            duplicate = bool(key) and key in self.profiles
            old = existing.get(key) if key and not duplicate else None
            base = profile_draft(old, self.store.key_ok) if old else ProfileDraft()
            values = RowValues(row)
            draft = normalise_profile(profile_from_row(values, base))
            explicit = [Finding("P1", "name", Severity.ERROR, say("Profile {name} appears twice in this file.",
                                                                  name=shown(row.get("name"))))] if duplicate else []
            self.report_row("profiles", i, values, explicit,
                            check_profile(draft, contexts.profile_context(self.facts, draft)))
            if duplicate or not key:
                continue
            # Planned even with errors (nothing is written then): rows that name it are judged against it.
            pid = old.id if old else self.placeholder()
            draft.id = old.id if old else None
            self.profiles[key] = (i, draft, old is not None)
            if old:
                self.judged.note("profile", old.id, old.version)
            self.facts.plan_profile(pid, contexts.facts_of_profile(pid, draft))
            self.profile_ids[key] = pid

    def planned_profile_id(self, name: str) -> int | None:
        """The id (or placeholder) of the profile a non-blank name names, in the file or the database;
        None when neither has it."""
        key = name_key(name)
        if key not in self.profile_ids:
            p = EmailServerProfile.get_or_none(EmailServerProfile.name_key == key)
            if p is None:
                return None
            self.profile_ids[key] = p.id
        return self.profile_ids[key]

    def _plan_users(self) -> None:
        for batch in batches(self.source.rows("users")):
            self._plan_user_rows(batch)

    def _plan_user_rows(self, batch: list[tuple[int, dict]]) -> None:
        keys = [user_key(r.get("internalemailaddress")) for _, r in batch]
        existing = self._existing_users(keys)
        existing_boxes = {}
        ids = [u.id for u in existing.values()]
        for chunk in chunks(ids):
            for m in Mailbox.select().where(Mailbox.regarding_user.in_(chunk)):
                existing_boxes[m.regarding_user_id] = m
        for (i, row), key in zip(batch, keys, strict=True):
            self._unknown_columns("users", i, row)
            duplicate = bool(key) and (key in self.users or key in self._failed_users)
            old = existing.get(key) if key else None
            values = RowValues(row)
            draft = from_row(USER_FIELDS, values, user_draft(old) if old else UserDraft(version=0))
            edits = mailbox_method_edits(values)
            explicit = [Finding("U1", "email", Severity.ERROR, say(
                "{email} appears twice in this file.", email=shown(row.get("internalemailaddress"), 60, False)))
            ] if duplicate else []
            judged = check_user(draft, contexts.user_context(self.facts, draft))
            if self.report_row("users", i, values, explicit, judged) or duplicate:
                if key and not duplicate:
                    self._failed_users.add(key)
                self._unplanned.append(partial(self._judge_mailbox_values, "users", i, MailboxKind.USER, edits))
                continue
            p = len(self.planned)
            uid = old.id if old else user_placeholder(p)
            if old:
                self.judged.note("user", old.id, old.version)
            self.users.add(key, p, uid)
            if old and old.id in existing_boxes:
                self.judged.note("mailbox", existing_boxes[old.id].id, existing_boxes[old.id].version)
                box = apply_in_place(mailbox_draft(existing_boxes[old.id], self.store.key_ok), edits)
                self.planned.add("users", i, box, dict(edits), True, draft, key)
                self.facts.note_email(p, box.email, key)
            else:  # made again from the user when it is read back (new_user_box): nothing to keep but the edits
                self.planned.add("users", i, None, dict(edits), False, draft, key)
                self.facts.note_email(p, draft.email.strip(), key)

    def _existing_users(self, keys: list[str]) -> dict[str, AppUser]:
        found = [row[0] for row in where_in(AppUser, "email_key", sorted({k for k in keys if k}), ["id"])]
        out = {}
        for chunk in chunks(found):
            for u in AppUser.select().where(AppUser.id.in_(chunk)):
                out[u.email_key] = u
                self.facts.known_user(u.id)
        return out

    def planned_user_id(self, email: str) -> int | None:
        """The id (or placeholder) of the user a non-blank address names, in the file or the database;
        None when neither has it."""
        key = user_key(email)
        p = self.users.get(key)
        if p is not None:
            return self.users.uid(p)
        u = AppUser.get_or_none(AppUser.email_key == key)
        if u is None:
            return None
        self.facts.known_user(u.id)
        return u.id

    def _unknown_user(self, rule: str, fld: str, email: str) -> Finding:
        """The owner a row names is no user (Q1 of a queue, M2 of a mailbox)."""
        if user_key(email) in self._failed_users:
            return Finding(rule, fld, Severity.ERROR, say("Owner {email} is a user whose row in this file has "
                                                          "errors.", email=shown(email, 60, False)))
        return Finding(rule, fld, Severity.ERROR, say("Owner {email} is not a user here or in this file.",
                                                      email=shown(email, 60, False)))

    def _plan_queues(self) -> None:
        for i, row in enumerate(self.source.rows("queues"), 1):
            self._unknown_columns("queues", i, row)
            key = name_key(row["name"]) if isinstance(row.get("name"), str) else ""
            duplicate = bool(key) and key in self._seen_queues
            self._seen_queues.add(key)
            old = Queue.get_or_none(Queue.name_key == key) if key and not duplicate else None
            values = RowValues(row)
            explicit = [Finding("Q1", "name", Severity.ERROR, say("Queue {name} appears twice in this file.",
                                                                  name=shown(row.get("name"))))] if duplicate else []
            owner = old.owner_id if old else None
            if "owner" in row:
                owner_email = values.get(key_column, "owner")
                owner = None
                if not values.bad("owner") and owner_email is not None and owner_email.strip():
                    owner = self.planned_user_id(owner_email)
                    if owner is None:
                        explicit.append(self._unknown_user("Q1", "owner_id", owner_email))
                        owner = contexts.NO_SUCH_USER  # the rules judge the rest of the row
            oldbox = services.queue_mailbox(old.id) if old else None
            edits = mailbox_method_edits(values)
            base = queue_draft(old, oldbox) if old else QueueDraft(version=0)
            draft = from_row(QUEUE_FIELDS, values, base)
            draft.owner_id = owner
            draft.incoming = edits.get("incoming", draft.incoming)
            draft.outgoing = edits.get("outgoing", draft.outgoing)
            ctx = contexts.queue_context(self.facts, draft)
            if self.report_row("queues", i, values, explicit, check_queue(draft, ctx)) or duplicate:
                if key and not duplicate:
                    self._failed_queues.add(key)
                self._unplanned.append(partial(self._judge_mailbox_values, "queues", i, MailboxKind.QUEUE,
                                               {"approval": edits.get("approval", 0)}))
                continue
            qid = old.id if old else self.placeholder()
            self.queues[key] = (i, draft, old is not None)
            self.facts.plan_queue(qid, owner)
            edits.update({"owner_id": owner, "email": draft.email})
            if old:
                self.judged.note("queue", old.id, old.version)
            if oldbox:
                self.judged.note("mailbox", oldbox.id, oldbox.version)
                base = mailbox_draft(oldbox, self.store.key_ok)
                self._plan(("queue", key), "queues", i, apply_in_place(base, edits), edits, True)
            else:
                box = new_queue_mailbox(QueueDraft(draft.name, draft.email, owner, draft.incoming, draft.outgoing,
                                                   draft.state, qid), self.org)
                self._plan(("queue", key), "queues", i, apply_in_place(box, edits), edits, False)

    def _judge_mailbox_values(self, section: str, i: int, kind: MailboxKind, edits: dict) -> None:
        """The mailbox values (methods, approval) of a user or queue row that has errors of its own."""
        draft = applied(MailboxDraft(kind=kind), edits)
        for f in check_mailbox(draft, contexts.mailbox_context(self.facts, draft)):
            if f.field in edits:
                self.add(section, i, f)

    def _plan_mailbox_rows(self) -> None:
        for i, row in enumerate(self.source.rows("mailboxes"), 1):
            self._unknown_columns("mailboxes", i, row)
            values = RowValues(row)
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
                                  set(edits) - KIND_DEPENDENT)
            else:
                self._plan_regarding(i, ref, values, edits, explicit)

    def _mailbox_edits(self, values: RowValues, explicit: list[Finding]) -> dict:
        """The mailbox fields a row sets; unknown references become findings in `explicit`."""
        row = values.row
        edits = mailbox_method_edits(values)
        for key, attr, conv in MAILBOX_VALUE_COLUMNS:
            if row.get(key) is not None:
                value = values.take(conv, key)
                if value is not BAD:
                    edits[attr] = value
        if "emailserverprofile" in row:
            name = values.take(key_column, "emailserverprofile")
            if name is None or (name is not BAD and not name.strip()):
                edits["profile_id"] = None
            elif name is not BAD:
                pid = self.planned_profile_id(name)
                if pid is None:
                    explicit.append(Finding("M11", "profile_id", Severity.ERROR,
                                            say("Server profile {name} is not here or in this file.",
                                                name=shown(name))))
                else:
                    edits["profile_id"] = pid
        if row.get("owner") is not None:
            owner_email = values.take(key_column, "owner")
            if owner_email is not BAD:
                owner = self.planned_user_id(owner_email) if owner_email is not None and owner_email.strip() else None
                if owner is None and owner_email is not None and owner_email.strip():
                    explicit.append(self._unknown_user("M2", "owner_id", owner_email))
                else:
                    edits["owner_id"] = owner
        password = values.get(as_text, "password")
        if password:
            edits["password"] = password
        return edits

    def _judge_alone(self, i: int, base: MailboxDraft, values: RowValues, edits: dict, explicit: list[Finding],
                     only: set[str] | None = None) -> None:
        """A mailbox row that cannot be planned (a structural error) is still judged by every rule,
        once every row is planned."""
        self._unplanned.append(partial(self._judge_row_alone, i, applied(base, edits), values, explicit, only))

    def _judge_row_alone(self, i: int, draft: MailboxDraft, values: RowValues, explicit: list[Finding],
                         only: set[str] | None) -> None:
        ctx = contexts.mailbox_context(self.facts, draft)
        self.report_row("mailboxes", i, values, explicit, check_mailbox(draft, ctx), only)

    def _plan_forward(self, i: int, values: RowValues, edits: dict, explicit: list[Finding]) -> None:
        key = ("forward", name_key(edits.get("name") or ""))
        duplicate = bool(key[1]) and (key in self.plans or key in self._seen_forward)
        self._seen_forward.add(key)
        if duplicate:
            explicit.append(Finding("M1", "name", Severity.ERROR,
                                    say("Forward mailbox {name} appears twice in this file.",
                                        name=shown(edits.get("name")))))
        old = (Mailbox.select().where(Mailbox.kind == MailboxKind.FORWARD, Mailbox.name_key == key[1]).first()
               if key[1] else None)
        base = (mailbox_draft(old, self.store.key_ok) if old else
                MailboxDraft(kind=MailboxKind.FORWARD, incoming=2, outgoing=0, act=2))
        if explicit or values.problems:
            self._judge_alone(i, base, values, edits, explicit)
            return
        had = (base.profile_id, base.password.stored)  # before the row's edits: as stored
        if old:
            self.judged.note("mailbox", old.id, old.version)
        draft = apply_in_place(base, edits)
        p = self._plan(key, "mailboxes", i, draft, edits, old is not None)
        self._note_moved_password(p, old is not None, *had, edits)
        self.forwards.append((draft.id, draft.state))

    def _plan_regarding(self, i: int, ref: tuple, values: RowValues, edits: dict, explicit: list[Finding]) -> None:
        kind, natural = ref
        if kind == MailboxKind.USER:
            key = ("user", user_key(natural))
            failed = key[1] in self._failed_users
            p = self.plan_of(key)
            if p is None and not failed:
                u = AppUser.get_or_none(AppUser.email_key == key[1])
                if u is not None:
                    self.facts.known_user(u.id)
                m = Mailbox.get_or_none(Mailbox.regarding_user == u.id) if u else None
                if m is not None:
                    self.judged.note("mailbox", m.id, m.version)
                    p = self._plan(key, "mailboxes", i, mailbox_draft(m, self.store.key_ok), {}, True)
        else:
            key = ("queue", name_key(natural))
            failed = key[1] in self._failed_queues
            p = self.plan_of(key)
            if p is None and not failed:
                q = Queue.get_or_none(Queue.name_key == key[1])
                m = services.queue_mailbox(q.id) if q else None
                if m is not None:
                    self.judged.note("mailbox", m.id, m.version)
                    p = self._plan(key, "mailboxes", i, mailbox_draft(m, self.store.key_ok), {}, True)
        existing = p is not None and self.planned.existing[p]
        if p is None:
            user = kind == MailboxKind.USER
            name = shown(natural, 60, False) if user else shown(natural)
            explicit.append(Finding("M7", "regarding_id", Severity.ERROR, (
                (say("The user {name} has errors in this file.", name=name) if user else
                 say("The queue {name} has errors in this file.", name=name)) if failed else
                (say("No user {name} here or in this file.", name=name) if user else
                 say("No queue {name} here or in this file.", name=name)))))
        elif not existing and "email" in edits and email_key(edits["email"]) != email_key(self.planned.get(p).draft.email):
            explicit.append(Finding("M4", "email", Severity.ERROR,
                                    "A new user's or queue's mailbox takes its record's address: change it in the "
                                    "users or queues section."))
        if explicit or values.problems:
            base = self.planned.get(p).draft if p is not None else MailboxDraft(kind=kind)
            # The record is unknown: judge what the row itself sets, but not the owner it cannot be checked against.
            only = set(edits) - {"owner_id"} if p is None else set(edits)
            self._judge_alone(i, base, values, edits, explicit, only)
            return
        if "profile_id" in edits and not edits.get("password"):  # (only then: it reads the plan back)
            draft = self.planned.draft(p)
            self._note_moved_password(p, bool(self.planned.existing[p]), draft.profile_id, draft.password.stored,
                                      edits)
        self.planned.edit(p, "mailboxes", i, edits)
        if "email" in edits:
            self.facts.note_email(p, edits["email"])

    def _note_moved_password(self, p: int, existing: bool, profile_id: int | None, password: bool,
                             edits: dict) -> None:
        """P15: a stored mailbox (its profile and whether it has a password, as stored) that the row moves
        to another profile, its password not in the row: the profile it had is kept, only for such
        mailboxes, to judge where its password went."""
        if (existing and password and "profile_id" in edits and edits["profile_id"] != profile_id
                and not edits.get("password")):
            self.moved_passwords[p] = profile_id
