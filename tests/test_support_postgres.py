"""The PostgreSQL fixture itself: a real server, a fresh empty database per test.

Skips (with the fixture's reason) when no PostgreSQL is available.
"""

import pytest

from support.postgres import database_url


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
