"""The rule registry matches the code: every rule ID the code can report is declared, every
declaration is applied somewhere, and each rule function reports only the fields and severities
its declaration names (docs/RULES.md is generated from these declarations)."""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import pytest

import mailbox_tui
from mailbox_tui.domain import registry, rule_examples
from mailbox_tui.domain.effects import mailbox_edit_notices
from mailbox_tui.domain.findings import Finding, Severity
from mailbox_tui.domain.options import OPTION_SETS
from mailbox_tui.domain.catalogue import all_rules
from mailbox_tui.domain.registry import REPORT_CODES, RESERVED, Record, declare, rule
from mailbox_tui.store.exchange_format import COLUMNS

PACKAGE = Path(mailbox_tui.__file__).parent
RULE_ID = re.compile(r"[MPUQAR][0-9]{1,2}")
MENTION = re.compile(r"\b[MPUQAR][0-9]{1,2}\b")
DECLARING = {"rule", "declare"}
# Where a call carries the rule code: Finding(rule, ...) (an import's is ImportFinding.at(section, row, Finding(...))).
RULE_ARGUMENT = {"Finding": 0}

SPECS = {spec.id: spec for spec in all_rules()}


# ---------------------------------------------------------------- reading the code


def _name(func: ast.expr) -> str:
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""


def codes_in_source(source: str) -> tuple[set[str], set[str]]:
    """(rule IDs written as string literals, codes passed as the rule of a Finding).

    The IDs given to a declaration (`rule("M1", ...)`, `declare(...)`) do not count: they are what
    the code is checked against."""
    tree = ast.parse(source)
    constants = {node.targets[0].id: node.value.value for node in tree.body
                 if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)
                 and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)}
    declared_at = set()
    literal_ids, reported = set(), set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = _name(node.func)
        if name in DECLARING and node.args:
            declared_at.add(id(node.args[0]))
        position = RULE_ARGUMENT.get(name)
        argument = None
        if position is not None and len(node.args) > position:
            argument = node.args[position]
        for keyword in node.keywords:
            if position is not None and keyword.arg == "rule":
                argument = keyword.value
        if isinstance(argument, ast.Constant) and isinstance(argument.value, str):
            reported.add(argument.value)
        elif isinstance(argument, ast.Name) and argument.id in constants:
            reported.add(constants[argument.id])
    for node in ast.walk(tree):
        if (isinstance(node, ast.Constant) and isinstance(node.value, str) and RULE_ID.fullmatch(node.value)
                and id(node) not in declared_at):
            literal_ids.add(node.value)
    return literal_ids, reported


def _sources() -> dict[Path, str]:
    return {path: path.read_text(encoding="utf-8") for path in sorted(PACKAGE.rglob("*.py"))
            if path.name != "registry.py"}


@pytest.fixture(scope="module")
def code_codes() -> tuple[set[str], set[str]]:
    literal_ids, reported = set(), set()
    for source in _sources().values():
        ids, codes = codes_in_source(source)
        literal_ids |= ids
        reported |= codes
    return literal_ids, reported


# ---------------------------------------------------------------- IDs: code <-> registry


def test_every_rule_id_the_code_reports_is_declared(code_codes):
    literal_ids, reported = code_codes
    undeclared = sorted((literal_ids | reported) - set(SPECS) - set(REPORT_CODES))
    assert not undeclared, (f"the code reports {', '.join(undeclared)} but mailbox_tui/domain has no declaration: "
                            "add @rule(...) above the rule function (see domain/registry.py)")


def test_every_declared_rule_that_reports_is_reported_by_the_code(code_codes):
    literal_ids, _ = code_codes
    unused = sorted(rule_id for rule_id, spec in SPECS.items() if spec.reports and rule_id not in literal_ids)
    assert not unused, f"declared as reporting findings, but no code reports them: {', '.join(unused)}"


def test_every_report_code_is_used_and_declared(code_codes):
    _, reported = code_codes
    assert set(REPORT_CODES) <= reported, f"declared but never reported: {set(REPORT_CODES) - reported}"
    assert not (reported - set(REPORT_CODES) - set(SPECS))


def test_every_rule_id_mentioned_in_the_code_exists():
    """A comment or message that names a rule names one the registry knows (or one reserved for later)."""
    known = set(SPECS) | set(RESERVED)
    stray = {f"{path.relative_to(PACKAGE.parent)}: {m}" for path, text in _sources().items()
             for m in MENTION.findall(text) if m not in known}
    assert not stray, sorted(stray)


def test_effects_name_the_code_that_applies_them():
    """A rule that reports nothing is applied by a declared function, or named where the store applies it."""
    mentions = {path: set(MENTION.findall(text)) for path, text in _sources().items()}
    for spec in SPECS.values():
        if spec.reports:
            continue
        functions = [u.function for u in spec.uses if u.function]
        elsewhere = [p for p, ids in mentions.items() if spec.id in ids and p.parent.name != "domain"]
        assert functions or elsewhere, f"{spec.id} is declared, but nothing in the code applies or names it"


def test_the_scanner_finds_what_it_must():
    source = (
        'UNREADABLE = "KEY"\n'
        'rule("M1", "Title")\n'
        'def f():\n'
        '    yield Finding("M99", "name", E, "x")\n'
        '    yield Finding(UNREADABLE, "password", E, "x")\n'
        '    report.append(ImportFinding.at("import", 0, Finding("CONFLICT", "", E, "x")))\n'
        '    yield from helper("P77", "field")\n'
    )
    literal_ids, reported = codes_in_source(source)
    assert literal_ids == {"M99", "P77"}  # not M1: that is a declaration
    assert reported == {"M99", "KEY", "CONFLICT"}


