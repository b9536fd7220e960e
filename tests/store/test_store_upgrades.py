"""Upgrades lose nothing: a database made by each earlier release, opened by today's code.

The fixtures (tests/fixtures/upgrades/) were written by the releases themselves (build.py there says
how), with what each release's `export` and `check` said about them. Today's mailbox-tui, run as an
admin runs it, must upgrade each one keeping every record, every reference and every secret, export
exactly what the release exported plus the new fields' defaults, and keep a copy of the old database.
"""

from __future__ import annotations

import gzip
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import peewee
import pytest
from cryptography.fernet import Fernet, InvalidToken

from mailbox_tui.domain import fields as F
from mailbox_tui.store import migrations
from mailbox_tui.store.database import Store, StoreError, schema_version
from mailbox_tui.store.migrations import SCHEMA_VERSION

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "upgrades"
sys.path.insert(0, str(FIXTURES))
from build import FIXTURE_KEY, FORWARD_SECRET, RELEASES  # noqa: E402

EARLIER = list(range(1, SCHEMA_VERSION))
# Findings a rule added after a release may make on what that release stored, and why that is right:
# P14 (schema 5) asks an OAuth profile for its Client ID, secret and tenant, which no release before it
# could store; the profile could not connect without them.
# P16 (schema 8, issue 23) warns that an Exchange Online profile pointing at an EWS URL stops working when EWS
# is switched off: the fixtures' Exchange Online profile has one, as every release before Graph wrote it.
NEW_RULES_SINCE = {"P14": 5, "P16": 8}


def test_every_earlier_schema_has_a_fixture_made_by_its_release():
    assert sorted(RELEASES) == EARLIER, "a new migration needs a fixture of the schema before it: see build.py"
    missing = [n for n in EARLIER for part in ("db.gz", "export.json", "check.json", "pg.sql.gz", "pg.export.json",
                                               "pg.check.json")
               if not (FIXTURES / f"schema{n}.{part}").is_file()]
    assert missing == []


def unpack(schema: int, folder: Path) -> Path:
    db = folder / "mailboxes.db"
    db.write_bytes(gzip.decompress((FIXTURES / f"schema{schema}.db.gz").read_bytes()))
    return db


