"""`mailbox-tui import` in bounded memory (issue 20, item 5), each case in a real process of the
installed CLI on a real SQLite file: what is not a regular file is refused at once; a huge value,
a truncated file, a CSV row of the wrong width each in one sentence; standard input still works;
Ctrl-C (SIGINT) stops an import while it judges rows and while it writes, with one line and exit
130; running out of memory is a sentence. Every refusal changes nothing."""

from __future__ import annotations

import json
import os
import resource
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

TABLES = ("email_server_profile", "app_user", "queue", "mailbox", "organization_settings", "change_entry")


def _command() -> list[str]:
    exe = Path(sys.executable).with_name("mailbox-tui")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "mailbox_tui"]


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)  # a CI job may start us with SIGINT ignored


def cli(*args, stdin=subprocess.DEVNULL, input_: bytes | None = None, preexec=_default_sigint):
    return subprocess.run([*_command(), *map(str, args)], capture_output=True, env=os.environ.copy(), timeout=300,
                          input=input_, stdin=None if input_ is not None else stdin, preexec_fn=preexec)


def rows(db: str) -> dict:
    con = sqlite3.connect(db.removeprefix("sqlite:///"))
    try:
        return {t: con.execute(f'select * from "{t}" order by 1').fetchall() for t in TABLES}
    finally:
        con.close()


@pytest.fixture
def db(tmp_path):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    result = cli("import", _document(tmp_path / "seed.json", 3), "--db", url)
    assert result.returncode == 0, result.stderr
    return url


def _document(path: Path, n: int, start: int = 100) -> Path:
    """n users and their mailboxes (with passwords), as the benchmark's document, written a row at a time."""
    with path.open("w") as fh:
        fh.write('{"profiles": [{"name": "Corporate IMAP", "servertype": 4, "incomingserverlocation": '
                 '"imap.example.com", "outgoingserverlocation": "smtp.example.com"}], "users": [')
        fh.write(", ".join(json.dumps({"fullname": f"User {i}", "internalemailaddress": f"user{i}@example.com"})
                           for i in range(start, start + n)))
        fh.write('], "mailboxes": [')
        fh.write(", ".join(json.dumps({"regarding": {"user": f"user{i}@example.com"},
                                       "emailserverprofile": "Corporate IMAP", "allowemailconnectortousecredentials":
                                       True, "username": f"user{i}", "password": f"pw-{i}"})
                           for i in range(start, start + n)))
        fh.write("]}")
    return path


def _refused(result, *words: str) -> str:
    assert result.returncode == 1, (result.returncode, result.stderr)
    err = result.stderr.decode()
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("mailbox-tui: error: "), err
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


def test_a_device_a_fifo_a_link_to_a_device_and_a_folder_are_refused_at_once(db, tmp_path):
    fifo = tmp_path / "doc.json"
    os.mkfifo(fifo)
    link = tmp_path / "zero.json"
    link.symlink_to("/dev/zero")
    folder = tmp_path / "csv"
    (folder / "users.csv").mkdir(parents=True)
    before = rows(db)
    for path, what in (("/dev/zero", "is a character device"), (fifo, "is a FIFO"), (link, "is a character device"),
                       (folder / "users.csv", "is a folder")):
        start = time.monotonic()
        _refused(cli("import", path if path != folder / "users.csv" else folder, "--db", db), what,
                 "an import reads a regular file, a folder of CSV files, or a JSON document on standard input (-)")
        assert time.monotonic() - start < 60  # nothing was read from the device, nobody waited on the FIFO
    assert rows(db) == before


