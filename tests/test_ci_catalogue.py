"""Issue 26: "The catalogue check runs in .ci/run". CI runs `.ci/run`, which runs the test command
(scripts/test), which checks the message catalogue before pytest and fails the run when it is
incomplete, even if every test passed. Run for real here, both scripts as they are, in a copy of the
repository's layout whose `.venv/bin/python` is a stand-in: it records how it was called and answers
as told (installing packages and running the suite cannot be provoked in a test), and PATH holds only
the few tools the scripts need (no dpkg-query, so nothing is installed)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
STAND_IN = """#!/bin/sh
echo "$*" >> "$CALLS"
case "$*" in
  *"scripts/catalogue.py check"*) [ "$CATALOGUE_CODE" = 0 ] || echo "'Name': no sv translation"; exit "$CATALOGUE_CODE" ;;
  *"-m pytest"*) exit "$PYTEST_CODE" ;;
  -) cat > /dev/null; exit 0 ;;
esac
exit 0
"""
TOOLS = ("bash", "sh", "dirname", "date", "id", "head", "cat", "grep", "printf", "mktemp", "rm")


@pytest.fixture
def clone(tmp_path):
    """.ci/run and scripts/test, copied as they are, and a stand-in .venv/bin/python."""
    repo = tmp_path / "repo"
    for name in (".ci/run", "scripts/test"):
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, repo / name)
    python = repo / ".venv" / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_text(STAND_IN)
    python.chmod(0o755)
    tools = tmp_path / "bin"
    tools.mkdir()
    for tool in TOOLS:
        found = shutil.which(tool)
        if found:
            (tools / tool).symlink_to(found)
    return repo, tools


def run_ci(clone, catalogue_code: int, pytest_code: int = 0) -> tuple[subprocess.CompletedProcess, list[str]]:
    repo, tools = clone
    calls = repo / "calls.txt"
    env = {"PATH": str(tools), "HOME": str(repo), "CI": "true", "CALLS": str(calls),
           "CATALOGUE_CODE": str(catalogue_code), "PYTEST_CODE": str(pytest_code),
           "MAILBOX_TUI_TEST_PG_URL": "postgresql://stand-in@127.0.0.1:1/none"}  # no PostgreSQL is started
    done = subprocess.run([str(tools / "bash"), ".ci/run"], cwd=repo, env=env, capture_output=True, text=True,
                          timeout=120, stdin=subprocess.DEVNULL)
    return done, calls.read_text().splitlines() if calls.exists() else []


def test_ci_runs_the_catalogue_check_before_the_suite(clone):
    done, calls = run_ci(clone, catalogue_code=0)
    assert done.returncode == 0, done.stdout + done.stderr
    check = calls.index("scripts/catalogue.py check")
    suite = next(i for i, call in enumerate(calls) if call.startswith("-m pytest"))
    assert check < suite and calls[suite] == "-m pytest -q", calls  # .ci/run's own arguments reach pytest
    assert "checking the message catalogue" in done.stdout


def test_an_incomplete_catalogue_fails_ci_though_every_test_passed(clone):
    done, calls = run_ci(clone, catalogue_code=1, pytest_code=0)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "'Name': no sv translation" in done.stdout and "message catalogue is incomplete" in done.stdout
    assert any(call.startswith("-m pytest") for call in calls)  # the suite still runs: every problem is seen


def test_failing_tests_keep_their_exit_code_whatever_the_catalogue(clone):
    done, _ = run_ci(clone, catalogue_code=1, pytest_code=2)
    assert done.returncode == 2, done.stdout + done.stderr


def test_both_scripts_call_the_python_the_stand_in_replaces():
    """The stand-in answers for `.venv/bin/python`: both scripts must call exactly that."""
    run = (ROOT / ".ci" / "run").read_text()
    test = (ROOT / "scripts" / "test").read_text()
    assert "exec bash scripts/test" in run
    assert ".venv/bin/python scripts/catalogue.py check" in test and ".venv/bin/python -m pytest" in test
    assert os.access(ROOT / "scripts" / "catalogue.py", os.R_OK)
