"""Issue 12, a careless command line and a hostile machine: each case one clear line, the right exit
code, and nothing written. Every command runs in its own process, on real files."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

PASSWORD = "Zq7-robust-pass-word-9031"


def run(*args, env=None, cwd=None, timeout=60) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, "-m", "mailbox_tui", *map(str, args)], capture_output=True, text=True,
                            env=env or os.environ.copy(), cwd=cwd, timeout=timeout, stdin=subprocess.DEVNULL)
    assert "Traceback" not in result.stderr, result.stderr
    return result


def one_line_error(result: subprocess.CompletedProcess, code: int = 1) -> str:
    """The result failed with `code` and said why in exactly one line on stderr."""
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("mailbox-tui: error: "), result.stderr
    return lines[0]


def no_key_env() -> dict:
    return {k: v for k, v in os.environ.items() if k != "MAILBOX_TUI_KEY"}


def counts(path: Path) -> tuple:
    con = sqlite3.connect(path)
    try:
        return tuple(con.execute(f"select count(*) from {t}").fetchone()[0]
                     for t in ("email_server_profile", "app_user", "queue", "mailbox"))
    finally:
        con.close()


def doc_with_passwords(n: int = 1, first: int = 0) -> dict:
    return {"users": [{"fullname": f"User {i}", "internalemailaddress": f"user{i}@example.com"}
                      for i in range(first, first + n)],
            "mailboxes": [{"regarding": {"user": f"user{i}@example.com"}, "allowemailconnectortousecredentials": True,
                           "username": f"user{i}", "password": f"{PASSWORD}-{i}"} for i in range(first, first + n)]}


@pytest.fixture
def dbfile(tmp_path) -> Path:
    return tmp_path / "cli.db"


@pytest.fixture
def seeded(dbfile) -> Path:
    result = run("demo", "--users", "20", "--db", f"sqlite:///{dbfile}")
    assert result.returncode == 0, result.stderr
    return dbfile


# ---------------------------------------------------------------- item 17, small things


def test_version_prints_the_version():
    result = run("--version")
    assert result.returncode == 0 and result.stdout.strip() == "mailbox-tui 0.1.0"


def test_usage_errors_are_one_line_exit_2():
    result = run("export", "--format", "xml")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "invalid choice: 'xml'" in result.stderr
    one_line_error(run("demo", "--users", "100000"), code=2)  # the demo has 520 distinct names, not a loop


# ---------------------------------------------------------------- item 13, hostile files and machines


def test_log_into_a_missing_folder_or_onto_a_folder_is_one_line(seeded, tmp_path):
    for log in (tmp_path / "missing" / "x.log", tmp_path):
        line = one_line_error(run("check", "--db", f"sqlite:///{seeded}", "--log", log))
        assert "folder" in line
    assert not (tmp_path / "missing").exists()


def test_export_into_a_closed_pipe_exits_quietly(tmp_path):
    """`mailbox-tui export | head -c 100`: the reader goes away; no "Broken pipe" error, no traceback."""
    db = tmp_path / "big.db"
    assert run("demo", "--users", "520", "--db", f"sqlite:///{db}").returncode == 0
    proc = subprocess.Popen([sys.executable, "-m", "mailbox_tui", "export", "--db", f"sqlite:///{db}"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    assert len(proc.stdout.read(100)) == 100
    proc.stdout.close()
    _, err = proc.communicate(timeout=60)
    assert err.decode() == "" and proc.returncode == 0  # as `export | head` in a pipefail script expects


@pytest.mark.parametrize("kind", ["text", "random", "truncated"])
def test_database_file_that_is_not_a_database_is_one_line_and_untouched(tmp_path, seeded, kind):
    bad = tmp_path / "bad.db"
    if kind == "text":
        bad.write_text("name,email\nAlice,alice@example.com\n" * 50)
    elif kind == "random":
        bad.write_bytes(os.urandom(20_000))
    else:
        bad.write_bytes(seeded.read_bytes()[:12288])
    before = bad.read_bytes()
    for command in (["check"], ["export"], ["import", tmp_path / "doc.json"], ["rotate-key", "--out", tmp_path / "k"]):
        (tmp_path / "doc.json").write_text(json.dumps(doc_with_passwords()))
        line = one_line_error(run(*command, "--db", f"sqlite:///{bad}"))
        assert "not an SQLite database" in line or "damaged" in line
    assert bad.read_bytes() == before
    assert not (tmp_path / "k").exists()
    assert not any(p.name.startswith("bad.db-") for p in tmp_path.iterdir())


def test_schema_version_two_is_one_line(seeded):
    con = sqlite3.connect(seeded)
    con.execute("update meta set value='two' where key='schema_version'")
    con.commit()
    con.close()
    assert "schema version is 'two'" in one_line_error(run("check", "--db", f"sqlite:///{seeded}"))


@contextlib.contextmanager
def immutable(path: Path):
    """Root ignores file modes, so a read-only database is made immutable (chattr +i): the file can
    only be opened for reading, as for an admin without write permission."""
    if shutil.which("chattr") is None or subprocess.run(["chattr", "+i", str(path)]).returncode != 0:
        pytest.skip("chattr +i is not available here")
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", str(path)], check=True)


def test_read_only_database_refuses_writes_in_one_line_and_still_reads(seeded, tmp_path):
    """Item 13: import, test and rotate-key on a database that cannot be written."""
    env = no_key_env()
    key = tmp_path / "conf" / "secret.key"
    key.parent.mkdir()
    db = tmp_path / "ro.db"
    args = ("--db", f"sqlite:///{db}", "--key-file", key)
    doc = tmp_path / "doc.json"
    doc.write_text(json.dumps(doc_with_passwords(3)))  # no server profile: `test` reaches no network
    assert run("import", doc, *args, env=env).returncode == 0
    before, key_before = db.read_bytes(), key.read_text()
    doc.write_text(json.dumps(doc_with_passwords(first=100)))
    with immutable(db):
        for command in (["import", doc], ["rotate-key"]):
            assert "read-only" in one_line_error(run(*command, *args, env=env))
        tested = run("test", "--all", "--concurrency", "1", *args, env=env)  # progress lines come first
        assert tested.returncode == 1 and tested.stderr.strip().splitlines()[-1].startswith("mailbox-tui: error: ")
        assert "read-only" in tested.stderr
        exported = run("export", *args, env=env)
        assert exported.returncode == 0 and len(json.loads(exported.stdout)["users"]) == 3
    assert db.read_bytes() == before and key.read_text() == key_before
    assert sorted(p.name for p in key.parent.iterdir()) == ["secret.key"]


@contextlib.contextmanager
def small_disk(where: Path, size: str = "600k"):
    """A tmpfs of a few hundred kB, to fill for real (needs root and mount; skips otherwise)."""
    where.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
                                           capture_output=True).returncode != 0:
        pytest.skip("cannot mount a small tmpfs here")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=True)


def test_full_disk_names_the_disk_not_cannot_rollback(tmp_path):
    """Item 13: SQLite's own rollback after SQLITE_FULL hid the cause behind "cannot rollback"."""
    with small_disk(tmp_path / "disk", "900k") as disk:  # the demo's change history needs room too
        db = disk / "x.db"
        assert run("demo", "--users", "5", "--db", f"sqlite:///{db}").returncode == 0
        before = counts(db)
        filler = disk / "filler"
        with contextlib.suppress(OSError), filler.open("wb") as fh:
            fh.write(b"\0" * (2 << 20))  # as much as fits...
        os.truncate(filler, filler.stat().st_size - (96 << 10))  # ...less enough to open the database
        doc = tmp_path / "big.json"
        doc.write_text(json.dumps(doc_with_passwords(3000, first=100)))
        line = one_line_error(run("import", doc, "--db", f"sqlite:///{db}"))
        assert "is full: nothing was written" in line and "rollback" not in line
        filler.unlink()
        assert counts(db) == before
        assert run("check", "--db", f"sqlite:///{db}").returncode == 0