def test_a_huge_single_value_a_deep_row_and_a_truncated_file_are_refused_changing_nothing(db, tmp_path):
    huge = tmp_path / "huge.json"
    huge.write_text(json.dumps({"users": [{"fullname": "a" * (1024 * 1024 + 1),
                                           "internalemailaddress": "a@example.com"}]}))
    deep = tmp_path / "deep.json"
    deep.write_bytes(b'{"users": [{"fullname": ' + b"[" * 200_000 + b"]" * 200_000 + b"}]}")
    whole = _document(tmp_path / "whole.json", 2000).read_bytes()
    cut = tmp_path / "cut.json"
    cut.write_bytes(whole[:len(whole) * 3 // 4])  # the users are whole; the file ends inside the mailboxes
    before = rows(db)
    _refused(cli("import", huge, "--db", db), "has a value longer than 1,048,576 characters")
    _refused(cli("import", deep, "--db", db), "nested too deeply")
    _refused(cli("import", cut, "--db", db), "cut.json is not valid JSON: ")
    assert rows(db) == before


def test_a_csv_row_with_fewer_values_than_its_header_is_refused_naming_the_row(db, tmp_path):
    path = tmp_path / "users.csv"
    path.write_text("fullname,internalemailaddress\nAlice,alice@example.com\nBob\n")
    before = rows(db)
    _refused(cli("import", path, "--db", db), "users.csv: row 2 has 1 value, but its header has 2 columns.")
    assert rows(db) == before


def test_standard_input_is_read_through_a_pipe(db, tmp_path):
    document = json.dumps({"users": [{"fullname": "Piped", "internalemailaddress": "piped@example.com"}]}).encode()
    for name in ("-", "/dev/stdin"):
        result = cli("import", name, "--db", db, "--dry-run", input_=document)
        assert result.returncode == 0 and b"Dry run: no errors" in result.stdout, result.stderr
    result = cli("import", "-", "--db", db, input_=document)
    assert result.returncode == 0 and b"1 created/0 updated users" in result.stdout, result.stderr
    con = sqlite3.connect(db.removeprefix("sqlite:///"))
    assert con.execute("select record_key from change_entry where action = 'import' order by id desc").fetchone() == (
        "standard input",)
    con.close()


def test_standard_input_over_the_input_limit_is_refused(db):
    """The limit lowered to 1,000 bytes in the real command's process (2 GiB would take minutes)."""
    code = ("import sys; from mailbox_tui.store.exchange import limits; limits.MAX_INPUT_BYTES = 1000; "
            "from mailbox_tui.cli import main; sys.exit(main(sys.argv[1:]))")
    before = rows(db)
    result = subprocess.run([sys.executable, "-c", code, "import", "-", "--db", db], input=b" " * 5000,
                            capture_output=True, timeout=120)
    _refused(result, "Standard input is larger than 1,000 bytes")
    assert rows(db) == before


def _interrupted_when(db: str, tmp_path: Path, phase: str) -> subprocess.CompletedProcess:
    """Runs an import of 20,000 users and mailboxes and sends it SIGINT once its log says `phase`."""
    path = _document(tmp_path / "big.json", 20_000)
    log = tmp_path / "import.log"
    proc = subprocess.Popen([*_command(), "import", str(path), "--db", db, "--log", str(log)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, preexec_fn=_default_sigint)
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and proc.poll() is None:
        said = log.read_text() if log.exists() else ""
        if phase in said:
            break
        time.sleep(0.02)
    else:
        proc.kill()
        pytest.fail(f"the import never said {phase!r}")
    if phase == "reading and judging":
        time.sleep(0.5)
        assert "writing" not in log.read_text(), "the import had judged every row already"
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=240)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


@pytest.mark.parametrize("phase", ["reading and judging", "every row judged, no errors; writing"])
def test_ctrl_c_stops_an_import_changing_nothing_while_it_judges_and_while_it_writes(db, tmp_path, phase):
    before = rows(db)
    result = _interrupted_when(db, tmp_path, phase)
    assert result.returncode == 130, (result.returncode, result.stderr)
    assert result.stderr.decode() == "mailbox-tui: import interrupted; nothing was written.\n"
    assert result.stdout == b""
    assert rows(db) == before


def _limited(mb: int):
    def limit() -> None:
        _default_sigint()
        resource.setrlimit(resource.RLIMIT_AS, (mb << 20, mb << 20))
    return limit


def test_running_out_of_memory_is_a_sentence_and_changes_nothing(db, tmp_path):
    """Under an address-space limit just above what a small import needs (found first, so the test
    does not depend on this machine's libraries), a file of 4 MiB rows runs out of memory."""
    small = tmp_path / "small.json"
    small.write_text(json.dumps({"users": [{"fullname": "A", "internalemailaddress": "a@example.com"}]}))
    low, high = 16, 1024  # a small import fails under `low` MiB and works under `high` MiB
    assert cli("import", small, "--db", db, "--dry-run", preexec=_limited(high)).returncode == 0
    while high - low > 2:
        mid = (low + high) // 2
        ok = cli("import", small, "--db", db, "--dry-run", preexec=_limited(mid)).returncode == 0
        low, high = (low, mid) if ok else (mid, high)
    big = tmp_path / "big.json"
    big.write_text(json.dumps({"users": [{"fullname": "B", "internalemailaddress": "b@example.com",
                                          **{f"x{i}": "b" * 1_000_000 for i in range(4)}} for _ in range(3)]}))
    before = rows(db)
    result = cli("import", big, "--db", db, preexec=_limited(high + 4))
    _refused(result, "mailbox-tui: error: there was not enough memory to finish; nothing was written.")
    assert rows(db) == before
