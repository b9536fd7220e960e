"""An import's cost in instructions rather than seconds (issue 20, item 5). Prints its figures.

    .venv/bin/python benchmarks/import_instructions.py --baseline DIR [--rows 5000]

valgrind's callgrind counts the instructions `mailbox-tui import` executes: the same count run
after run, where CPU seconds on a shared machine vary by ±15% from one import to the next. Each
code (this one, and the one in DIR, put first on PYTHONPATH as store_bench.py's --baseline does)
imports store_bench.py's document of --rows users and their mailboxes, and an empty document, into
a new SQLite file, with PYTHONHASHSEED=0. The difference is the import's own cost, without the
command's start; it is printed per mailbox, and this code's mailboxes per instruction against DIR's.
Each import runs about 50 times slower under callgrind: 5,000 rows take about a minute.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from cryptography.fernet import Fernet

from store_bench import _write_json


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--baseline", type=Path, required=True, help="a checkout of the code to compare with")
    parser.add_argument("--rows", type=int, default=5000)
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        sys.exit("valgrind is not installed (Debian: apt-get install valgrind)")
    with tempfile.TemporaryDirectory(prefix="import-instructions-") as tmp:
        tmp = Path(tmp)
        doc, empty = tmp / "doc.json", tmp / "empty.json"
        _write_json(doc, args.rows)
        _write_json(empty, 0)
        env = {**os.environ, "MAILBOX_TUI_KEY": Fernet.generate_key().decode(), "PYTHONHASHSEED": "0"}
        per_mailbox = {}
        for name, path in (("this code", None), (str(args.baseline), args.baseline.resolve())):
            run_env = {**env, "PYTHONPATH": str(path)} if path else {k: v for k, v in env.items() if k != "PYTHONPATH"}
            start = _instructions(empty, tmp, run_env)
            whole = _instructions(doc, tmp, run_env)
            per_mailbox[name] = (whole - start) / args.rows
            print(f"{name}: {whole:,} instructions for {args.rows:,} users + mailboxes, {start:,} for an empty "
                  f"document: {per_mailbox[name]:,.0f} a mailbox")
        mine, base = per_mailbox["this code"], per_mailbox[str(args.baseline)]
        print(f"mailboxes per instruction against {args.baseline}: {base / mine - 1:+.1%} "
              f"(issue 20 item 5's target: no more than 10% fewer mailboxes per CPU second)")


def _instructions(doc: Path, tmp: Path, env: dict) -> int:
    db, out = tmp / "import.db", tmp / "callgrind.out"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    run = subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", sys.executable, "-m",
                          "mailbox_tui", "import", str(doc), "--db", f"sqlite:///{db}"],
                         cwd=tmp, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    found = re.search(r"Collected : (\d+)", run.stderr)
    if run.returncode != 0 or found is None:
        sys.exit(f"the import failed under callgrind (exit {run.returncode}):\n{run.stderr[-2000:]}")
    return int(found.group(1))


if __name__ == "__main__":
    main()
