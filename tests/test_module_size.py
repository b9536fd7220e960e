"""Small modules with one job: no module of the app is over 500 lines."""

from __future__ import annotations

from pathlib import Path

import mailbox_tui

MAX_LINES = 500


def test_no_module_is_over_500_lines():
    root = Path(mailbox_tui.__file__).parent
    sizes = {str(p.relative_to(root)): len(p.read_text().splitlines()) for p in root.rglob("*.py")}
    too_long = {name: n for name, n in sizes.items() if n > MAX_LINES}
    assert too_long == {}
