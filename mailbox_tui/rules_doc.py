"""Writes docs/RULES.md from the rule registry: `.venv/bin/python -m mailbox_tui.rules_doc > docs/RULES.md`.

Everything in the document comes from the code: the rules' declarations (domain/registry.py and
the `@rule` lines above each rule function), the messages the rules give for the example drafts
of domain/rule_examples.py, the option sets of domain/options.py, and the exchange format's
constants. tests/domain/test_rules_doc.py fails when docs/RULES.md is not what this prints.
"""

from __future__ import annotations

import sys
from collections import defaultdict

from .domain import rule_examples
from .domain.findings import Severity
from .domain.options import OPTION_SETS, TlsMode
from .domain.catalogue import all_rules
from .domain.registry import REPORT_CODES, RESERVED, RULES, WHERE_LABELS, Record, RuleSpec, RuleUse, Where
from .domain.text import natural_key
from .store.exchange_format import FORMULA_STARTS, SECTIONS, TLS_NAMES, csv_guard

COMMAND = ".venv/bin/python -m mailbox_tui.rules_doc > docs/RULES.md"
GROUPS = (
    ("M", "Mailbox rules"),
    ("P", "Email server profile rules"),
    ("U", "Users"),
    ("Q", "Queues"),
    ("A", "Approval"),
    ("R", "Every record"),
)
_RECORD_ORDER = list(Record)
_SEVERITY_ORDER = [Severity.ERROR, Severity.WARNING, Severity.INFO]


def examples() -> dict[str, list[tuple[Record, Severity, str]]]:
    """rule ID -> the (record, severity, message) the rules give for the example drafts, in order, once each."""
    out: dict[str, dict] = defaultdict(dict)
    for case in rule_examples.cases():
        for _, f in rule_examples.run(case):
            out[f.rule][(case.record, f.severity, f.message)] = None
    for case in rule_examples.notice_cases():
        for _, f in rule_examples.run_notices(case):
            out[f.rule][(Record.MAILBOX, f.severity, f.message)] = None
    return {rule: list(messages) for rule, messages in out.items()}


def _where(where: Where) -> str:
    return ", ".join(label for flag, label in WHERE_LABELS.items() if flag in where)


def _severities(severities) -> str:
    return ", ".join(s.value for s in _SEVERITY_ORDER if s in severities) or "none: it changes what is saved"


def _uses(spec: RuleSpec) -> list[RuleUse]:
    return sorted(spec.uses, key=lambda u: _RECORD_ORDER.index(u.record))


def _code_refs(spec: RuleSpec) -> str:
    by_file: dict[str, list[str]] = defaultdict(list)
    for use in _uses(spec):
        if use.function:
            module, name = use.function.split(":")
            path = module.replace(".", "/") + ".py"
            if name not in by_file[path]:
                by_file[path].append(name)
    return "; ".join(f"`{path}`: " + ", ".join(f"`{n}`" for n in names) for path, names in by_file.items())


def _escape(text: str) -> str:
    return text.replace("|", "\\|")


def summary_table(specs: list[RuleSpec]) -> list[str]:
    head = "| Rule | Title | Applies to | Severity | " + " | ".join(WHERE_LABELS.values()) + " |"
    lines = [head, "|" + "---|" * (4 + len(WHERE_LABELS))]
    for spec in specs:
        uses = _uses(spec)
        records = ", ".join(dict.fromkeys(u.record.value for u in uses))
        severities = {s for u in uses for s in u.severities}
        where = Where(0)
        for u in uses:
            where |= u.where
        marks = " | ".join("✓" if flag in where else "" for flag in WHERE_LABELS)
        kinds = [s.value for s in _SEVERITY_ORDER if s in severities]
        if any(not u.severities for u in uses):
            kinds.append("effect")
        severity = ", ".join(kinds)
        lines.append(f"| {spec.id} | {_escape(spec.title)} | {records} | {severity} | {marks} |")
    return lines


def rule_section(spec: RuleSpec, messages: list[tuple[Record, Severity, str]]) -> list[str]:
    lines = [f"### {spec.id} {spec.title}", "", spec.text, ""]
    lines += ["| Applies to | Fields | Severity | Where |", "|---|---|---|---|"]
    for use in _uses(spec):
        record = use.record.value + (f" ({use.note})" if use.note else "")
        fields = ", ".join(f"`{f}`" for f in use.fields) or "—"
        lines.append(f"| {_escape(record)} | {fields} | {_severities(use.severities)} | {_where(use.where)} |")
    lines.append("")
    if messages:
        several = len({record for record, _, _ in messages}) > 1
        lines += ["What it says, for example:", ""]
        for record, severity, message in messages:
            where = f"{record.value}, " if several else ""
            lines.append(f"- ({where}{severity.value}) {message}")
        lines.append("")
    refs = _code_refs(spec)
    if refs:
        lines += [f"Code: {refs}.", ""]
    return lines


