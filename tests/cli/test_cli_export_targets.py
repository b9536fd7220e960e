"""Exports write only regular files (issue 21, item 5): `--out -` is standard output, and a target that
exists and is a link, a device, a pipe or (for JSON) a folder is refused in one line, changing nothing.
Each command runs in its own process as root, as the admin who broke /dev/stdout did."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from test_cli_robustness import one_line_error, run  # noqa: E402


@pytest.fixture
def seeded(tmp_path) -> str:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    assert run("demo", "--users", "5", "--db", url).returncode == 0
    return url


def test_out_dash_is_standard_output(seeded, tmp_path):
    done = run("export", "--db", seeded, "--out", "-", cwd=tmp_path)
    assert done.returncode == 0 and json.loads(done.stdout)["users"]
    assert not (tmp_path / "-").exists()


def make(kind: str, target: Path, elsewhere: Path) -> None:
    if kind == "symlink":
        elsewhere.write_text("the file the link points to")
        target.symlink_to(elsewhere)
    elif kind == "dangling symlink":
        target.symlink_to(elsewhere)
    elif kind == "fifo":
        os.mkfifo(target)
    elif kind == "device":  # a twin of /dev/null, in the test's own folder
        os.mknod(target, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    elif kind == "folder":
        target.mkdir()


def describe(path: Path) -> tuple:
    info = path.lstat()
    return stat.S_IFMT(info.st_mode), info.st_ino, os.readlink(path) if path.is_symlink() else None


@pytest.mark.parametrize("kind", ["symlink", "dangling symlink", "fifo", "device", "folder"])
def test_json_export_onto_something_not_a_regular_file_is_refused(seeded, tmp_path, kind):
    target, elsewhere = tmp_path / "export.json", tmp_path / "elsewhere.json"
    make(kind, target, elsewhere)
    before = describe(target)
    kept = elsewhere.read_text() if elsewhere.exists() else None

    line = one_line_error(run("export", "--db", seeded, "--out", target), code=2)

    assert str(target) in line and ("not a regular file" in line or "is a folder" in line)
    assert describe(target) == before
    assert (elsewhere.read_text() if elsewhere.exists() else None) == kept
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".part")] == []


@pytest.mark.parametrize("kind", ["symlink", "fifo", "device"])
def test_csv_export_into_a_folder_holding_a_planted_file_writes_none_of_them(seeded, tmp_path, kind):
    folder = tmp_path / "out"
    folder.mkdir()
    (folder / "profiles.csv").write_text("the admin's old export")
    make(kind, folder / "users.csv", tmp_path / "elsewhere.csv")

    line = one_line_error(run("export", "--db", seeded, "--format", "csv", "--out", folder))

    assert "users.csv" in line and "not a regular file" in line
    assert (folder / "profiles.csv").read_text() == "the admin's old export"
    assert sorted(p.name for p in folder.iterdir()) == ["profiles.csv", "users.csv"]


def test_csv_export_to_a_link_to_a_folder_is_refused(seeded, tmp_path):
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    line = one_line_error(run("export", "--db", seeded, "--format", "csv", "--out", tmp_path / "link"), code=2)
    assert "symbolic link" in line and list((tmp_path / "real").iterdir()) == []


def test_csv_export_to_standard_output_is_a_usage_error(seeded):
    line = one_line_error(run("export", "--db", seeded, "--format", "csv", "--out", "-"), code=2)
    assert "give --out FOLDER" in line


def test_export_replacing_a_regular_file_still_works_and_keeps_its_mode(seeded, tmp_path):
    target = tmp_path / "export.json"
    target.write_text("old")
    target.chmod(0o640)
    assert run("export", "--db", seeded, "--out", target).returncode == 0
    assert json.loads(target.read_text())["users"] and stat.S_IMODE(target.stat().st_mode) == 0o640


def test_export_piped_into_head_exits_0(seeded):
    done = subprocess.run(["bash", "-o", "pipefail", "-c",
                           f"{sys.executable} -m mailbox_tui export --db {seeded} | head -c 10"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stderr == ""
