"""Terminal benchmark: the app as an admin over SSH feels it. Prints its figures next to issue 10's targets.

    .venv/bin/python benchmarks/terminal_bench.py [--rows 100000] [--samples 12] [--launches 5] [--lang sv]
    .venv/bin/python benchmarks/terminal_bench.py --compare-languages [--launches 5] [--samples 12]

Svenska (issue 26): `--lang sv` starts the app as a Swedish admin does, LANG=sv_SE.UTF-8 (LC_ALL and
LC_MESSAGES empty; `--lang en`: LANG=C.UTF-8), and reads the screen by that language's words (the
list's column titles, the form's Name label, as the catalogue gives them). `--compare-languages`
times only what the issue's figure names, in both languages, alternately in the same run: launch ->
first rows painted, and Enter -> mailbox form painted (the first open, and the median of the
opens); it prints each language's figures and the Swedish/English ratio (target: within 5%).

The installed `mailbox-tui` runs in a real pseudo-terminal at 80×24, TERM=xterm (the harness of
the "Keys over SSH" tests, tests/support/terminal.py: ptyprocess + pyte), on a database of
100,000 mailboxes (built once and cached, see benchmarks/ui_bench.py `cached_database`), next to
an empty Textual app (one Static) started in the same kind of terminal in the same run.

"Painted" means: the expected text is on the rendered screen and the app has then written
nothing for 50 ms. A figure is the time from writing the key (or starting the process) to the
app's last write before that quiet period, so the 50 ms of waiting is not counted. "Bytes" are
everything the app wrote for one step, up to 0.3 s of quiet (so a count that follows the rows
is counted too). The validation keystroke is the app's own time (ui_bench's way: Pilot, the
form's validate() stamped from inside the app).

Under the table, the store's own time for the same filters (the SQL a keystroke runs, in this
process, no terminal): on the SQLite file, and with --pg-url on a PostgreSQL database (seeded
with the same rows when it holds none; give a database of its own).

Before the first Enter the list is left alone for READING seconds, as an admin reads it: the app
builds the mailbox form meanwhile (issue 25 item 7), and that first open is printed on its own line.

The machine's load average is printed: on a busy 2-core machine every figure grows.

The app is timed as `pip install .` leaves it: with its modules compiled to bytecode. An editable
install on a machine that sets PYTHONDONTWRITEBYTECODE (this one does) never caches bytecode, and
every launch would compile the whole package first (about 30 ms); the benchmark compiles it once
(compileall, into the package's __pycache__ folders, which git ignores) and says so.
"""

from __future__ import annotations

import argparse
import asyncio
import compileall
import os
import re
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from support.terminal import TerminalApp  # noqa: E402
from ui_bench import copy_database, measure_validation, seed  # noqa: E402

QUIET = 0.05  # output quiet this long after the expected text: painted
SETTLE = 0.3  # quiet this long: everything for this step was written (bytes)
READING = 1.0  # the admin reads the list before the first Enter (mailbox_list.BUILD_AHEAD_QUIET is less)
CLEAR_LINE = "\x15"  # ctrl+u in an Input: delete everything left of the cursor
ACTING = "user000000@example.com"
EMPTY_TEXT = "empty Textual app"
EMPTY_APP = f"""
from textual.app import App
from textual.widgets import Static

class Empty(App):
    def compose(self):
        yield Static({EMPTY_TEXT!r})

Empty().run()
"""
EMAIL = re.compile(r"[a-z0-9._-]+@example\.com")
LOCALES = {"en": "C.UTF-8", "sv": "sv_SE.UTF-8"}  # LANG, as an admin's terminal sets it
# The words the screen is read by, in the language the app shows (set_language)
WORDS = {"email_column": "Email Address", "name_column": "Name", "name_label": "Name", "discard": "Discard",
         "new_forward": "New forward mailbox"}


def set_language(language: str) -> dict[str, str]:
    """Read the screen by `language`'s words, as the app's catalogue gives them; the environment that
    makes the app show it."""
    from mailbox_tui import i18n
    from mailbox_tui.domain.fields import MAILBOX_FIELDS
    from mailbox_tui.ui.widgets.record_table import COLUMN_TITLE

    i18n.use(language)
    try:
        WORDS.update(email_column=i18n.pgettext(COLUMN_TITLE, "Email Address"),
                     name_column=i18n.pgettext(COLUMN_TITLE, "Name"),
                     name_label=next(f for f in MAILBOX_FIELDS if f.name == "name").shown_short,
                     discard=i18n._("Discard"), new_forward=i18n._("New forward mailbox"))
    finally:
        i18n.use(i18n.ENGLISH)
    return {"LANG": LOCALES[language], "LC_ALL": "", "LC_MESSAGES": ""}