def option_sets() -> list[str]:
    lines = ["## Option sets", "",
             "Records hold the integer codes Dynamics 365 stores, so exported files line up with Dynamics "
             "exports. The columns named are those of the import and export files.", ""]
    for title, options, columns, note in OPTION_SETS:
        lines += [f"### {title}", "", "Columns: " + ", ".join(f"`{c}`" for c in columns) + ".", ""]
        if note:
            lines += [note, ""]
        if options is TlsMode:  # files carry the mode as text
            lines += ["| Code | Meaning | In files |", "|---|---|---|"]
            lines += [f"| {m.value} | {m.label} | `{TLS_NAMES[m]}` |" for m in options]
            lines += ["", "Export writes the mode as text and also Dynamics' `incomingusessl`/`outgoingusessl` "
                      f"(true unless the mode is `{TLS_NAMES[TlsMode.NONE]}`). Import takes the text mode when a "
                      f"row has one, else `usessl`: true is `{TLS_NAMES[TlsMode.IMPLICIT]}`, false is "
                      f"`{TLS_NAMES[TlsMode.NONE]}`."]
        else:
            lines += ["| Code | Meaning |", "|---|---|"]
            lines += [f"| {m.value} | {m.label} |" for m in options]
        lines.append("")
    return lines


def exchange_format() -> list[str]:
    files = ", ".join(f"`{s}.csv`" for s in SECTIONS)
    starts = ", ".join({"\t": "tab", "\r": "carriage return"}.get(c, f"`{c}`") for c in FORMULA_STARTS)
    german, english = "Straße@Example.com", "strasse@example.com"
    return [
        "## Exchange format (import, export)", "",
        f"One JSON document with the sections {', '.join(f'`{s}`' for s in SECTIONS)}, or one CSV file per "
        f"section ({files}) with the same columns. Column names are the Dynamics logical names and option "
        "values are the integer codes above. Export writes what import reads.", "",
        "- **References by natural key.** A user is named by its email, a queue or a server profile by its "
        "name, a forward mailbox by its name. A user's or queue's mailbox is addressed by "
        "`\"regarding\": {\"user\": EMAIL}` or `{\"queue\": NAME}` (in CSV `user:EMAIL`, `queue:NAME`); "
        "importing such a row updates that mailbox (M7).",
        "- **Natural keys compare after Unicode NFC normalisation, case-insensitively by `str.lower()`**, "
        f"not `casefold()`: `{german}` has the key `{natural_key(german)}`, which is not "
        f"`{natural_key(english)}`, so those are two users. Names (M1, P1, Q1, U1) refuse bidirectional-override "
        "and zero-width characters, which make two different records look the same.",
        f"- **CSV formula guard.** Export puts a `'` in front of a cell that starts with {starts} (a spreadsheet "
        f"would run it as a formula: `=1+1` is written `{csv_guard('=1+1')}`), and import takes that `'` off "
        "again; a cell that already starts with `'` before one of those characters gets one more, so every "
        "value makes the round trip exactly.",
        "- **Passwords are never exported in clear**: an export carries `\"password\": null` and "
        "`\"ispasswordset\": true`. An import may carry a clear password; it is encrypted on arrival.",
        "- **All or nothing.** Every row is judged by the rules first; every finding is reported with its "
        "section, row, rule and message, and nothing is written unless there are no errors. `--dry-run` "
        "reports without writing.",
        "",
    ]


def render() -> str:
    specs = all_rules()
    said = examples()
    lines = [
        "# Rules",
        "",
        f"<!-- Generated from the code by `{COMMAND}`. Do not edit by hand: "
        "tests/domain/test_rules_doc.py fails when this file is stale. -->",
        "",
        "Every rule of mailbox-tui, by its stable ID. A rule lives once, in `mailbox_tui/domain/`, and the same "
        "code judges a record wherever it is written or read:",
        "",
        "- **Form & save**: live under the field as the admin types, and again on save; a save with an error "
        "writes nothing.",
        "- **Import**: every row of `mailbox-tui import`, before anything is written.",
        "- **Check**: `mailbox-tui check`, over every stored record.",
        "- **Test & Enable**: the mailbox rules run first; an error makes the direction it concerns (incoming, "
        "outgoing, or appointments, contacts and tasks) a Failure, and nothing connects for it.",
        "",
        "An **error** blocks the write; a **warning** is shown and lets it through; **info** says what saving "
        "will also change. An **effect** reports nothing: it is something a save does. Each finding names its "
        "rule ID and the field it concerns (the names below are those `check --json` and `import --json` "
        "print).",
        "",
        "## All rules",
        "",
        *summary_table(specs),
        "",
    ]
    planned = [f"{rule_id} {title}" for rule_id, title in RESERVED.items() if rule_id not in RULES]
    if planned:
        lines += ["Not implemented yet: " + ", ".join(planned) + ".", ""]
    for prefix, heading in GROUPS:
        group = [s for s in specs if s.id.startswith(prefix)]
        if group:
            lines += [f"## {heading}", ""]
            for spec in group:
                lines += rule_section(spec, said.get(spec.id, []))
    lines += ["## Other codes in reports", "",
              "Import and check reports also carry these codes in the rule column. They are not rules of the "
              "domain but facts about a file or a database.", "",
              "| Code | Where | Meaning |", "|---|---|---|"]
    lines += [f"| {code} | {where} | {_escape(text)} |" for code, (where, text) in REPORT_CODES.items()]
    lines.append("")
    lines += option_sets()
    lines += exchange_format()
    return "\n".join(lines).rstrip("\n") + "\n"


def main() -> None:
    sys.stdout.write(render())


if __name__ == "__main__":
    main()
