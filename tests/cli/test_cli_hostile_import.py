"""`mailbox-tui import` of hostile files, each in its own process of the installed CLI, on a real
SQLite file: one clear line, exit 1, nothing written, never a traceback (issue 12, items 13, 17)."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

TABLES = ("email_server_profile", "app_user", "queue", "mailbox", "mailbox_alert", "organization_settings", "meta")


def cli(*args) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).with_name("mailbox-tui")
    command = [str(exe)] if exe.exists() else [sys.executable, "-m", "mailbox_tui"]
    return subprocess.run([*command, *map(str, args)], capture_output=True, text=True, env=os.environ.copy(),
                          timeout=120, stdin=subprocess.DEVNULL)


def rows(db: str) -> dict:
    con = sqlite3.connect(db.removeprefix("sqlite:///"))
    try:
        return {t: con.execute(f'select * from "{t}" order by 1').fetchall() for t in TABLES}
    finally:
        con.close()


@pytest.fixture
def db(tmp_path):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    assert cli("demo", "--db", url, "--users", "3").returncode == 0
    return url


FILES = {
    "deep.json": b"[" * 100_000 + b"]" * 100_000,
    "infinity.json": b'{"profiles": [{"name": "P", "incomingportnumber": Infinity}]}',
    "nan.json": b'{"profiles": [{"name": "P", "timeoutseconds": NaN}]}',
    "huge.json": b'{"profiles": [{"name": "P", "incomingportnumber": 1e400}]}',
    "digits.json": b'{"profiles": [{"name": "P", "incomingportnumber": ' + b"7" * 5000 + b"}]}",
    "latin1.json": '{"users": [{"fullname": "Jörg"}]}'.encode("latin-1"),
    "list.json": b'[{"fullname": "x"}]',
    "users.csv": b"fullname,internalemailaddress\n\xff\xfe,a@example.com\n",
}


@pytest.mark.parametrize("name", FILES)
def test_import_of_a_file_that_is_no_exchange_document_says_why_in_one_line(db, tmp_path, name):
    path = tmp_path / name
    path.write_bytes(FILES[name])
    before = rows(db)
    result = cli("import", path, "--db", db)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("mailbox-tui: error: "), result.stderr
    assert rows(db) == before


def test_import_of_values_the_rules_refuse_lists_each_and_writes_nothing(db, tmp_path):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"profiles": [{
        "name": "Pinned", "servertype": 4, "incomingserverlocation": "imap.example.com",
        "outgoingserverlocation": "smtp.example.com", "incomingportnumber": 993.7, "statecode": 7,
        "incomingcertsha256": "-", "incomingcredentialretrieval": 1, "outgoingcredentialretrieval": 1,
        "username": "u\r\nDELE 1", "password": "p" * (1024 * 1024)}]}))
    before = rows(db)
    result = cli("import", path, "--db", db)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    for expected in ("profiles[1] FORMAT error: incomingportnumber must be a whole number, not 993.7.",
                     "profiles[1] R1 error:", "profiles[1] P13 error:", "profiles[1] M20 error:",
                     "profiles[1] P6 error: Password is at most 200 characters.", "Nothing was written: 5 errors."):
        assert expected in result.stderr, result.stderr
    assert len(result.stderr) < 2000
    assert rows(db) == before


def test_import_of_a_csv_file_with_a_byte_order_mark_keeps_its_first_column(db, tmp_path):
    path = tmp_path / "users.csv"
    path.write_bytes(b"\xef\xbb\xbffullname,internalemailaddress\r\nZo\xc3\xab Bom,zoe.bom@example.com\r\n")
    result = cli("import", path, "--db", db)
    assert result.returncode == 0, result.stderr
    con = sqlite3.connect(db.removeprefix("sqlite:///"))
    try:
        assert con.execute("select full_name from app_user where email = 'zoe.bom@example.com'").fetchone() == (
            "Zoë Bom",)
    finally:
        con.close()


def test_csv_export_of_formula_names_reimports_unchanged(tmp_path):
    db = f"sqlite:///{tmp_path / 'formula.db'}"
    path = tmp_path / "users.json"
    path.write_text(json.dumps({"users": [{"fullname": "=HYPERLINK(\"http://evil\")", "internalemailaddress":
                                           "=cmd@example.com"}]}))
    assert cli("import", path, "--db", db).returncode == 0
    out = tmp_path / "csv"
    assert cli("export", "--format", "csv", "--out", out, "--db", db).returncode == 0
    assert "\n\"'=HYPERLINK(" in (out / "users.csv").read_text(encoding="utf-8")
    before = rows(db)
    result = cli("import", out, "--db", db)
    assert result.returncode == 0, result.stderr
    assert "0 created/0 updated users" in result.stdout
    assert rows(db) == before