def cli(db: Path | str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    env = {**os.environ, "MAILBOX_TUI_KEY": FIXTURE_KEY}
    env.pop("MAILBOX_TUI_DB", None)
    url = db if isinstance(db, str) else f"sqlite:///{db}"
    done = subprocess.run([sys.executable, "-m", "mailbox_tui", "--db", url, *args], env=env,
                          capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert "Traceback" not in done.stderr, done.stderr
    if check:
        assert done.returncode == 0, done.stderr
    return done


def raw(db: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True)


def record_tables(con: sqlite3.Connection) -> list[str]:
    """The tables that hold records (not SQLite's own, nor the filters' full-text indexes)."""
    return [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND sql NOT LIKE "
                                      "'CREATE VIRTUAL%' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '%filter%'"
                                      " AND name NOT LIKE '%search%'")]


def holdings(db: Path) -> dict[str, int]:
    """Rows per table and references per reference column, read without mailbox-tui."""
    con = raw(db)
    try:
        counts = {}
        for table in record_tables(con):
            counts[table] = con.execute(f'SELECT COUNT(*) FROM "{table}"').fetchone()[0]
            for fk in con.execute(f'PRAGMA foreign_key_list("{table}")'):
                counts[f"{table}.{fk[3]}"] = con.execute(f'SELECT COUNT("{fk[3]}") FROM "{table}"').fetchone()[0]
        return counts
    finally:
        con.close()


def secrets(db: Path) -> dict[tuple[str, int, str], bytes]:
    """Every value encrypted with the fixtures' key, decrypted: (table, primary key, column) -> plaintext."""
    fernet, found = Fernet(FIXTURE_KEY), {}
    con = raw(db)
    try:
        for table in record_tables(con):
            info = list(con.execute(f'PRAGMA table_info("{table}")'))
            columns, key = [c[1] for c in info], next(i for i, c in enumerate(info) if c[5] == 1)
            for row in con.execute(f'SELECT * FROM "{table}"'):
                for column, value in zip(columns, row):
                    if isinstance(value, str) and value.startswith("gAAAAA"):
                        try:
                            found[(table, row[key], column)] = fernet.decrypt(value.encode())
                        except InvalidToken:
                            pass
        return found
    finally:
        con.close()


def structure(db: Path) -> set[tuple[str, str]]:
    con = raw(db)
    try:
        return set(con.execute("SELECT type, name FROM sqlite_master WHERE type IN ('index', 'trigger', 'table')"))
    finally:
        con.close()


def exchange_defaults() -> dict[str, object]:
    """What an exchange column holds for a field left at its declared default."""
    defaults = {}
    for field in (*F.PROFILE_FIELDS, *F.MAILBOX_FIELDS, *F.USER_FIELDS, *F.QUEUE_FIELDS):
        for column in field.exchange_columns:
            defaults[column] = None if field.default in ("", None) else field.default
        if field.secret:  # a secret exports as null, beside whether it is set
            defaults[f"is{field.logical}set"] = False
    return defaults


# Columns first exported after the release that stored them: each is what that release recorded, which its
# export showed in another column (Test & Enable set a direction's enabled flag exactly when it succeeded).
NEWLY_EXPORTED = {"enabledforincomingemail": "incomingemailstatus", "enabledforoutgoingemail": "outgoingemailstatus",
                  "enabledforact": "actstatus"}


def expected_new_column(was: dict, column: str, defaults: dict) -> object:
    if column in NEWLY_EXPORTED and NEWLY_EXPORTED[column] in was:
        return was[NEWLY_EXPORTED[column]] == 1  # Success
    return defaults[column]


def assert_exports_what_it_exported(stem: str, exported: str) -> None:
    """The same records and values as the release exported, and each new field at its default."""
    old = json.loads((FIXTURES / f"{stem}.export.json").read_text())
    new = json.loads(exported)
    defaults = exchange_defaults()
    assert list(new) == list(old)
    for section, records in old.items():
        assert len(new[section]) == len(records)
        for was, now in zip(records, new[section]):
            assert {k: now.get(k) for k in was} == was, f"{section}: a value changed"
            assert {k: v for k, v in now.items() if k not in was} == {
                k: expected_new_column(was, k, defaults) for k in now if k not in was}


def assert_finds_nothing_new(stem: str, schema: int, checked: str) -> None:
    said = json.loads((FIXTURES / f"{stem}.check.json").read_text())["findings"]
    found = json.loads(checked)["findings"]

    def key(f):
        return (f["record"], f["name"], f["rule"], f.get("field"))

    new = [f for f in found if key(f) not in {key(s) for s in said}]
    assert [f for f in new if NEW_RULES_SINCE.get(f["rule"], 0) <= schema] == []
    if schema < NEW_RULES_SINCE["P14"]:  # the fixtures' OAuth profile: its new settings are asked for, nothing else
        assert {(f["name"], f["rule"]) for f in new} - {("Exchange Online", "P16")} == {("Exchange Online", "P14")}


@pytest.mark.parametrize("schema", EARLIER)
def test_an_older_database_upgrades_keeping_every_record_reference_and_secret(schema, tmp_path):
    db = unpack(schema, tmp_path)
    before, kept_secrets, old_structure = holdings(db), secrets(db), structure(db)
    assert before["mailbox.profile_id"] > 50 and kept_secrets, "the fixture holds references and secrets"

    export = cli(db, "export")

    assert f"upgraded from schema {schema} to {SCHEMA_VERSION}" in export.stderr
    after = holdings(db)
    assert {name: (n, after.get(name)) for name, n in before.items() if after.get(name) != n} == {}
    assert secrets(db) == kept_secrets
    assert FORWARD_SECRET.encode() in kept_secrets.values()
    assert old_structure <= structure(db), "no index, trigger or table of the old database is gone"
    con = raw(db)
    try:
        assert con.execute("PRAGMA foreign_key_check").fetchall() == []
        assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == (str(SCHEMA_VERSION),)
        assert con.execute("SELECT default_profile_id FROM organization_settings").fetchone()[0] is not None
    finally:
        con.close()

    assert_exports_what_it_exported(f"schema{schema}", export.stdout)


@pytest.mark.parametrize("schema", EARLIER)
def test_check_finds_nothing_new_after_an_upgrade_but_what_newer_rules_ask(schema, tmp_path):
    db = unpack(schema, tmp_path)
    assert_finds_nothing_new(f"schema{schema}", schema, cli(db, "--json", "check", check=False).stdout)


@pytest.mark.parametrize("schema", [3, 4])
def test_the_copy_kept_before_an_upgrade_is_the_database_as_it_was(schema, tmp_path):
    db = unpack(schema, tmp_path)
    original, original_secrets = holdings(db), secrets(db)

    cli(db, "check", check=False)
    copy = tmp_path / f"mailboxes.db.schema{schema}.bak"
    assert copy.is_file() and oct(copy.stat().st_mode & 0o777) == oct(db.stat().st_mode & 0o777)
    assert holdings(copy) == original and secrets(copy) == original_secrets
    con = raw(copy)
    try:
        assert con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == (str(schema),)
    finally:
        con.close()

    again = cli(db, "check", check=False)  # upgraded now: no second copy, no note
    assert "upgraded" not in again.stderr
    assert sorted(p.name for p in tmp_path.glob("*.bak")) == [copy.name]


def test_a_second_copy_never_replaces_the_first(tmp_path):
    db = unpack(3, tmp_path)
    first = tmp_path / "mailboxes.db.schema3.bak"
    first.write_bytes(b"an older copy the admin kept")
    note = cli(db, "check", check=False).stderr
    assert first.read_bytes() == b"an older copy the admin kept"
    assert "mailboxes.db.schema3-2.bak" in note and (tmp_path / "mailboxes.db.schema3-2.bak").is_file()


def test_no_copy_is_made_of_a_new_database_or_a_current_one(tmp_path):
    db = tmp_path / "mailboxes.db"
    cli(db, "demo")
    cli(db, "check")
    assert list(tmp_path.glob("*.bak")) == []


def test_an_upgrade_that_cannot_keep_its_copy_changes_nothing(tmp_path, monkeypatch):
    # A full disk can't be provoked here: the copy's creation is made to fail as a full disk fails it.
    db = unpack(4, tmp_path)
    before = holdings(db)
    real_open = os.open

    def full(path, *args, **kwargs):
        if str(path).endswith(".bak"):
            raise OSError(28, "No space left on device")
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(migrations.os, "open", full)
    with pytest.raises(StoreError, match=r"schema 4 .*could not be kept first.*No space left.*nothing was changed"):
        Store(f"sqlite:///{db}")
    assert holdings(db) == before and list(tmp_path.glob("*.bak")) == []
    with sqlite3.connect(db) as con:
        assert con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == ("4",)


def test_a_step_that_would_lose_references_is_undone(tmp_path, monkeypatch):
    # Today's steps lose nothing; this step is made to do what migration 4 did before it was mended.
    db = unpack(4, tmp_path)
    before = holdings(db)

    step = migrations.MIGRATIONS[5]

    def lossy(database: peewee.Database) -> None:
        step(database)
        database.execute_sql("UPDATE mailbox SET profile_id = NULL")

    monkeypatch.setitem(migrations.MIGRATIONS, 5, lossy)
    with pytest.raises(StoreError, match=r"upgrade from schema 4 to \d+ would lose data \(mailbox.profile_id 57 → 0\)"):
        Store(f"sqlite:///{db}")
    assert holdings(db) == before
    with sqlite3.connect(db) as con:
        assert con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == ("4",)


def test_an_upgrade_is_all_or_nothing(tmp_path, monkeypatch):
    # A step that fails for a reason of its own (here, made to): the steps before it are undone too.
    db = unpack(4, tmp_path)
    before = holdings(db)

    def failing(database: peewee.Database) -> None:
        raise StoreError("step 7 could not run")

    monkeypatch.setitem(migrations.MIGRATIONS, 7, failing)
    with pytest.raises(StoreError, match="step 7 could not run"):
        Store(f"sqlite:///{db}")
    assert holdings(db) == before
    with sqlite3.connect(db) as con:
        assert con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == ("4",)
        assert "oauth_client_id" not in {c[1] for c in con.execute("PRAGMA table_info(email_server_profile)")}
        assert "change_entry" not in {r[0] for r in con.execute("SELECT name FROM sqlite_master")}


def test_foreign_keys_are_on_again_after_an_upgrade(tmp_path):
    db = unpack(3, tmp_path)
    with Store(f"sqlite:///{db}", key_path=tmp_path / "unused.key") as store:
        assert schema_version(store.db) == SCHEMA_VERSION
        assert store.db.execute_sql("PRAGMA foreign_keys").fetchone() == (1,)
        assert store.upgrade_notes and "schema 3 to" in store.upgrade_notes[0]


# ------------------------------------------------------------------------------------ PostgreSQL
def pg_load(schema: int, url: str) -> None:
    """The release's database: its pg_dump, loaded as an admin restores one (psql)."""
    from support.postgres import pg_bindir

    psql = str(pg_bindir() / "psql") if pg_bindir() else "psql"
    dump = gzip.decompress((FIXTURES / f"schema{schema}.pg.sql.gz").read_bytes())
    subprocess.run([psql, "-q", "-v", "ON_ERROR_STOP=1", "-X", "-d", url], input=dump, check=True,
                   capture_output=True, timeout=120)


def pg_holdings(url: str) -> tuple[dict[str, int], dict[tuple[str, str, str], bytes]]:
    """Rows per table, references per reference column, and every secret decrypted."""
    import psycopg

    fernet, counts, found = Fernet(FIXTURE_KEY), {}, {}
    with psycopg.connect(url) as con:
        tables = [r[0] for r in con.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = "
                                            "'public' AND table_type = 'BASE TABLE'")]
        refs = con.execute("SELECT k.table_name, k.column_name FROM information_schema.table_constraints c JOIN "
                           "information_schema.key_column_usage k USING (constraint_schema, constraint_name) "
                           "WHERE c.constraint_type = 'FOREIGN KEY' AND c.table_schema = 'public'").fetchall()
        for table in tables:
            counts[table] = con.execute(f'SELECT COUNT(*) FROM "{table}"').fetchone()[0]
            cursor = con.execute(f'SELECT * FROM "{table}"')
            columns = [d.name for d in cursor.description]
            for row in cursor:
                for column, value in zip(columns, row):
                    if isinstance(value, str) and value.startswith("gAAAAA"):
                        found[(table, str(row[0]), column)] = fernet.decrypt(value.encode())
        for table, column in refs:
            counts[f"{table}.{column}"] = con.execute(f'SELECT COUNT("{column}") FROM "{table}"').fetchone()[0]
    return counts, found


