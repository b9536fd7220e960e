"""Property: any argument list either works or exits 1/2 with a sentence; never a traceback.

Hypothesis draws argument lists from the CLI's own words (commands, options) mixed with hostile
values (bad URLs, numbers like 1e400, undecodable bytes, empty strings). `main()` runs in this process
for speed (hundreds of lists); every path stays inside a temporary folder (no '/' is drawn except in
fixed values), and no list can reach the network: the database has no server profile and the only
PostgreSQL URL is a closed port on 127.0.0.1. The app itself (no command) is replaced by a stub: it is
interactive. A few lists also run as real processes, where argv bytes are what the shell passes."""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from mailbox_tui import cli
from mailbox_tui.store import demo
from mailbox_tui.store.models import EmailServerProfile

REAL_SEED_DEMO = demo.seed_demo

COMMANDS = ["demo", "export", "import", "check", "test", "rotate-key"]
OPTIONS = ["--db", "--key-file", "--json", "--log", "--as", "--no-mouse", "--users", "--format", "--out", "--dry-run",
           "--all", "--failed", "--profile", "--concurrency", "--deadline", "--help", "--version", "-h", "--", "-"]
SECRET_URL = "oracle://u:Zq8xK-url@h/x"
VALUES = ["sqlite:///rel.db", "sqlite://x", "sqlite:///", SECRET_URL, "postgresql://127.0.0.1:1/x",
          "postgresql://[bad", "x.json", "doc.json", "csv", "json", "0", "-5", "1", "521", "1e400", "inf", "nan",
          "9" * 40, "", " ", "-x", "café.json", "folder", "rel.db", "key.txt", "users.csv"]
safe_text = st.text(st.characters(blacklist_characters="/\x00", blacklist_categories=("Cs",)), max_size=12)
raw_bytes = st.binary(max_size=8).filter(lambda b: b"/" not in b and b"\x00" not in b).map(os.fsdecode)
value = st.one_of(st.sampled_from(VALUES), safe_text, raw_bytes)
word = st.one_of(st.sampled_from(COMMANDS), st.sampled_from(OPTIONS), value)
WITH_VALUE = {"demo": ["--users"], "export": ["--format", "--out"], "import": [], "check": [],
              "test": ["--profile", "--concurrency", "--deadline"], "rotate-key": ["--out"]}
FLAGS = {"demo": [], "export": [], "import": ["--dry-run"], "check": [], "test": ["--all", "--failed"],
         "rotate-key": []}


@st.composite
def commands(draw) -> list[str]:
    """A command with its own options and hostile values: most lists get past the parser."""
    command = draw(st.sampled_from(COMMANDS))
    argv = [command]
    if draw(st.booleans()):
        argv += ["--db", "sqlite:///rel.db"]
    for name in draw(st.lists(st.sampled_from(WITH_VALUE[command] + ["--db", "--key-file", "--log"]), max_size=3)):
        argv += [name, draw(value)]
    argv += draw(st.lists(st.sampled_from(FLAGS[command] + ["--json"]), max_size=2))
    if command in ("import", "test"):
        argv += draw(st.lists(value, min_size=command == "import", max_size=2))
    if draw(st.integers(0, 9)) == 0:
        argv = draw(st.permutations(argv))
    return argv


argv_lists = st.one_of(commands(), st.lists(word, max_size=8))


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    """A folder with a small database (users only, no profile), a document and a CSV folder."""
    monkeypatch.chdir(tmp_path)
    doc = {"users": [{"fullname": f"User {i}", "internalemailaddress": f"user{i}@example.com"} for i in range(3)],
           "mailboxes": [{"regarding": {"user": "user0@example.com"}, "allowemailconnectortousecredentials": True,
                          "username": "u0", "password": "p0-Zq8xK"}]}
    (tmp_path / "doc.json").write_text(json.dumps(doc))
    (tmp_path / "folder").mkdir()
    assert cli.main(["import", "doc.json", "--db", "sqlite:///rel.db"]) == 0
    monkeypatch.setitem(cli.COMMANDS, None, lambda args: 0)  # the interactive app
    monkeypatch.setattr(demo, "seed_demo", local_demo)
    return tmp_path


def local_demo(store, **kw):
    """The real demo, with its servers moved to a closed port on 127.0.0.1: a later `test` drawn by
    Hypothesis must not look up example.com."""
    counts = REAL_SEED_DEMO(store, **kw)
    EmailServerProfile.update(incoming_location="127.0.0.1", outgoing_location="127.0.0.1", incoming_port=1,
                              outgoing_port=1).where(EmailServerProfile.server_type.in_((1, 4))).execute()
    return counts


def run_main(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = cli.main(argv)
        except SystemExit as exc:  # argparse: usage errors, --help, --version
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    return code, out.getvalue(), err.getvalue()


def assert_sentence_not_traceback(argv, code: int, out: str, err: str) -> None:
    assert code in (0, 1, 2), (argv, code, err)
    assert "Traceback" not in err + out, (argv, err)
    assert "unexpected" not in err, (argv, err)  # the catch-all for bugs never fires
    if all(i and argv[i - 1] == "--db" for i, a in enumerate(argv) if a == SECRET_URL):
        assert "Zq8xK" not in err + out, (argv, err)  # a database URL's or a profile's password never shows (OAuth column names say "secret")
    if code == 2:  # one error line (after a warning about the key, when there is one)
        lines = [line for line in err.strip().splitlines() if not line.startswith(("mailbox-tui: warning:",
                                                                                   "mailbox-tui: note:"))]
        assert len(lines) == 1 and lines[0].startswith("mailbox-tui: error:"), (argv, err)
    if code == 1:
        assert err.strip() or "error" in out, (argv, out, err)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(argv=argv_lists)
def test_any_argument_list_works_or_says_why(workdir, argv):
    code, out, err = run_main(argv)
    event(f"exit {code}")
    assert_sentence_not_traceback(argv, code, out, err)


HOSTILE = [
    ["check", "--db", b"sqlite:///\xff\xfe.db"],
    ["import", b"\xff.json", "--db", "sqlite:///rel.db"],
    ["export", "--out", b"caf\xe9.json", "--db", "sqlite:///rel.db"],
    ["--log", b"\xff.log", "check", "--db", "sqlite:///rel.db"],
    ["demo", "--users", "1e400", "--db", "sqlite:///new.db"],
    ["demo", "--users", "-1", "--db", "sqlite:///new.db"],
    ["rotate-key", "--db", "sqlite:///rel.db"],
    ["test", "--all", "--deadline", "nan", "--db", "sqlite:///rel.db"],
]


@pytest.mark.parametrize("argv", HOSTILE, ids=[" ".join(map(str, a))[:40] for a in HOSTILE])
def test_hostile_argv_bytes_in_a_real_process(workdir, argv):
    result = subprocess.run([sys.executable, "-m", "mailbox_tui", *argv], capture_output=True, cwd=workdir,
                            env=os.environ.copy(), timeout=60, stdin=subprocess.DEVNULL)
    out, err = result.stdout.decode(errors="replace"), result.stderr.decode(errors="replace")
    assert_sentence_not_traceback(argv, result.returncode, out, err)
    assert Path(workdir / "rel.db").exists() and not Path(workdir / "new.db").exists()
