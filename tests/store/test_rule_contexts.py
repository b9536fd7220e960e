"""One builder of rule contexts: a form, a save, an import and `check` judge a record by the same facts.

The same records go through the four paths: the form's live check (services.validate_mailbox),
a save (services.update_mailbox, unchanged), an import of the exported document (as a dry run:
into an empty database, into the same database, and only its users and queues sections) and
`mailbox-tui check`. Every path must report the same findings (rule, field, severity, message)
for every mailbox, and judge it by the same facts.

To see the facts, a recorder is appended to the domain's mailbox rules for the length of a
test: instrumentation around the real rule engine, not a mock (every real rule still runs).
"""

from __future__ import annotations

import io
import json
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from support.builders import imap_profile, user

import mailbox_tui
from mailbox_tui.domain import rules
from mailbox_tui.domain.context import Stage
from mailbox_tui.domain.options import AuthMethod, IncomingMethod, MailboxKind, RecordState, ServerType
from mailbox_tui.domain.records import MailboxDraft, PasswordEdit, QueueDraft
from mailbox_tui.mailtest.plan import plan_mailbox
from mailbox_tui.store import contexts, services
from mailbox_tui.store.database import Store
from mailbox_tui.store.exchange import ImportPlan, export_json, import_document
from mailbox_tui.store.models import Mailbox
from mailbox_tui.store.stored_findings import stored_findings

PASSWORDS = {"Alice Berg": "alice-pw", "Bob Pending": "bob-pw", "Forward B": "forward-pw"}
PROFILE_PASSWORD = "service-pw"


@dataclass(frozen=True)
class Judgment:
    name: str
    facts: tuple
    findings: tuple


def _facts(d: MailboxDraft, ctx) -> tuple:
    """The facts of a context, without database ids (an import into an empty database has other ids)."""
    p = ctx.profile
    return (
        ("profile", None if p is None else (p.name, p.server_type, p.auth_method, p.active)),
        ("owner_exists", ctx.owner_exists),
        ("owner_is_the_expected_one", None if ctx.expected_owner_id is None else ctx.expected_owner_id == d.owner_id),
        ("regarding_exists", ctx.regarding_exists),
        ("same_email", tuple((u.name, u.enabled_incoming) for u in ctx.same_email)),
        # Asked only when it matters: Incoming = Forward Mailbox (M16).
        ("active_forward_mailbox_exists",
         ctx.active_forward_mailbox_exists if d.incoming == IncomingMethod.FORWARD_MAILBOX else None),
        ("approval_required", ctx.approval_required),
        ("stage", ctx.stage),
    )


def _findings(findings) -> tuple:
    return tuple(sorted((f.rule, f.field, f.severity.value, f.message) for f in findings))


@pytest.fixture
def judged(monkeypatch) -> list[Judgment]:
    """Every mailbox judgment the real rules make: the mailbox's name, its facts, its findings."""
    real = rules.MAILBOX_RULES
    seen: list[Judgment] = []

    def recorder(d, ctx):
        seen.append(Judgment(d.name, _facts(d, ctx), _findings(f for rule in real for f in rule(d, ctx))))
        return iter(())

    monkeypatch.setattr(rules, "MAILBOX_RULES", real + (recorder,))
    return seen


def _by_name(judgments: list[Judgment]) -> dict[str, Judgment]:
    out = {}
    for j in judgments:
        assert j.name not in out, f"{j.name} was judged twice"
        out[j.name] = j
    return out