# ---------------------------------------------------------------- item 16, mistaken paths


def test_sqlite_url_in_a_missing_relative_folder_creates_nothing(tmp_path):
    line = one_line_error(run("check", "--db", "sqlite:///missing-dir/x.db", cwd=tmp_path))
    assert "missing-dir" in line
    assert not (tmp_path / "missing-dir").exists()
    line = one_line_error(run("import", tmp_path / "doc.json", "--db", "sqlite:///missing-dir/x.db", cwd=tmp_path))
    assert not (tmp_path / "missing-dir").exists()


def test_read_commands_on_a_database_that_does_not_exist_create_nothing(tmp_path):
    for command in (["check"], ["export"]):
        assert "There is no database" in one_line_error(run(*command, "--db", f"sqlite:///{tmp_path / 'typo.db'}"))
    assert not (tmp_path / "typo.db").exists()


def test_unrelated_sqlite_database_is_refused_untouched(tmp_path):
    other = tmp_path / "invoices.db"
    con = sqlite3.connect(other)
    con.execute("create table invoice (id integer primary key, total integer)")
    con.execute("insert into invoice values (1, 100)")
    con.commit()
    con.close()
    before = other.read_bytes()
    for command in (["check"], ["demo"]):
        assert "not a mailbox-tui database" in one_line_error(run(*command, "--db", f"sqlite:///{other}"))
    assert other.read_bytes() == before


