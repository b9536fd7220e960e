"""The PostgreSQL fixture itself: a real server, a fresh database per test."""

import psycopg


def test_fresh_database_is_real_and_empty(pg_database_url):
    with psycopg.connect(pg_database_url, autocommit=True) as con:
        tables = con.execute("select count(*) from information_schema.tables where table_schema='public'").fetchone()
        assert tables == (0,)
        con.execute("create table t (x int)")
        con.execute("insert into t values (42)")
        assert con.execute("select x from t").fetchone() == (42,)