def _organisation(store) -> None:
    """Two profiles (one inactive), two users (one not approved), a queue, two forward mailboxes that
    share the queue's address (M5, one in other letter case), no active forward mailbox (M16)."""
    active = imap_profile(store)
    retired = imap_profile(store, "Retired IMAP", auth_method=AuthMethod.PROFILE_CREDENTIALS, username="svc",
                           password=PasswordEdit(new=PROFILE_PASSWORD), state=RecordState.INACTIVE)
    alice, alice_box = user(store, "Alice Berg", "alice@example.com")
    _, bob_box = user(store, "Bob Pending", "bob@example.com")
    services.update_mailbox(store, alice_box, alice_box.copy(
        profile_id=active.id, allow_credentials=True, username="alice",
        password=PasswordEdit(new=PASSWORDS["Alice Berg"]),
        incoming=IncomingMethod.SERVER_SIDE_SYNC, outgoing=2))
    services.set_approval(store, [alice_box.id], True)
    # Bob: an inactive profile that signs in itself (M10 warning), Incoming = Forward Mailbox with none active
    # (M16 warning), and his address still Pending Approval while the organisation requires approval (A2).
    services.update_mailbox(store, bob_box, bob_box.copy(
        profile_id=retired.id, allow_credentials=True, username="bob",
        password=PasswordEdit(new=PASSWORDS["Bob Pending"]),
        incoming=IncomingMethod.FORWARD_MAILBOX, outgoing=2))
    services.create_queue(store, QueueDraft(name="Support", email="shared@example.com", owner_id=alice.id))
    services.create_forward_mailbox(store, MailboxDraft(
        kind=MailboxKind.FORWARD, name="Forward A", email="shared@example.com", owner_id=alice.id,
        profile_id=retired.id, incoming=2, outgoing=0, act=2, state=RecordState.INACTIVE))
    services.create_forward_mailbox(store, MailboxDraft(
        kind=MailboxKind.FORWARD, name="Forward B", email="Shared@Example.COM", owner_id=alice.id,
        profile_id=active.id, incoming=2, outgoing=0, act=2, allow_credentials=True, username="fwd",
        password=PasswordEdit(new=PASSWORDS["Forward B"]), state=RecordState.INACTIVE))


def _exported(with_passwords: bool = True) -> dict:
    out = io.StringIO()
    export_json(out)
    doc = json.loads(out.getvalue())
    if with_passwords:  # an export never carries them; an import that moves records does
        for row in doc["mailboxes"]:
            if row["ispasswordset"]:
                row["password"] = PASSWORDS[row["name"]]
        for row in doc["profiles"]:
            if row["ispasswordset"]:
                row["password"] = PROFILE_PASSWORD
    return doc


@pytest.fixture
def organisation(store):
    """On SQLite and on PostgreSQL."""
    _organisation(store)
    return store


def _mailbox_ids() -> list[int]:
    return [m.id for m in Mailbox.select(Mailbox.id).order_by(Mailbox.id)]


def _form(store, judged) -> tuple[dict, dict]:
    judged.clear()
    shown = {}
    for mid in _mailbox_ids():
        draft = services.get_mailbox(store, mid)
        shown[draft.name] = _findings(services.validate_mailbox(store, draft))
    return _by_name(judged), shown


def _save(store, judged) -> dict:
    judged.clear()
    for mid in _mailbox_ids():
        base = services.get_mailbox(store, mid)
        services.update_mailbox(store, base, base.copy())
    return _by_name(judged)


def _check(store, judged) -> tuple[dict, dict]:
    judged.clear()
    reported: dict[str, list] = {}
    for f in stored_findings(store):
        if f.record == "mailbox":
            reported.setdefault(f.name, []).append(f.finding)
    return _by_name(judged), {name: _findings(found) for name, found in reported.items()}


def _import(store, doc, judged) -> tuple[dict, list]:
    judged.clear()
    report = import_document(store, doc, dry_run=True)
    assert not report.errors, report.findings
    return _by_name(judged), report.findings


IMPORTS = ["whole document into an empty database", "whole document into the same database",
           "users and queues only, into the same database"]