def test_key_file_in_a_missing_folder_or_a_folder_says_so(seeded, tmp_path):
    env = no_key_env()
    line = one_line_error(run("check", "--db", f"sqlite:///{seeded}", "--key-file", "/missing/dir/key", env=env))
    assert "There is no folder /missing/dir" in line and not Path("/missing").exists()
    line = one_line_error(run("check", "--db", f"sqlite:///{seeded}", "--key-file", "/tmp", env=env))
    assert "/tmp is a folder, not a key file" in line and "chmod" not in line


def test_key_file_with_non_ascii_bytes_is_one_line(seeded, tmp_path):
    key = tmp_path / "k.key"
    key.write_bytes("clé\xff".encode("latin-1"))
    key.chmod(0o600)
    line = one_line_error(run("check", "--db", f"sqlite:///{seeded}", "--key-file", key, env=no_key_env()))
    assert "non-ASCII" in line


def test_json_export_to_a_folder_is_refused_without_a_part_file(seeded, tmp_path):
    out = tmp_path / "exports"
    out.mkdir()
    line = one_line_error(run("export", "--db", f"sqlite:///{seeded}", "--out", out), code=2)
    assert "is a folder" in line and ".part" not in line
    assert list(out.iterdir()) == [] and not (tmp_path / "exports.part").exists()


# ---------------------------------------------------------------- item 4, files the CLI writes


def test_symlink_planted_at_the_part_file_is_not_followed(seeded, tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    out = tmp_path / "all.json"
    (tmp_path / "all.json.part").symlink_to(victim)
    assert run("export", "--db", f"sqlite:///{seeded}", "--out", out).returncode == 0
    assert victim.read_text() == "precious"
    assert len(json.loads(out.read_text())["users"]) == 20
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".all.json")]  # no temporary file left


def test_csv_export_refuses_a_symlinked_file_and_never_writes_through_it(seeded, tmp_path):
    """Issue 21, item 5: exports write only regular files; a planted link is refused, not replaced."""
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    folder = tmp_path / "csv"
    folder.mkdir()
    (folder / "users.csv").symlink_to(victim)
    line = one_line_error(run("export", "--db", f"sqlite:///{seeded}", "--format", "csv", "--out", folder))
    assert "users.csv is a symbolic link, not a regular file" in line
    assert victim.read_text() == "precious"
    assert (folder / "users.csv").is_symlink()
    assert sorted(p.name for p in folder.iterdir()) == ["users.csv"]


def test_export_that_fails_midway_leaves_the_old_file_and_no_temporary(seeded, tmp_path):
    with small_disk(tmp_path / "disk", size="64k") as disk:
        out = disk / "all.json"
        out.write_text("the previous export")
        with contextlib.suppress(OSError), (disk / "filler").open("wb") as fh:
            fh.write(b"\0" * (1 << 20))  # as much as fits
        result = run("export", "--db", f"sqlite:///{seeded}", "--out", out)
        assert "No space left on device" in one_line_error(result) and str(out) in result.stderr
        assert out.read_text() == "the previous export"
        assert sorted(p.name for p in disk.iterdir()) == ["all.json", "filler"]


# ---------------------------------------------------------------- items 6 and 8, keys


def test_check_with_an_unreadable_key_reports_every_stored_password_as_an_error(seeded):
    env = dict(os.environ, MAILBOX_TUI_KEY=Fernet.generate_key().decode())
    result = run("check", "--db", f"sqlite:///{seeded}", "--json", env=env)
    assert result.returncode == 1
    report = json.loads(result.stdout)
    unreadable = [f for f in report["findings"] if f["rule"] == "KEY"]
    assert report["errors"] >= len(unreadable) > 20 and all(f["severity"] == "error" for f in unreadable)
    text = run("check", "--db", f"sqlite:///{seeded}", env=env)
    assert text.returncode == 1 and "KEY error: The stored password can't be read" in text.stdout