@pytest.mark.postgres
@pytest.mark.parametrize("schema", EARLIER)
def test_an_older_postgresql_database_upgrades_keeping_everything(schema, pg_database_url):
    pg_load(schema, pg_database_url)
    before, kept_secrets = pg_holdings(pg_database_url)
    assert before["mailbox.profile_id"] > 50 and FORWARD_SECRET.encode() in kept_secrets.values()

    export = cli(pg_database_url, "export")

    assert f"upgraded from schema {schema} to {SCHEMA_VERSION}" in export.stderr
    after, secrets_after = pg_holdings(pg_database_url)
    assert {name: (n, after.get(name)) for name, n in before.items() if after.get(name) != n} == {}
    assert secrets_after == kept_secrets
    assert_exports_what_it_exported(f"schema{schema}.pg", export.stdout)
    assert_finds_nothing_new(f"schema{schema}.pg", schema, cli(pg_database_url, "--json", "check", check=False).stdout)


async def test_the_app_says_the_database_was_upgraded_and_where_the_copy_is(tmp_path):
    from mailbox_tui.ui.app import MailboxApp

    shown = []
    db = unpack(3, tmp_path)
    with Store(f"sqlite:///{db}", key_path=tmp_path / "unused.key") as store:
        app = MailboxApp(store)
        notify = app.notify

        def watched(message, **kwargs):
            shown.append(message)
            notify(message, **kwargs)

        app.notify = watched
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
    assert any("upgraded from schema 3 to" in m and "mailboxes.db.schema3.bak" in m for m in shown), shown