# ---------------------------------------------------------------- declarations


def _function(reference: str):
    module, _, qualname = reference.partition(":")
    target = importlib.import_module(module)
    for part in qualname.split("."):
        target = getattr(target, part)
    return target


def test_every_rule_has_a_title_a_text_and_a_use():
    for spec in SPECS.values():
        assert spec.title and spec.text and spec.uses, spec.id
        assert spec.text.endswith("."), f"{spec.id}: the text is a sentence"


def test_declared_functions_exist_and_run_where_their_record_is_judged():
    for spec in SPECS.values():
        for use in spec.uses:
            if not use.function:
                continue
            function = _function(use.function)
            assert callable(function), use.function
            if use.severities and function is not mailbox_edit_notices:
                assert function in rule_examples.RULES_OF[use.record], (
                    f"{use.function} is declared for {spec.id} on {use.record.value} records but is not in "
                    "that record's rule tuple, so it never runs")


def test_every_function_in_a_rule_tuple_is_declared():
    declared = {u.function for spec in SPECS.values() for u in spec.uses}
    for record, functions in rule_examples.RULES_OF.items():
        for function in functions:
            assert f"{function.__module__}:{function.__qualname__}" in declared, (
                f"{function.__qualname__} judges {record.value} records but has no @rule declaration")


def test_no_reserved_id_is_implemented():
    implemented = sorted(set(RESERVED) & set(SPECS))
    assert not implemented, (f"{', '.join(implemented)} are implemented now: remove them from RESERVED in "
                             "mailbox_tui/domain/registry.py")


def test_a_title_is_given_once_and_ids_are_rule_ids():
    with pytest.raises(ValueError, match="given twice"):
        rule("M1", "Another title", "Another text.", record=Record.MAILBOX)(lambda d, ctx: iter(()))
    with pytest.raises(ValueError, match="not a rule ID"):
        declare("X1", "Title", "Text.", record=Record.MAILBOX, where=registry.Where.FORM)


# ---------------------------------------------------------------- what the rule functions really report


def _uses_by_function() -> dict[str, list[tuple[str, registry.RuleUse]]]:
    out: dict[str, list] = {}
    for spec in SPECS.values():
        for use in spec.uses:
            if use.function:
                out.setdefault(use.function, []).append((spec.id, use))
    return out


def undeclared_finding(function, finding: Finding, record: Record) -> str | None:
    """Why a finding is not what the function's declarations say it reports, or None."""
    reference = f"{function.__module__}:{function.__qualname__}"
    uses = [use for rule_id, use in _uses_by_function().get(reference, ())
            if rule_id == finding.rule and use.record == record]
    if not uses:
        return f"{reference} reported {finding.rule} on a {record.value}, which its declarations do not name"
    if not any(finding.field in use.fields for use in uses):
        return f"{reference} reported {finding.rule} on field {finding.field!r}, not a declared field"
    if not any(finding.severity in use.severities for use in uses):
        return f"{reference} reported {finding.rule} as {finding.severity.value}, not a declared severity"
    return None


def _reported() -> list[tuple[object, Finding, Record]]:
    out = [(function, finding, case.record) for case in rule_examples.cases()
           for function, finding in rule_examples.run(case)]
    out += [(function, finding, Record.MAILBOX) for case in rule_examples.notice_cases()
            for function, finding in rule_examples.run_notices(case)]
    return out


def test_rule_functions_report_only_what_they_declare():
    problems = [p for function, finding, record in _reported() if (p := undeclared_finding(function, finding, record))]
    assert not problems, problems


def test_every_declared_rule_and_severity_has_an_example():
    """So docs/RULES.md quotes at least one real message for each of them."""
    seen = {(f"{function.__module__}:{function.__qualname__}", finding.rule, finding.severity)
            for function, finding, _ in _reported()}
    missing = [f"{rule_id} {severity.value} from {use.function}"
               for spec in SPECS.values() for rule_id, use in ((spec.id, u) for u in spec.uses)
               if use.function for severity in use.severities if (use.function, rule_id, severity) not in seen]
    assert not missing, f"add a case to mailbox_tui/domain/rule_examples.py for: {missing}"


def test_the_declaration_check_can_fail():
    function = rule_examples.RULES_OF[Record.MAILBOX][0]  # M1, field name, errors only
    assert undeclared_finding(function, Finding("M1", "name", Severity.ERROR, "x"), Record.MAILBOX) is None
    assert "field" in undeclared_finding(function, Finding("M1", "email", Severity.ERROR, "x"), Record.MAILBOX)
    assert "severity" in undeclared_finding(function, Finding("M1", "name", Severity.WARNING, "x"), Record.MAILBOX)
    assert "do not name" in undeclared_finding(function, Finding("M2", "name", Severity.ERROR, "x"), Record.MAILBOX)


# ---------------------------------------------------------------- option sets


def test_option_set_columns_are_columns_of_the_exchange_format():
    columns = {c for section in COLUMNS.values() for c in section}
    for title, _, names, _ in OPTION_SETS:
        assert set(names) <= columns, f"{title}: {set(names) - columns} are not exchange-format columns"
