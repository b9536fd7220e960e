"""Crash tests: real CLI processes killed with SIGKILL at chosen system calls, then checked on disk.

The kill comes from `strace -e inject=SYSCALL:signal=KILL:when=N`: the unmodified program dies on
entering its N-th rename, unlink, fsync, fdatasync, pwrite64 (SQLite's WAL), write or ftruncate,
before that call runs. No test hook lives in the product. A clean traced run on a copy counts the
calls first, so every kill point is a real one; the tests skip where strace or ptrace is unavailable.

After each kill: the database is all-before or all-after, some key on disk reads every password
(checked here with `cryptography` directly, not through the code under test), the next ordinary
command recovers, and afterwards the key file alone reads everything.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from cryptography.fernet import Fernet, InvalidToken

STRACE = shutil.which("strace")
WATCHED = ("rename", "unlink", "fsync", "fdatasync", "pwrite64", "write", "ftruncate")
FILE_CALLS = ("rename", "unlink", "fsync", "fdatasync", "ftruncate")  # the ones a protocol hangs on
KEY_CHECK = b"mailbox-tui key check v1"
SAMPLE = 4  # kill points per kind of call at most (first, last and spread between): bounded run time


def _strace_usable() -> bool:
    if STRACE is None:
        return False
    try:
        return subprocess.run([STRACE, "-f", "-qq", "-o", os.devnull, "true"], timeout=20).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


pytestmark = pytest.mark.skipif(not _strace_usable(), reason="strace (with ptrace allowed) is not available")

PASSWORDS = {("mailbox", "Fwd"): "fwd-Secret-1", ("profile", "P"): "profile-Secret-1",
             **{("mailbox", f"User {i}"): f"user-Secret-{i}" for i in range(40)}}


def _doc(users: range, with_profile: bool = True) -> dict:
    doc = {"users": [{"fullname": f"User {i}", "internalemailaddress": f"user{i}@example.com"} for i in users],
           "mailboxes": [{"regarding": {"user": f"user{i}@example.com"}, "allowemailconnectortousecredentials": True,
                          "username": f"user{i}", "password": f"user-Secret-{i}"} for i in users]}
    if with_profile:
        doc["profiles"] = [{"name": "P", "servertype": 1, "incomingserverlocation": "pop.example.com",
                            "outgoingserverlocation": "smtp.example.com", "incomingcredentialretrieval": 1,
                            "username": "svc", "password": "profile-Secret-1"}]
        doc["mailboxes"].append({"name": "Fwd", "isforwardmailbox": True, "emailaddress": "fwd@example.com",
                                 "owner": "user0@example.com", "emailserverprofile": "P",
                                 "allowemailconnectortousecredentials": True, "username": "fwd",
                                 "password": "fwd-Secret-1"})
    return doc


class State:
    """A database and its key folder in one directory, so a copy is a whole installation."""

    def __init__(self, root: Path):
        self.root = root
        self.db = root / "x.db"
        self.key = root / "conf" / "secret.key"

    def args(self) -> list[str]:
        return ["--db", f"sqlite:///{self.db}", "--key-file", str(self.key)]

    def copy(self, to: Path) -> State:
        shutil.copytree(self.root, to)
        return State(to)


def _env() -> dict:
    return {k: v for k, v in os.environ.items() if k != "MAILBOX_TUI_KEY"}


def _cli(*args) -> list[str]:
    return [sys.executable, "-m", "mailbox_tui", *map(str, args)]


def _run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, env=_env(), timeout=60, stdin=subprocess.DEVNULL, **kw)


def _kill_at(cmd: list[str], syscall: str, nth: int) -> subprocess.CompletedProcess:
    # (--seccomp-bpf would be faster, but strace 6.1 then skips the injection.)
    result = _run([STRACE, "-f", "-qq", "-o", os.devnull, "-e", f"trace={syscall}",
                   "-e", f"inject={syscall}:signal=KILL:when={nth}", *cmd])
    assert result.returncode in (-9, 128 + 9), f"not killed at {syscall} #{nth}: {result.returncode} {result.stderr}"
    return result


def _kill_points(cmd: list[str], trace: Path, kinds=WATCHED) -> list[tuple[str, int]]:
    """Every (call, occurrence) a clean run of `cmd` makes, sampled to at most SAMPLE per call."""
    result = _run([STRACE, "-f", "-o", str(trace), "-e", f"trace={','.join(kinds)}", *cmd])
    assert result.returncode == 0, result.stderr
    counts = Counter(m.group(1) for line in trace.read_text().splitlines()
                     if (m := re.match(r"^\d+\s+(\w+)\(", line)) and "resumed>" not in line)
    points = []
    for name, n in sorted(counts.items()):
        picks = sorted({1, n, *(1 + round(i * (n - 1) / (SAMPLE - 1)) for i in range(SAMPLE))}) if n > SAMPLE \
            else range(1, n + 1)
        points += [(name, i) for i in picks]
    return points


def _keys_on_disk(state: State) -> dict[str, list[bytes]]:
    found = {}
    for path in (state.key, state.key.with_name("secret.key.new"), state.key.with_name("secret.key.old")):
        if path.exists():
            found[path.name] = [k.strip().encode() for k in path.read_text().split() if k.strip()]
    return found


def _stored(state: State) -> tuple[str, dict]:
    con = sqlite3.connect(state.db)
    try:
        check = con.execute("select value from meta where key='key_check'").fetchone()[0]
        rows = {("mailbox", n): t for n, t in con.execute("select name, password_enc from mailbox "
                                                          "where password_enc is not null")}
        rows.update({("profile", n): t for n, t in con.execute("select name, password_enc from email_server_profile "
                                                                "where password_enc is not null")})
        return check, rows
    finally:
        con.close()


def _reads_everything(key: bytes, check: str, rows: dict) -> bool:
    f = Fernet(key)
    try:
        return f.decrypt(check.encode()) == KEY_CHECK and all(
            f.decrypt(token.encode()).decode() == PASSWORDS[name] for name, token in rows.items())
    except InvalidToken:
        return False


def _files_reading_everything(state: State) -> list[str]:
    """The key files holding a key that reads the key check and every password (one key for all:
    the database is in one state, all before or all after)."""
    check, rows = _stored(state)
    return [name for name, keys in _keys_on_disk(state).items()
            if any(_reads_everything(k, check, rows) for k in keys)]


def _recovers(state: State) -> None:
    """An ordinary command afterwards: no error, and the key file alone then reads everything."""
    check = _run(_cli("check", "--json", *state.args()))
    assert check.returncode == 0, check.stderr
    assert json.loads(check.stdout)["errors"] == 0
    assert "secret.key" in _files_reading_everything(state)
    assert "Traceback" not in check.stderr


@pytest.fixture
def installed(tmp_path) -> State:
    state = State(tmp_path / "base")
    state.key.parent.mkdir(parents=True, mode=0o700)
    doc = tmp_path / "doc.json"
    doc.write_text(json.dumps(_doc(range(3))))
    result = _run(_cli("import", doc, *state.args()))
    assert result.returncode == 0, result.stderr
    assert _files_reading_everything(state) == ["secret.key"]
    return state


def test_two_interrupted_rotations_never_lose_the_key(installed, tmp_path):
    """Issue 12 item 6: run 1 is killed at its rename (after its commit); run 2 is then killed at every
    file call it makes (including after it would have removed `.new` and before its commit)."""
    first = installed.copy(tmp_path / "after-first")
    _kill_at(_cli("rotate-key", *first.args()), "rename", 1)
    assert first.key.with_name("secret.key.new").exists()  # committed, not renamed: the key is in .new
    assert _files_reading_everything(first) == ["secret.key.new"]

    points = _kill_points(_cli("rotate-key", *first.copy(tmp_path / "count").args()), tmp_path / "trace")
    assert ("rename", 1) in points and ("fsync", 1) in points
    for n, (syscall, nth) in enumerate(points):
        second = first.copy(tmp_path / f"second-{n}")
        _kill_at(_cli("rotate-key", *second.args()), syscall, nth)
        assert _files_reading_everything(second), f"no key reads the database after a kill at {syscall} #{nth}"
        _recovers(second)
        again = _run(_cli("rotate-key", *second.args()))
        assert again.returncode == 0, (syscall, nth, again.stderr)
        assert _files_reading_everything(second) == ["secret.key"], (syscall, nth)


def test_first_rotation_killed_anywhere_then_a_second_completes(installed, tmp_path):
    points = _kill_points(_cli("rotate-key", *installed.copy(tmp_path / "count").args()), tmp_path / "trace",
                          FILE_CALLS)
    assert points
    for n, (syscall, nth) in enumerate(points):
        state = installed.copy(tmp_path / f"run-{n}")
        _kill_at(_cli("rotate-key", *state.args()), syscall, nth)
        assert _files_reading_everything(state), (syscall, nth)
        second = _run(_cli("rotate-key", *state.args()))
        assert second.returncode == 0, (syscall, nth, second.stderr)
        assert "Traceback" not in second.stderr
        assert _files_reading_everything(state) == ["secret.key"], (syscall, nth)
        _recovers(state)


def _counts(state: State) -> tuple:
    con = sqlite3.connect(state.db)
    try:
        return tuple(con.execute(f"select count(*) from {t}").fetchone()[0]
                     for t in ("email_server_profile", "app_user", "mailbox"))
    finally:
        con.close()


def test_import_killed_anywhere_is_all_or_nothing(installed, tmp_path):
    more = tmp_path / "more.json"
    more.write_text(json.dumps(_doc(range(3, 40), with_profile=False)))
    before = _counts(installed)
    done = installed.copy(tmp_path / "count")
    points = _kill_points(_cli("import", more, *done.args()), tmp_path / "trace")
    after = _counts(done)
    assert after != before
    for n, (syscall, nth) in enumerate(points):
        state = installed.copy(tmp_path / f"run-{n}")
        _kill_at(_cli("import", more, *state.args()), syscall, nth)
        assert _counts(state) in (before, after), (syscall, nth)
        assert _files_reading_everything(state) == ["secret.key"], (syscall, nth)
        _recovers(state)


SAVE = """
import sys
from pathlib import Path
from mailbox_tui.domain.records import PasswordEdit
from mailbox_tui.store import services
from mailbox_tui.store.database import Store
from mailbox_tui.store.models import Mailbox