# ------------------------------------------------------------------------------------ mailbox-tui upgrade
def test_the_upgrade_command_upgrades_says_so_and_then_has_nothing_to_do(tmp_path):
    db = unpack(4, tmp_path)
    before = holdings(db)

    first = cli(db, "upgrade")
    assert first.stdout.strip() == (f"This database was upgraded from schema 4 to {SCHEMA_VERSION}; a copy of it as it "
                                    f"was is kept at {tmp_path / 'mailboxes.db.schema4.bak'}.")
    assert first.stderr == "" and holdings(tmp_path / "mailboxes.db.schema4.bak") == before
    again = json.loads(cli(db, "--json", "upgrade").stdout)
    assert again == {"found": SCHEMA_VERSION, "schema": SCHEMA_VERSION, "copy": None}


def test_the_upgrade_command_never_creates_a_database(tmp_path):
    done = cli(tmp_path / "typo.db", "upgrade", check=False)
    assert done.returncode == 1 and "There is no database at" in done.stderr
    assert list(tmp_path.glob("typo.db*")) == []


# ------------------------------------------------------------------------------------ one upgrade at a time
def spawn(url: str, *args: str) -> subprocess.Popen:
    env = {**os.environ, "MAILBOX_TUI_KEY": FIXTURE_KEY}
    env.pop("MAILBOX_TUI_DB", None)
    return subprocess.Popen([sys.executable, "-m", "mailbox_tui", "--db", url, *args], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)


