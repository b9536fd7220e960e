"""What an import found and did: its findings, and how many records it created and updated."""

from __future__ import annotations

from dataclasses import dataclass, field

from ...i18n import say_n
from ..exchange_format import SECTIONS, ImportFinding


@dataclass
class ImportReport:
    findings: list[ImportFinding] = field(default_factory=list)
    created: dict[str, int] = field(default_factory=lambda: {s: 0 for s in SECTIONS})
    updated: dict[str, int] = field(default_factory=lambda: {s: 0 for s in SECTIONS})
    written: bool = False
    keep_secrets: bool = False  # P15: --keep-secrets
    entry: int | None = None  # its history entry, once written (what `mailbox-tui undo` takes)

    @property
    def errors(self) -> list[ImportFinding]:
        return [f for f in self.findings if f.is_error]

    @property
    def secrets_moved(self) -> int:
        """P15: the rows whose stored secrets would go to a new destination."""
        return sum(1 for f in self.findings if f.rule == "P15")

    @property
    def secrets_note(self) -> str:
        """What P15 does with them, in one sentence ("" when no row moves a secret)."""
        n = self.secrets_moved
        if not n:
            return ""
        if self.keep_secrets:
            return say_n("P15: {n} row sends a stored secret to a new destination; --keep-secrets keeps it for "
                         "it.", "P15: {n} rows send a stored secret to a new destination; --keep-secrets keeps "
                         "them for it.", n)
        return say_n("P15: {n} row would send a stored secret to a new destination: the import clears it. Put "
                     "the secret in the file, or import with --keep-secrets to keep it for the new destination.",
                     "P15: {n} rows would send a stored secret to a new destination: the import clears them. Put "
                     "the secrets in the file, or import with --keep-secrets to keep them for the new destination.", n)

    def as_dict(self) -> dict:
        return {"written": self.written, "entry": self.entry, "created": self.created, "updated": self.updated,
                "errors": len(self.errors), "warnings": len(self.findings) - len(self.errors),
                "secrets": {"moved": self.secrets_moved, "kept": self.keep_secrets and bool(self.secrets_moved)},
                "findings": [f.as_dict() for f in self.findings]}
