"""Every rule the domain declares, in ID order: the modules that declare them are imported here, so the
registry (which they import) never imports them back."""

from __future__ import annotations

from . import effects, rules  # noqa: F401 - importing them runs their declarations
from .registry import RULES, RuleSpec, rule_order


def all_rules() -> list[RuleSpec]:
    """Every declared rule, in ID order. Each must have a title and a text."""
    out = sorted(RULES.values(), key=lambda s: rule_order(s.id))
    missing = [s.id for s in out if not (s.title and s.text)]
    if missing:
        raise ValueError(f"rules declared without a title and text: {', '.join(missing)}")
    return out
