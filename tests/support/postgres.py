"""A throwaway PostgreSQL server for tests, and the fixtures that hand out fresh databases.

Command line (used by scripts/test)::

    python tests/support/postgres.py start DIR   # prints postgresql://postgres@127.0.0.1:PORT/postgres
    python tests/support/postgres.py stop DIR    # stops that server and removes DIR
    python tests/support/postgres.py available   # exit 0 if a server can be started here
    python tests/support/postgres.py version     # `postgres --version` of the server `start` runs, or none

Pytest (``pytest_plugins = ["support.postgres"]`` with ``pythonpath = ["tests"]``):

* ``pg_url`` (session): ``$MAILBOX_TUI_TEST_PG_URL`` if set, else a throwaway server for the
  session, else the test is skipped.
* ``pg_database_url`` (function): a brand-new empty database on that server, dropped afterwards.

The server runs as the ``postgres`` user when we are root (initdb refuses to run as root), so its
directory is chowned to ``postgres`` and must not sit under a root-only directory such as
pytest's ``tmp_path``.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

URL_ENV = "MAILBOX_TUI_TEST_PG_URL"
BIN_ENV = "MAILBOX_TUI_PG_BIN"  # optional: directory holding initdb/pg_ctl
SKIP_REASON = f"PostgreSQL not available: set {URL_ENV} or install postgresql"
_START_ATTEMPTS = 3  # a fresh port each time, in case another process grabbed ours


def pg_bindir() -> Path | None:
    """Where initdb and pg_ctl live: $MAILBOX_TUI_PG_BIN, the newest Debian version, or $PATH."""
    if os.environ.get(BIN_ENV):
        return Path(os.environ[BIN_ENV])
    versions = [p.parent for p in Path("/usr/lib/postgresql").glob("*/bin/initdb")]
    if versions:
        return max(versions, key=lambda b: int(b.parent.name) if b.parent.name.isdigit() else -1)
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def server_version() -> str | None:
    """What `postgres --version` says of the server binary :func:`start_postgres` runs, with its
    path; None when there is none."""
    bindir = pg_bindir()
    binary = bindir / "postgres" if bindir else None
    if binary is None or not binary.exists():
        return None
    try:
        result = subprocess.run([str(binary), "--version"], stdin=subprocess.DEVNULL, capture_output=True,
                                text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    line = result.stdout.strip().splitlines()[0] if result.returncode == 0 and result.stdout.strip() else ""
    return f"{line} ({binary})" if line else None


def _is_root() -> bool:
    return os.geteuid() == 0


def available() -> bool:
    """True when this machine can start a throwaway server (binaries, and a postgres user if root)."""
    bindir = pg_bindir()
    if bindir is None or not (bindir / "initdb").exists() or not (bindir / "pg_ctl").exists():
        return False
    if _is_root():
        import pwd

        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return False
        return shutil.which("runuser") is not None
    return True


def _run(*cmd: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run a command as the postgres user when we are root (as ourselves otherwise)."""
    prefix = ["runuser", "-u", "postgres", "--"] if _is_root() else []
    return subprocess.run([*prefix, *cmd], stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=timeout)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _tail(path: Path, limit: int = 3000) -> str:
    try:
        return path.read_text(errors="replace")[-limit:]
    except OSError:
        return ""


def _stop_cluster(data: Path) -> None:
    """Stop the server on this data directory, if one runs; never touches any other cluster."""
    if not (data / "postmaster.pid").exists():
        return
    pg_ctl = str(pg_bindir() / "pg_ctl")
    try:
        result = _run(pg_ctl, "-D", str(data), "-m", "fast", "-w", "-t", "30", "stop", timeout=60)
        failed = result.returncode != 0 and (data / "postmaster.pid").exists()
    except subprocess.TimeoutExpired:
        failed = True
    if failed:
        _run(pg_ctl, "-D", str(data), "-m", "immediate", "-w", "-t", "30", "stop", timeout=60)