def test_import_under_the_wrong_key_is_refused_and_writes_nothing(seeded, tmp_path):
    env = dict(os.environ, MAILBOX_TUI_KEY=Fernet.generate_key().decode())
    doc = tmp_path / "doc.json"
    doc.write_text(json.dumps(doc_with_passwords(first=200)))
    before = counts(seeded)
    for dry in ([], ["--dry-run"]):
        line = one_line_error(run("import", doc, *dry, "--db", f"sqlite:///{seeded}", env=env))
        assert "A team shares one key" in line and "Nothing was written" in line
    assert counts(seeded) == before


def test_two_admins_on_one_postgres_database_share_one_key(pg_database_url, tmp_path):
    """Item 8, as a team would: each admin has their own first-run key; the second is told how to share
    the first's, can't write passwords nobody else could read, and then works with the shared key."""
    def admin(name: str) -> dict:
        home = tmp_path / name
        return dict(no_key_env(), HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"),
                    XDG_DATA_HOME=str(home / ".local" / "share"))

    first, second = admin("first"), admin("second")
    assert run("demo", "--users", "2", env=second).returncode == 0  # a first run on their own laptop database
    second_key = tmp_path / "second" / ".config" / "mailbox-tui" / "secret.key"
    assert second_key.exists()
    doc = tmp_path / "doc.json"
    doc.write_text(json.dumps(doc_with_passwords(3)))
    assert run("import", doc, "--db", pg_database_url, env=first).returncode == 0

    check = run("check", "--db", pg_database_url, env=second)
    assert check.returncode == 1 and "KEY error" in check.stdout
    assert "A team shares one key" in check.stderr and "chmod 640" in check.stderr
    more = tmp_path / "more.json"
    more.write_text(json.dumps(doc_with_passwords(2, first=10)))
    one_line_error(run("import", more, "--db", pg_database_url, env=second))
    assert len(json.loads(run("export", "--db", pg_database_url, env=first).stdout)["users"]) == 3

    first_key = tmp_path / "first" / ".config" / "mailbox-tui" / "secret.key"
    shutil.copyfile(first_key, second_key)
    second_key.chmod(0o640)  # the team's group may read it
    assert run("import", more, "--db", pg_database_url, env=second).returncode == 0
    assert run("check", "--db", pg_database_url, env=first).returncode == 0  # the first reads what the second wrote
    third = dict(admin("third"), MAILBOX_TUI_KEY=first_key.read_text().strip())
    assert run("check", "--db", pg_database_url, env=third).returncode == 0


# ---------------------------------------------------------------- item 15, readers and writers


@contextlib.contextmanager
def another_writer(db: Path):
    """A real SQLite writer holding the write lock, as an import does while it writes (a test-held
    transaction rather than a big import, so the timing does not depend on the machine's speed)."""
    con = sqlite3.connect(db, isolation_level=None, timeout=1)
    con.execute("BEGIN IMMEDIATE")
    con.execute("update organization_settings set id = id")
    try:
        yield
    finally:
        con.execute("COMMIT")
        con.close()


def test_readers_never_wait_for_a_writer(seeded):
    with another_writer(seeded):
        for command in (["export"], ["check"]):
            started = time.monotonic()
            result = run(*command, "--db", f"sqlite:///{seeded}")
            assert result.returncode == 0, result.stderr
            assert time.monotonic() - started < 4, command


def test_a_writer_that_must_wait_says_so_then_writes(seeded, tmp_path):
    doc = tmp_path / "doc.json"
    doc.write_text(json.dumps(doc_with_passwords(first=300)))
    with another_writer(seeded):
        proc = subprocess.Popen([sys.executable, "-m", "mailbox_tui", "import", str(doc), "--db",
                                 f"sqlite:///{seeded}"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                stdin=subprocess.DEVNULL)
        time.sleep(6)  # longer than SQLite's 5 s busy timeout: the import still waits
        assert proc.poll() is None, proc.communicate()
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "waiting for another writer" in err and "Imported" in out
