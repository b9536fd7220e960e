"""The core (domain, store, mailtest) never imports Textual."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import pytest

import mailbox_tui

CORE = ("mailbox_tui.domain", "mailbox_tui.store", "mailbox_tui.mailtest")


def _core_modules() -> list[str]:
    names = []
    for package in CORE:
        module = __import__(package, fromlist=["_"])
        names.append(package)
        names += [f"{package}.{m.name}" for m in pkgutil.iter_modules(module.__path__)]
    return names


@pytest.mark.parametrize("module", _core_modules())
def test_core_module_does_not_import_textual(module):
    code = f"import sys, {module}; sys.exit(1 if any(m == 'textual' or m.startswith('textual.') for m in sys.modules) else 0)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, f"{module} pulled in textual\n{result.stderr}"


def test_the_check_itself_can_fail():
    code = "import sys, mailbox_tui.ui.app; sys.exit(1 if 'textual' in sys.modules else 0)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 1
    assert mailbox_tui.__version__
