"""Nothing in the repository refers to files outside it: a clone carries its own rules document
(docs/RULES.md) and its own notes (docs/), so no text may point at the team's shared folder."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
THIS = Path(__file__).resolve().relative_to(ROOT).as_posix()
# The shared folder and the documents in it, which a clone of the repository does not have.
# Spelled in pieces so that this file does not itself show the paths to tools that grep for them.
SHARED = ".." + "/shared"
OUTSIDE = (SHARED, "/work/", "DOMAIN.md", "MAILSERVERS.md", "STYLE.md")


def tracked_files() -> list[str]:
    try:
        result = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True)
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.skip(f"not a git checkout, so there is no list of tracked files: {exc}")
    return [name for name in result.stdout.decode("utf-8").split("\0") if name]


def outside_references(files: dict[str, bytes]) -> list[str]:
    """'path:line: text' for every line of a text file that names something outside the repository."""
    found = []
    for name, content in files.items():
        if name == THIS or b"\0" in content:  # this test names them on purpose; binary files hold no references
            continue
        for number, line in enumerate(content.decode("utf-8", "replace").splitlines(), 1):
            if any(marker in line for marker in OUTSIDE):
                found.append(f"{name}:{number}: {line.strip()[:120]}")
    return found


def test_no_tracked_file_refers_outside_the_repository():
    files = {name: (ROOT / name).read_bytes() for name in tracked_files() if (ROOT / name).is_file()}
    assert len(files) > 50, "the tracked files were not found"
    found = outside_references(files)
    assert not found, ("these lines point outside the repository; say it in place, or point at docs/ "
                       "(docs/RULES.md for the rules):\n" + "\n".join(found))


def test_the_check_can_fail():
    files = {
        "README.md": f"The rules are in [DOMAIN.md]({SHARED}/DOMAIN.md).\n".encode(),
        "tests/support/servers.py": b'"""See /work/shared/MAILSERVERS.md."""\n',
        "docs/RULES.md": b"# Rules\nEvery rule, generated from the code.\n",
        "tests/ui/snapshot.svg": b"\0binary DOMAIN.md",
        THIS: b"STYLE.md",
    }
    assert outside_references(files) == [
        f"README.md:1: The rules are in [DOMAIN.md]({SHARED}/DOMAIN.md).",
        'tests/support/servers.py:1: """See /work/shared/MAILSERVERS.md."""',
    ]