# (label, prefix typed first in one write, the timed keystroke): the filter ends as prefix + key
FILTERS = [
    ("many matches", "user0", "5"),  # user05: 10,000 mailboxes
    ("one match", "user09999", "9"),  # user099999
    ("no match", "user0999", "x"),
    ("no match, 2 characters", "x", "z"),  # too short for a trigram index
]


@dataclass
class Figures:
    launch_empty: list[float] = field(default_factory=list)
    launch_app: list[float] = field(default_factory=list)
    first_screen_bytes: list[int] = field(default_factory=list)
    open_form: list[float] = field(default_factory=list)
    open_form_bytes: list[int] = field(default_factory=list)
    filters: dict[str, list[float]] = field(default_factory=dict)
    filter_bytes: list[int] = field(default_factory=list)
    cursor_bytes: list[int] = field(default_factory=list)
    discard_bytes: list[int] = field(default_factory=list)
    name_first_bytes: list[int] = field(default_factory=list)
    name_bytes: list[int] = field(default_factory=list)
    owner_bytes: list[int] = field(default_factory=list)
    validation: tuple[float, float] = (0.0, 0.0)


def median_p95(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[max(int(len(ordered) * 0.95 + 0.5) - 1, 0)]


def list_rows(screen: str) -> list[str]:
    """The email address of each list row on screen, top to bottom (below the column header)."""
    lines = screen.splitlines()
    header = next((i for i, line in enumerate(lines)
                   if WORDS["email_column"] in line and WORDS["name_column"] in line), None)
    if header is None:
        return []
    out = []
    for line in lines[header + 1:-1]:  # the last line is the key bar
        found = EMAIL.search(line)
        if found:
            out.append(found.group())
    return out


def showing(expected: list[str]):
    """The list shows these rows from its top: all of them, or as many as fit (at least 10)."""
    def check(screen: str) -> bool:
        rows = list_rows(screen)
        return rows == expected[:len(rows)] and len(rows) >= min(len(expected), 10)
    return check


def form_of(name: str):
    """A mailbox form whose Name field holds `name`."""
    pattern = re.compile(rf"^\s*{re.escape(WORDS['name_label'])}\s+{re.escape(name)}\s*$", re.M)
    return lambda screen: bool(pattern.search(screen))


class Session:
    def __init__(self, url: str, env: dict[str, str]) -> None:
        self.url, self.env = url, env
        self.args = ["--db", url, "--as", ACTING, "--no-mouse"]

    def start(self, program: list[str] | None = None) -> TerminalApp:
        return TerminalApp([] if program else self.args, self.env, program=program)


def step(term: TerminalApp, data: str, painted=None) -> tuple[float, int]:
    """Write `data` as one write; (ms to painted, bytes written for it). Without `painted`, any
    output counts as the answer."""
    before = term.bytes_out
    start = time.monotonic()
    term.send(data)
    done = term.wait_painted(painted or (lambda _screen: True), quiet=QUIET, after=start)
    term.wait_quiet(SETTLE)
    return (done - start) * 1000, term.bytes_out - before


def measure_launches(session: Session, first_rows: list[str], rounds: int, fig: Figures) -> None:
    """Empty app and our app, alternately; the first round of each warms the disk cache."""
    empty_program = [sys.executable, "-c", EMPTY_APP]
    for round_ in range(rounds + 1):
        term = session.start(empty_program)
        try:
            done = term.wait_painted(EMPTY_TEXT, quiet=QUIET)
            if round_:
                fig.launch_empty.append((done - term.started) * 1000)
        finally:
            term.quit()
        term = session.start()
        try:
            done = term.wait_painted(lambda s: list_rows(s)[:3] == first_rows[:3], quiet=QUIET)
            if round_:
                fig.launch_app.append((done - term.started) * 1000)
                with term.lock:
                    fig.first_screen_bytes.append(term.bytes_out)
        finally:
            term.quit()


def measure_session(session: Session, expected: dict[str, list], samples: int, fig: Figures) -> None:
    term = session.start()
    try:
        top = expected[""]
        term.wait_painted(lambda s: list_rows(s)[:3] == [r.email for r in top[:3]], quiet=QUIET)
        term.wait_quiet(SETTLE)

        def rows_for(text: str) -> list[str]:
            return [r.email for r in expected[text]]

        # (c) filter keystrokes
        step(term, "/")
        for label, prefix, key in FILTERS:
            fig.filters[label] = []
            for _ in range(samples):
                if prefix:
                    step(term, prefix, showing(rows_for(prefix)))
                ms, written = step(term, key, showing(rows_for(prefix + key)))
                fig.filters[label].append(ms)
                fig.filter_bytes.append(written)
                step(term, CLEAR_LINE, showing(rows_for("")))
        step(term, "\r")  # back to the list, cursor on the first row
        time.sleep(READING)  # the admin reads the list: the app builds the mailbox form meanwhile

        # (b) Enter -> form painted; (d) bytes of a form, of a cursor move
        for cursor in range(samples):
            ms, written = step(term, "\r", form_of(top[cursor].name))
            fig.open_form.append(ms)
            fig.open_form_bytes.append(written)
            step(term, "\x1b", showing(rows_for("")))
            _, written = step(term, "\x1b[B")  # down
            fig.cursor_bytes.append(written)

        # (d) characters typed in Name (the cursor is at its end), the discard dialog
        step(term, "\r", form_of(top[samples].name))
        for n, ch in enumerate("abcdef"):
            _, written = step(term, ch, form_of(top[samples].name + "abcdef"[:n + 1]))
            (fig.name_first_bytes if n == 0 else fig.name_bytes).append(written)
        _, written = step(term, "\x1b", WORDS["discard"])
        fig.discard_bytes.append(written)
        step(term, "y", showing(rows_for("")))

        # (d) characters typed in a new forward mailbox's Owner
        step(term, "n", WORDS["new_forward"])
        step(term, "\t")
        step(term, "\x1b[F" + CLEAR_LINE)  # end, then clear the field
        for ch in "user00012":
            _, written = step(term, ch)
            fig.owner_bytes.append(written)
        step(term, "\x1b", WORDS["discard"])
        step(term, "y", showing(rows_for("")))
    finally:
        term.quit()


def expectations(url: str, rows_needed: int) -> dict[str, list]:
    """What the list must show for each filter, from the store's own queries (Active view, by name)."""
    from mailbox_tui.store import queries
    from mailbox_tui.store.database import Store

    texts = {""} | {prefix for _, prefix, _ in FILTERS} | {prefix + key for _, prefix, key in FILTERS}
    store = Store(url)
    try:
        return {text: queries.mailbox_page("active", text, limit=rows_needed) for text in texts}
    finally:
        store.close()


def store_filter_times(url: str, rows: int, key: str, repeat: int = 20) -> list[str]:
    """The SQL of one filter keystroke, timed alone: the first page of 100 and the count, exact and
    (where the store offers it) capped at 10,000."""
    import inspect

    from mailbox_tui.store import queries
    from mailbox_tui.store.database import Store

    store = Store(url)
    try:
        have = queries.total_mailboxes()
        if have == 0:
            store.close()
            seed(url, rows, key)
            store = Store(url)
            have = queries.total_mailboxes()
        capped = "cap" in inspect.signature(queries.count_mailboxes).parameters

        def timed(fn) -> tuple[float, float]:
            fn()
            samples = []
            for _ in range(repeat):
                start = time.perf_counter()
                fn()
                samples.append((time.perf_counter() - start) * 1000)
            return median_p95(samples)

        kind = "PostgreSQL" if store.is_postgres else "SQLite"
        lines = [f"store's own time per filter, {kind}, {have:,} mailboxes (median / p95 ms): "
                 "first page of 100 | count | count capped at 10,000"]
        for label, prefix, key_ in FILTERS:
            text = prefix + key_
            page = timed(lambda: queries.mailbox_page("active", text, limit=100))
            count = timed(lambda: queries.count_mailboxes("active", text))
            cap = timed(lambda: queries.count_mailboxes("active", text, cap=10_000)) if capped else None
            shown = f"{cap[0]:.1f} / {cap[1]:.1f}" if cap else "(no capped count)"
            lines.append(f"  {label} ({text!r}): {page[0]:.1f} / {page[1]:.1f} | {count[0]:.1f} / {count[1]:.1f} "
                         f"| {shown}")
        total = timed(queries.total_mailboxes)
        lines.append(f"  every keystroke also counts all mailboxes (total): {total[0]:.1f} / {total[1]:.1f}")
        return lines
    finally:
        store.close()


def report(rows: int, fig: Figures, load: tuple[float, float], language: str = "en") -> None:
    def ms(samples: list[float]) -> str:
        med, p95 = median_p95(samples)
        return f"median {med:.0f} ms, p95 {p95:.0f} ms"

    def size(samples: list[int]) -> str:
        return f"median {statistics.median(samples):,.0f} B, max {max(samples):,} B"

    empty, app = statistics.median(fig.launch_empty), statistics.median(fig.launch_app)
    first = statistics.median(fig.first_screen_bytes)
    form_bytes = statistics.median(fig.open_form_bytes)
    lines = [
        (f"[{language}] launch -> first rows painted",
         f"{app:.0f} ms = {app / empty:.2f}x the empty app ({empty:.0f} ms)", "<= 1.5x the empty app",
         app / empty <= 1.5),
        (f"[{language}] Enter -> mailbox form painted", ms(fig.open_form), "<= 150 ms", median_p95(fig.open_form)[0] <= 150),
        ("  the first of them (the form was built while the list was read)", f"{fig.open_form[0]:.0f} ms",
         "<= 150 ms (issue 25)", fig.open_form[0] <= 150),
    ]
    for label, prefix, key in FILTERS:
        samples = fig.filters[label]
        lines.append((f"filter keystroke -> list updated, {label} ({prefix!r} + {key!r})", ms(samples),
                      "<= 100 ms p95", median_p95(samples)[1] <= 100))
    lines += [
        ("bytes: the first screen", f"{first:,.0f} B", "-", None),
        ("bytes: opening a mailbox form", f"{size(fig.open_form_bytes)} = {form_bytes / first:.2f}x the first screen",
         "<= 1.0x the first screen", form_bytes / first <= 1.0),
        ("bytes: opening the discard dialog", size(fig.discard_bytes), "-", None),
        ("bytes: one cursor move in the list", size(fig.cursor_bytes), "<= 300 B",
         statistics.median(fig.cursor_bytes) <= 300),
        ("bytes: one filter keystroke", size(fig.filter_bytes), "<= 2 KB", statistics.median(fig.filter_bytes) <= 2048),
        ("bytes: one character typed in Owner (new forward mailbox)", size(fig.owner_bytes),
         "<= 1 KB unless messages change", statistics.median(fig.owner_bytes) <= 1024),
        ("bytes: first character typed in Name (says 'unsaved changes')", size(fig.name_first_bytes),
         "<= 1 KB unless messages change", None),
        ("bytes: next characters typed in Name", size(fig.name_bytes), "<= 1 KB",
         statistics.median(fig.name_bytes) <= 1024),
        ("validation keystroke, the app's own time",
         f"median {fig.validation[0]:.1f} ms, p95 {fig.validation[1]:.1f} ms", "<= 16 ms", fig.validation[1] <= 16),
    ]
    print(f"language: {language} (LANG={LOCALES[language]}); "
          f"rows: {rows:,} mailboxes in SQLite; pseudo-terminal 80x24, TERM=xterm; "
          f"load average {load[0]:.2f} before, {load[1]:.2f} after")
    width = max(len(label) for label, *_ in lines)
    value_width = max(len(value) for _, value, *_ in lines)
    print(f"{'figure':<{width}}  {'measured':<{value_width}}  {'target (issue 10)':<32} met")
    for label, value, target, met in lines:
        verdict = "-" if met is None else ("yes" if met else "NO")
        print(f"{label:<{width}}  {value:<{value_width}}  {target:<32} {verdict}")


def compile_package() -> str:
    """The installed package's modules compiled to bytecode, as pip's install compiles them."""
    import mailbox_tui

    folder = Path(mailbox_tui.__file__).resolve().parent
    compileall.compile_dir(str(folder), quiet=1)
    return f"bytecode: {folder} compiled (as `pip install .` does)"


def compare_languages(url: str, env: dict[str, str], expected: dict[str, list], launches: int,
                      samples: int) -> dict[str, dict[str, list[float]]]:
    """Launch -> first rows, and Enter -> form (after the admin has read the list), in each language: a
    round starts the app once in each, the order alternating so that a machine growing busier weighs
    on both; the first round warms the disk cache and is not counted."""
    top = expected[""]
    found = {language: {"launch": [], "first_form": [], "forms": []} for language in LOCALES}
    for round_ in range(launches + 1):
        for language in (LOCALES if round_ % 2 else reversed(list(LOCALES))):
            session = Session(url, {**env, **set_language(language)})
            term = session.start()
            try:
                done = term.wait_painted(lambda s: list_rows(s)[:3] == [r.email for r in top[:3]], quiet=QUIET)
                term.wait_quiet(SETTLE)
                time.sleep(READING)  # the admin reads the list: the app builds the mailbox form meanwhile
                opens = []
                for cursor in range(samples):
                    opens.append(step(term, "\r", form_of(top[cursor].name))[0])
                    step(term, "\x1b", showing([r.email for r in top]))
                    step(term, "\x1b[B")  # down
            finally:
                term.quit()
            if round_:
                figures = found[language]
                figures["launch"].append((done - term.started) * 1000)
                figures["first_form"].append(opens[0])
                figures["forms"].extend(opens)
    return found


def report_languages(rows: int, found: dict[str, dict[str, list[float]]], load: tuple[float, float]) -> None:
    print(f"Svenska (issue 26): rows: {rows:,} mailboxes in SQLite; pseudo-terminal 80x24, TERM=xterm; "
          f"{len(found['en']['launch'])} launches of each language; load average {load[0]:.2f} before, "
          f"{load[1]:.2f} after")
    names = {"launch": "launch -> first rows painted (median)",
             "first_form": "Enter -> form painted, first open of each launch (median)",
             "forms": "Enter -> form painted, every open (median)"}
    width = max(len(n) for n in names.values())
    print(f"{'figure':<{width}}  {'en (LANG=C.UTF-8)':>18}  {'sv (LANG=sv_SE.UTF-8)':>22}  sv/en  target  met"
          "   (fastest: en, sv, sv/en)")
    for key, name in names.items():
        en, sv = (statistics.median(found[language][key]) for language in ("en", "sv"))
        fast_en, fast_sv = (min(found[language][key]) for language in ("en", "sv"))
        ratio = sv / en
        print(f"{name:<{width}}  {en:>15.0f} ms  {sv:>19.0f} ms  {ratio:5.3f}  <=1.05  {'yes' if ratio <= 1.05 else 'NO ':<3}"
              f"   ({fast_en:.0f} ms, {fast_sv:.0f} ms, {fast_sv / fast_en:.3f})")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--samples", type=int, default=12, help="form opens and keystrokes per filter (>= 10)")
    parser.add_argument("--launches", type=int, default=5, help="launches of each app (after one warm-up)")
    parser.add_argument("--pg-url", help="also time the store's filter queries on this PostgreSQL database")
    parser.add_argument("--lang", choices=tuple(LOCALES), default="en",
                        help="the app's language, as LANG sets it (sv: LANG=sv_SE.UTF-8)")
    parser.add_argument("--compare-languages", action="store_true",
                        help="only launch and the form's first paint, in English and in Swedish, and their ratio")
    args = parser.parse_args()
    sys.setswitchinterval(0.0005)  # the reader thread stamps output as soon as it arrives
    load_before = os.getloadavg()[0]
    compiled = compile_package()
    fig = Figures()
    with tempfile.TemporaryDirectory(prefix="mailbox-terminal-bench-") as work:
        url, key = copy_database(args.rows, Path(work))
        home = Path(work) / "home"
        env = {"MAILBOX_TUI_KEY": key, "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"),
               "XDG_DATA_HOME": str(home / ".local" / "share")}
        os.environ.update(env)
        expected = expectations(url, max(args.samples + 1, 40))
        if args.compare_languages:
            found = compare_languages(url, env, expected, args.launches, args.samples)
            report_languages(args.rows, found, (load_before, os.getloadavg()[0]))
            print(compiled)
            return
        session = Session(url, {**env, **set_language(args.lang)})
        measure_launches(session, [r.email for r in expected[""]], args.launches, fig)
        measure_session(session, expected, args.samples, fig)
        fig.validation = asyncio.run(measure_validation(url))
        store_lines = store_filter_times(url, args.rows, key)
        if args.pg_url:
            store_lines += store_filter_times(args.pg_url, args.rows, key)
    report(args.rows, fig, (load_before, os.getloadavg()[0]), args.lang)
    print(compiled)
    print("\n".join(store_lines))


if __name__ == "__main__":
    main()