def finished(process: subprocess.Popen) -> tuple[int, str, str]:
    """Its exit code and output, read while it writes: an export fills a pipe, and waiting first would hang."""
    out, err = process.communicate(timeout=120)
    return process.returncode, out, err


@pytest.mark.postgres
def test_two_processes_opening_an_empty_postgresql_database_at_once_both_succeed(pg_database_url):
    runs = [spawn(pg_database_url, "export") for _ in range(3)]
    results = [finished(p) for p in runs]
    assert [(code, err) for code, out, err in results if code != 0] == []
    assert all(json.loads(out)["users"] == [] for _, out, _ in results)


@pytest.mark.postgres
def test_a_second_process_waits_for_an_upgrade_under_way_and_says_so(pg_database_url):
    import psycopg

    pg_load(3, pg_database_url)
    before, _ = pg_holdings(pg_database_url)
    with psycopg.connect(pg_database_url, autocommit=True) as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", (migrations.UPGRADE_LOCK,))  # "another mailbox-tui"
        waiting = spawn(pg_database_url, "check")
        with pytest.raises(subprocess.TimeoutExpired):
            waiting.wait(timeout=3)
        holder.execute("SELECT pg_advisory_unlock(%s)", (migrations.UPGRADE_LOCK,))
    code, (out, err) = waiting.wait(timeout=120), waiting.communicate()
    assert "another mailbox-tui is upgrading this database: waiting" in err
    assert f"upgraded from schema 3 to {SCHEMA_VERSION}" in err and "Traceback" not in err
    after, _ = pg_holdings(pg_database_url)
    assert {name: (n, after.get(name)) for name, n in before.items() if after.get(name) != n} == {}


@pytest.mark.postgres
def test_two_processes_upgrading_an_older_postgresql_database_at_once_upgrade_it_once(pg_database_url):
    pg_load(4, pg_database_url)
    before, secrets_before = pg_holdings(pg_database_url)
    runs = [spawn(pg_database_url, "export") for _ in range(2)]
    results = [finished(p) for p in runs]
    assert [(code, err) for code, out, err in results if code != 0] == []
    assert sum("upgraded from schema 4" in err for _, _, err in results) == 1
    after, secrets_after = pg_holdings(pg_database_url)
    assert {name: (n, after.get(name)) for name, n in before.items() if after.get(name) != n} == {}
    assert secrets_after == secrets_before


@pytest.mark.postgres
def test_a_role_that_may_not_upgrade_is_told_who_must_in_one_sentence(pg_database_url):
    import psycopg
    from support.postgres import limited_role_url

    pg_load(3, pg_database_url)
    with limited_role_url(pg_database_url) as limited:
        with psycopg.connect(pg_database_url, autocommit=True) as con:  # the tables are the owner's
            con.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
            role = limited.split("://", 1)[1].split("@", 1)[0]
            con.execute(f'REVOKE CREATE ON SCHEMA public FROM "{role}"')
            con.execute(f'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO "{role}"')
        done = cli(limited, "check", check=False)
        assert done.returncode == 1
        assert done.stderr.strip().splitlines() == [
            f"mailbox-tui: error: This database has schema 3 and this mailbox-tui needs {SCHEMA_VERSION}, but this PostgreSQL "
            "role may not change its tables: nothing was changed. The database's owner must run `mailbox-tui "
            "upgrade` once."]
        with psycopg.connect(pg_database_url) as con:
            assert con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == ("3",)
        owner = cli(pg_database_url, "upgrade")
        assert f"upgraded from schema 3 to {SCHEMA_VERSION}" in owner.stdout
        assert cli(limited, "--json", "check", check=False).returncode in (0, 1)
