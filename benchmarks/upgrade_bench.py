"""Upgrade benchmark (issue 20): opening a large database made by an earlier release. Prints its figures.

    .venv/bin/python benchmarks/upgrade_bench.py [--rows 100000] [--schema 3] [--runs 3] [--keep FILE]

1. The release that had --schema (tests/fixtures/upgrades/build.py's RELEASES) is unpacked from this
   repository's history and, with this checkout's .venv, seeds its demo and imports --rows users (each
   with a mailbox, so every mailbox references the default profile) into a new SQLite file.
2. Today's `mailbox-tui upgrade` opens a copy of that file, --runs times, each in a fresh process:
   seconds (wall) and the process's peak memory (max RSS), and what the copy kept beside it weighs.
3. It checks what the upgrade must keep: every mailbox still has its profile.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "fixtures" / "upgrades"))
from build import FIXTURE_KEY, RELEASES  # noqa: E402


def _old_release(schema: int, folder: Path) -> Path:
    release = folder / "release"
    release.mkdir()
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", "--format=tar", RELEASES[schema], "mailbox_tui"],
                             check=True, capture_output=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(release, filter="data")
    return release


def _env(home: Path, pythonpath: Path | None = None) -> dict:
    env = {**os.environ, "HOME": str(home), "MAILBOX_TUI_KEY": FIXTURE_KEY, "XDG_CONFIG_HOME": str(home / ".config"),
           "XDG_DATA_HOME": str(home / ".data")}
    env.pop("MAILBOX_TUI_DB", None)
    if pythonpath:
        env["PYTHONPATH"] = str(pythonpath)
    return env


def _seed(schema: int, rows: int, db: Path, folder: Path) -> None:
    release, home = _old_release(schema, folder), folder / "home"
    home.mkdir()
    doc = folder / "users.json"
    doc.write_text(json.dumps({"users": [{"fullname": f"Bench User {i}", "internalemailaddress": f"bench{i}@example.com"}
                                         for i in range(rows)]}))
    for args in (["demo"], ["import", str(doc)]):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "mailbox_tui", "--db", f"sqlite:///{db}", *args], cwd=release,
                       env=_env(home, release), check=True, capture_output=True, timeout=3600)
        print(f"schema {schema} release ({RELEASES[schema]}) {args[0]}: {time.perf_counter() - start:.1f} s")


def _profiles_kept(db: Path) -> tuple[int, int]:
    con = sqlite3.connect(db)
    try:
        return con.execute("SELECT COUNT(*), COUNT(profile_id) FROM mailbox").fetchone()
    finally:
        con.close()


def _measured(home: Path, *args: str) -> tuple[float, float]:
    """Seconds and peak RSS (MB) of one `mailbox-tui ARGS` in its own process."""
    launcher = ("import resource, subprocess, sys, time; t = time.perf_counter(); "
                "subprocess.run(sys.argv[1:], check=True, capture_output=True); "
                "print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    exe = str(Path(sys.executable).with_name("mailbox-tui"))
    done = subprocess.run([sys.executable, "-c", launcher, exe, *args],
                          env=_env(home), check=True, capture_output=True, text=True)
    seconds, rss_kb = done.stdout.split()
    return float(seconds), int(rss_kb) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--schema", type=int, default=3, choices=sorted(RELEASES))
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="also keep the database the old release made here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mailbox-upgrade-bench-") as tmp:
        folder = Path(tmp)
        made = folder / "made.db"
        _seed(args.schema, args.rows, made, folder)
        if args.keep:
            shutil.copy(made, args.keep)
        mailboxes, with_profile = _profiles_kept(made)
        size = made.stat().st_size / 2**20
        print(f"database at schema {args.schema}: {mailboxes:,} mailboxes ({with_profile:,} with a profile), "
              f"{size:.0f} MiB")
        times, peaks = [], []
        for run in range(args.runs):
            work = folder / f"run{run}"
            work.mkdir()
            db = work / "mailboxes.db"
            shutil.copy(made, db)
            seconds, peak = _measured(folder / "home", "--db", f"sqlite:///{db}", "upgrade")
            times.append(seconds)
            peaks.append(peak)
            kept = _profiles_kept(db)
            assert kept == (mailboxes, with_profile), f"the upgrade lost references: {kept}"
            copy = work / f"mailboxes.db.schema{args.schema}.bak"
            assert copy.is_file()
            copy_mb = copy.stat().st_size / 2**20
            shutil.rmtree(work)
        print(f"upgrade to today's schema (copy kept first, {copy_mb:.0f} MiB): median {statistics.median(times):.2f} s "
              f"(runs: {', '.join(f'{t:.2f}' for t in times)}), peak RSS {max(peaks):.0f} MB; every mailbox kept its "
              "profile")
        print(f"(`mailbox-tui --version` peaks at {_measured(folder / 'home', '--version')[1]:.0f} MB here)")


if __name__ == "__main__":
    main()
