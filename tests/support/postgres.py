"""A throwaway PostgreSQL server for tests, and the fixtures that hand out fresh databases.

`python tests/support/postgres.py start DIR` prints a URL; `stop DIR` stops that server.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

PG_BIN = Path(os.environ.get("MAILBOX_TUI_PG_BIN", "/usr/lib/postgresql/15/bin"))
URL_ENV = "MAILBOX_TUI_TEST_PG_URL"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_postgres(*cmd: str) -> subprocess.CompletedProcess:
    prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    return subprocess.run([*prefix, *cmd], capture_output=True, text=True, timeout=120)


def available() -> bool:
    return (PG_BIN / "initdb").exists() and (os.geteuid() != 0 or shutil.which("runuser") is not None)


def start_postgres(base_dir: str | Path | None = None) -> tuple[str, Path]:
    """initdb a fresh cluster in its own directory and start it on a free loopback port."""
    base = Path(base_dir) if base_dir else Path(tempfile.mkdtemp(prefix="mailbox-tui-pg-"))
    base.mkdir(parents=True, exist_ok=True)
    os.chmod(base, 0o755)
    data = base / "data"
    if os.geteuid() == 0:
        shutil.chown(base, "postgres", "postgres")
    result = _as_postgres(str(PG_BIN / "initdb"), "-D", str(data), "--auth=trust", "-U", "postgres", "-E", "UTF8")
    if result.returncode != 0:
        raise RuntimeError(f"initdb failed: {result.stderr.strip()}")
    port = _free_port()
    options = f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off"
    result = _as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(base / "server.log"),
                          "-w", "start")
    if result.returncode != 0:
        log = (base / "server.log").read_text() if (base / "server.log").exists() else ""
        raise RuntimeError(f"pg_ctl start failed: {result.stderr.strip()} {log[-2000:]}")
    url = f"postgresql://postgres@127.0.0.1:{port}/postgres"
    (base / "url").write_text(url)
    return url, base


def stop_postgres(base: str | Path, remove: bool = True) -> None:
    base = Path(base)
    if (base / "data").exists():
        _as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(base / "data"), "-m", "fast", "-w", "stop")
    if remove:
        shutil.rmtree(base, ignore_errors=True)


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
            pytest.skip(f"PostgreSQL not available: set {URL_ENV} or install postgresql")
        url, base = start_postgres()
        try:
            yield url
        finally:
            stop_postgres(base)

    @pytest.fixture
    def pg_database_url(pg_url):
        """A brand-new empty database for one test, dropped afterwards."""
        import psycopg

        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(pg_url, autocommit=True) as con:
            con.execute(f'CREATE DATABASE "{name}"')
        base, _, _ = pg_url.rpartition("/")
        yield f"{base}/{name}"
        with psycopg.connect(pg_url, autocommit=True) as con:
            con.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in ("start", "stop"):
        print("usage: postgres.py start|stop DIR", file=sys.stderr)
        return 2
    if argv[0] == "start":
        url, _ = start_postgres(argv[1])
        print(url)
    else:
        stop_postgres(argv[1])
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