@pytest.mark.parametrize("how", IMPORTS)
def test_form_save_import_and_check_judge_every_mailbox_by_the_same_facts(organisation, judged, tmp_path, how):
    store = organisation
    doc = _exported()
    form, form_shown = _form(store, judged)
    saved = _save(store, judged)
    checked, check_shown = _check(store, judged)
    if how == IMPORTS[0]:
        target = Store(f"sqlite:///{tmp_path / 'empty.db'}")
        try:
            imported, import_findings = _import(target, doc, judged)
        finally:
            target.close()
    elif how == IMPORTS[1]:
        imported, import_findings = _import(store, doc, judged)
    else:
        imported, import_findings = _import(store, {"users": doc["users"], "queues": doc["queues"]}, judged)

    assert set(form) == set(saved) == set(checked) == {"Alice Berg", "Bob Pending", "Support", "Forward A",
                                                        "Forward B"}
    assert set(imported) <= set(form) and {"Alice Berg", "Bob Pending", "Support"} <= set(imported)
    # The profile facts first: the importer once dropped `active` for a profile it read from the database.
    for name, j in imported.items():
        assert dict(j.facts)["profile"] == dict(form[name].facts)["profile"], name
    for name in form:
        paths = {"form": form[name], "save": saved[name], "check": checked[name]}
        if name in imported:
            paths["import"] = imported[name]
        facts = {path: dict(j.facts) for path, j in paths.items()}
        assert all(f == facts["form"] for f in facts.values()), (name, facts)
        findings = {path: j.findings for path, j in paths.items()}
        assert all(f == findings["form"] for f in findings.values()), (name, findings)
        # What each path shows is what it judged.
        assert form_shown[name] == findings["form"]
        assert check_shown.get(name, ()) == findings["check"]
    # An import reports, row by row, exactly the findings the other paths give those records.
    expected = sorted((f[0], f[3]) for name in imported for f in form[name].findings)
    assert sorted((f.rule, f.message) for f in import_findings) == expected


def test_the_organisation_has_the_cases_the_paths_must_agree_on(organisation, judged):
    form, _ = _form(organisation, judged)
    rule_ids = {name: {f[0] for f in j.findings} for name, j in form.items()}
    assert rule_ids == {"Alice Berg": set(), "Bob Pending": {"M10", "M16"}, "Support": {"M5"},
                        "Forward A": {"M5"}, "Forward B": {"M5"}}
    bob = dict(form["Bob Pending"].facts)
    assert bob["profile"] == ("Retired IMAP", ServerType.IMAP_SMTP, AuthMethod.PROFILE_CREDENTIALS, False)
    assert dict(form["Forward A"].facts)["same_email"] == (("Forward B", False), ("Support", False))


def test_test_and_enable_judges_by_the_same_facts_at_its_own_stage(organisation, judged):
    """A2 belongs to Test & Enable: the same builder, at the TEST stage, says the address is not approved."""
    store = organisation
    bob = services.get_mailbox(store, Mailbox.get(Mailbox.name == "Bob Pending").id)
    judged.clear()
    plan = plan_mailbox(store, bob.id)
    assert [f.rule for f in plan.blocking if f.rule == "A2"] == ["A2"]
    (judgment,) = judged
    assert dict(judgment.facts)["approval_required"] is True and dict(judgment.facts)["stage"] == Stage.TEST
    # Every facts source answers the TEST stage alike: the database, `check`'s paged reader, an import's plan.
    for source in (contexts.DatabaseFacts(store), contexts.StoredRecordFacts(store)):
        ctx = contexts.mailbox_context(source, bob, Stage.TEST)
        assert _facts(bob, ctx) == judgment.facts
    plan = ImportPlan(store, _exported())
    plan.plan()
    planned = plan.mailboxes[("user", "bob@example.com")].draft
    ctx = contexts.mailbox_context(plan.facts, planned, Stage.TEST)
    assert _facts(planned, ctx) == judgment.facts
    assert "A2" in {f.rule for f in rules.check_mailbox(planned, ctx)}


def test_rule_contexts_are_built_only_by_the_builder():
    """No module outside the domain builds a rule context or profile facts but store/contexts.py: a
    fifth way of assembling them would let one path judge a record by other facts again."""
    root = Path(mailbox_tui.__file__).parent
    built = re.compile(r"\b(MailboxContext|ProfileFacts|ProfileContext|UserContext|QueueContext)\(")
    builders = sorted(str(path.relative_to(root)) for path in root.rglob("*.py")
                      if path.parts[len(root.parts)] != "domain" and built.search(path.read_text()))
    assert builders == ["store/contexts.py"]