with Store(sys.argv[1], key_path=Path(sys.argv[2])) as store:
    base = services.get_mailbox(store, Mailbox.get(Mailbox.name == "Fwd").id)
    services.update_mailbox(store, base, base.copy(username="fwd-new", password=PasswordEdit(new="fwd-Secret-2")))
"""


def _fwd(state: State) -> tuple[str, str]:
    key = Fernet(_keys_on_disk(state)["secret.key"][0])
    con = sqlite3.connect(state.db)
    try:
        user, token = con.execute("select username, password_enc from mailbox where name='Fwd'").fetchone()
    finally:
        con.close()
    return user, key.decrypt(token.encode()).decode()


def test_save_killed_anywhere_keeps_old_or_new_credentials_whole(installed, tmp_path):
    script = tmp_path / "save.py"
    script.write_text(SAVE)
    cmd = lambda s: [sys.executable, str(script), f"sqlite:///{s.db}", str(s.key)]  # noqa: E731
    done = installed.copy(tmp_path / "count")
    points = _kill_points(cmd(done), tmp_path / "trace")
    assert _fwd(done) == ("fwd-new", "fwd-Secret-2")
    for n, (syscall, nth) in enumerate(points):
        state = installed.copy(tmp_path / f"run-{n}")
        _kill_at(cmd(state), syscall, nth)
        assert _fwd(state) in (("fwd", "fwd-Secret-1"), ("fwd-new", "fwd-Secret-2")), (syscall, nth)
