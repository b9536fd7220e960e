"""docs/RULES.md is what the generator prints from the code: never stale, and complete."""

from __future__ import annotations

import difflib
import subprocess
import sys
from pathlib import Path

from mailbox_tui import rules_doc
from mailbox_tui.domain.options import OPTION_SETS
from mailbox_tui.domain.catalogue import all_rules
from mailbox_tui.domain.registry import REPORT_CODES, RESERVED, RULES, Record, RuleUse, Where

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "RULES.md"


def stale_message(on_disk: str, generated: str) -> str | None:
    """None when docs/RULES.md is current; otherwise what differs and the command that fixes it."""
    if on_disk == generated:
        return None
    diff = "".join(list(difflib.unified_diff(on_disk.splitlines(True), generated.splitlines(True),
                                             "docs/RULES.md", "generated", n=1))[:40])
    return f"docs/RULES.md is stale: regenerate it with\n    {rules_doc.COMMAND}\n{diff}"


def test_rules_md_is_current():
    problem = stale_message(DOC.read_text(encoding="utf-8"), rules_doc.render())
    assert problem is None, problem


def test_the_staleness_check_can_fail_and_says_how_to_fix_it():
    current = rules_doc.render()
    assert stale_message(current, current) is None
    problem = stale_message(current.replace("### M6 ", "### M6 (edited) "), current)
    assert problem is not None and rules_doc.COMMAND in problem and "M6" in problem


def test_the_document_follows_the_registry():
    """A declaration changed in the code changes the document."""
    spec = RULES["M6"]
    before = rules_doc.render()
    spec.uses.append(RuleUse(Record.QUEUE, ("delete_after_processing",), (), Where.FORM))
    try:
        assert rules_doc.render() != before
    finally:
        spec.uses.pop()
    assert rules_doc.render() == before


def test_every_rule_code_and_option_set_is_in_the_document():
    text = rules_doc.render()
    for spec in all_rules():
        assert f"\n### {spec.id} {spec.title}\n" in text
        assert f"\n| {spec.id} | " in text  # the summary table
    for code in REPORT_CODES:
        assert f"\n| {code} | " in text
    for rule_id in RESERVED:
        assert rule_id in text
    for title, options, _, _ in OPTION_SETS:
        assert f"\n### {title}\n" in text
        for member in options:
            assert f"| {member.value} | {member.label} |" in text


def test_the_command_in_the_document_writes_the_document():
    """`python -m mailbox_tui.rules_doc` prints exactly what the test compares against."""
    result = subprocess.run([sys.executable, "-m", "mailbox_tui.rules_doc"], cwd=ROOT, capture_output=True,
                            text=True, check=True)
    assert result.stdout == rules_doc.render()
    assert rules_doc.COMMAND in result.stdout
