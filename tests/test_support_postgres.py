"""The PostgreSQL fixture itself: a real server, a fresh empty database per test.

Skips (with the fixture's reason) when no PostgreSQL is available.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from support.postgres import BIN_ENV, database_url, pg_bindir


def test_fresh_database_is_real_empty_and_writable(pg_database_url):
    psycopg = pytest.importorskip("psycopg")
    with psycopg.connect(pg_database_url, autocommit=True) as con:
        assert con.execute("select current_database()").fetchone()[0].startswith("mailbox_tui_test_")
        tables = con.execute("select count(*) from information_schema.tables "
                             "where table_schema = 'public'").fetchone()
        assert tables == (0,)
        con.execute("create table t (id serial primary key, note text not null)")
        con.execute("insert into t (note) values (%s)", ("héllo",))
        assert con.execute("select id, note from t").fetchall() == [(1, "héllo")]


def test_database_url_keeps_everything_but_the_name():
    assert (database_url("postgresql://postgres@127.0.0.1:5433/postgres?sslmode=disable", "x")
            == "postgresql://postgres@127.0.0.1:5433/x?sslmode=disable")


def _version_command(env: dict) -> str:
    script = Path(__file__).parent / "support" / "postgres.py"
    result = subprocess.run([sys.executable, str(script), "version"], env=env, capture_output=True, text=True,
                            timeout=60, check=True)
    return result.stdout.strip()


def test_version_names_the_server_binary_that_start_runs():
    bindir = pg_bindir()
    if bindir is None or not (bindir / "postgres").exists():
        pytest.skip("no PostgreSQL server binary here")
    expected = subprocess.run([str(bindir / "postgres"), "--version"], capture_output=True, text=True,
                              timeout=30, check=True).stdout.strip()

    assert _version_command(dict(os.environ)) == f"{expected} ({bindir / 'postgres'})"


def test_version_says_none_without_a_server_binary(tmp_path):
    assert _version_command({**os.environ, BIN_ENV: str(tmp_path)}).startswith("none")