def start_postgres(base_dir: str | Path | None = None) -> tuple[str, Path]:
    """initdb a fresh cluster in ``base_dir/data`` and start it on a free loopback port.

    Returns ``(url, handle)``; pass the handle (the base directory) to :func:`stop_postgres`.
    ``base_dir`` defaults to a new temporary directory. Leftovers of an earlier server in
    ``base_dir`` are stopped and wiped first, so ``start`` is safe to repeat.
    """
    if not available():
        raise RuntimeError(SKIP_REASON)
    bindir = pg_bindir()
    base = Path(base_dir) if base_dir else Path(tempfile.mkdtemp(prefix="mailbox-tui-pg-"))
    base = base.resolve()
    base.mkdir(parents=True, exist_ok=True)
    data = base / "data"
    if data.exists():
        _stop_cluster(data)
        shutil.rmtree(data)
    (base / "url").unlink(missing_ok=True)
    os.chmod(base, 0o755)
    if _is_root():
        shutil.chown(base, "postgres", "postgres")
        if _run("test", "-w", str(base), "-a", "-x", str(base)).returncode != 0:
            raise RuntimeError(f"the postgres user cannot write {base}: a parent directory is not traversable "
                               "(pytest's tmp_path is root-only; use tempfile.mkdtemp())")

    result = _run(str(bindir / "initdb"), "-D", str(data), "--auth=trust", "-U", "postgres", "-E", "UTF8",
                  "--locale=C", "--no-sync")
    if result.returncode != 0:
        raise RuntimeError(f"initdb failed in {data}: {result.stderr.strip() or result.stdout.strip()}")

    log = base / "server.log"
    for attempt in range(1, _START_ATTEMPTS + 1):
        port = _free_port()
        # Socket in base (not /var/run/postgresql, which may not exist); durability is pointless here.
        options = (f"-p {port} -k {base} -c listen_addresses=127.0.0.1 "
                   "-c fsync=off -c synchronous_commit=off -c full_page_writes=off")
        # -l matters: without it the postmaster would inherit our stdout and callers reading it
        # (subprocess capture, $(...) in scripts/test) would wait forever.
        result = _run(str(bindir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(log), "-w", "-t", "60",
                      "start", timeout=120)
        if result.returncode == 0:
            break
        _stop_cluster(data)
        server_log = _tail(log)
        port_taken = "already in use" in server_log or "could not create any TCP/IP sockets" in server_log
        if not port_taken or attempt == _START_ATTEMPTS:
            raise RuntimeError(f"pg_ctl start failed: {result.stderr.strip()}\n--- {log}:\n{server_log}")

    url = f"postgresql://postgres@127.0.0.1:{port}/postgres"
    (base / "url").write_text(url + "\n")
    (base / "options").write_text(options)
    return url, base


def stop_postgres(handle: str | Path, remove: bool = True) -> None:
    """Stop the server started by :func:`start_postgres` and (by default) delete its directory."""
    base = Path(handle)
    if (base / "data").exists():
        _stop_cluster(base / "data")
    if remove:
        shutil.rmtree(base, ignore_errors=True)


def restart_postgres(handle: str | Path, down_for: float = 0.0) -> None:
    """Restart the server started by :func:`start_postgres` as an admin does (`pg_ctl restart -m fast`:
    every connection is terminated), staying down `down_for` seconds in between."""
    data = Path(handle) / "data"
    pg_ctl = str(pg_bindir() / "pg_ctl")
    if down_for <= 0:
        # -l as at start: without it the new postmaster would hold our captured stdout open forever.
        result = _run(pg_ctl, "-D", str(data), "-l", str(Path(handle) / "server.log"), "-m", "fast", "-w", "-t",
                      "60", "restart", timeout=120)
    else:
        result = _run(pg_ctl, "-D", str(data), "-m", "fast", "-w", "-t", "60", "stop", timeout=120)
        time.sleep(down_for)
        options = (Path(handle) / "options").read_text()  # as start_postgres started it (same port)
        result = _run(pg_ctl, "-D", str(data), "-o", options, "-l", str(Path(handle) / "server.log"), "-w", "-t",
                      "60", "start", timeout=120)
    if result.returncode != 0:
        raise RuntimeError(f"pg_ctl restart failed: {result.stderr.strip()}")


def database_url(server_url: str, name: str) -> str:
    """The same server URL with another database name (keeps user, host, port and query)."""
    parts = urlsplit(server_url)
    return urlunsplit(parts._replace(path=f"/{name}"))


# ---------------------------------------------------------------- pytest fixtures

try:
    import pytest
except ImportError:  # the command-line use needs no pytest
    pytest = None

if pytest is not None:

    @pytest.fixture(scope="session")
    def pg_url():
        """A PostgreSQL server URL: $MAILBOX_TUI_TEST_PG_URL, else a throwaway server for the session."""
        if os.environ.get(URL_ENV):
            yield os.environ[URL_ENV]
            return
        if not available():
            pytest.skip(SKIP_REASON)
        # mkdtemp under $TMPDIR (normally /tmp): traversable by postgres, unlike pytest's tmp_path.
        url, handle = start_postgres(tempfile.mkdtemp(prefix="mailbox-tui-pg-"))
        try:
            yield url
        finally:
            stop_postgres(handle)

    @pytest.fixture
    def pg_database_url(pg_url):
        """A brand-new empty database for one test, dropped (even if still in use) afterwards."""
        psycopg = pytest.importorskip("psycopg")

        name = f"mailbox_tui_test_{uuid.uuid4().hex[:16]}"
        with psycopg.connect(pg_url, autocommit=True, connect_timeout=15) as con:
            con.execute(f'CREATE DATABASE "{name}"')
        try:
            yield database_url(pg_url, name)
        finally:
            with psycopg.connect(pg_url, autocommit=True, connect_timeout=15) as con:
                con.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main(argv: list[str]) -> int:
    if argv == ["available"]:
        return 0 if available() else 1
    if argv == ["version"]:
        print(server_version() or "none (no PostgreSQL server binary: install postgresql)")
        return 0
    if len(argv) != 2 or argv[0] not in ("start", "stop"):
        print("usage: postgres.py start DIR | stop DIR | available | version", file=sys.stderr)
        return 2
    if argv[0] == "start":
        try:
            url, _ = start_postgres(argv[1])
        except RuntimeError as exc:
            print(f"postgres.py: {exc}", file=sys.stderr)
            return 1
        print(url)
    else:
        stop_postgres(argv[1])
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))


@contextmanager
def limited_role_url(pg_database_url: str) -> Iterator[str]:
    """The same database through a new role that may log in and create tables in `public`, nothing
    more (it may not create extensions). Afterwards the database and the role are dropped."""
    import psycopg

    role = f"limited_{uuid.uuid4().hex[:8]}"
    name = pg_database_url.rsplit("/", 1)[1]
    with psycopg.connect(pg_database_url, autocommit=True) as con:
        con.execute(f'CREATE ROLE "{role}" LOGIN')
        con.execute(f'GRANT CONNECT ON DATABASE "{name}" TO "{role}"')
        con.execute(f'GRANT USAGE, CREATE ON SCHEMA public TO "{role}"')
    url = pg_database_url.replace("postgres@", f"{role}@", 1)
    assert url != pg_database_url
    try:
        yield url
    finally:
        with psycopg.connect(pg_database_url, autocommit=True) as con:
            con.execute(f'DROP OWNED BY "{role}"')
        with psycopg.connect(database_url(pg_database_url, "postgres"), autocommit=True) as con:
            con.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            con.execute(f'DROP ROLE IF EXISTS "{role}"')
