"""What a rule says about a draft."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from ..i18n import said


class Severity(str, Enum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"  # what saving will also do; never blocks


@dataclass(frozen=True)
class Finding:
    rule: str  # stable rule ID (docs/RULES.md): M1, P3, U1, ...
    field: str  # the draft field it concerns
    severity: Severity
    message: str

    @property
    def shown(self) -> str:
        """The message in the admin's language (`message` stays English: it reaches --json and reports)."""
        return said(self.message)

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def as_dict(self) -> dict:
        return {"rule": self.rule, "field": self.field, "severity": self.severity.value, "message": self.message}


def errors(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.is_error]


def warnings(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.severity is Severity.WARNING]


class RuleViolation(Exception):
    """A write refused because the rules found errors. Carries every finding."""

    def __init__(self, findings: list[Finding]):
        self.findings = list(findings)
        errs = errors(self.findings)
        super().__init__("; ".join(f"{f.rule}: {f.message}" for f in errs) or "rule violation")

    @property
    def shown(self) -> str:
        """What str() says, in the admin's language."""
        return "; ".join(f"{f.rule}: {f.shown}" for f in errors(self.findings)) or said("rule violation")
