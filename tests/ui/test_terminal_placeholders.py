"""A hint in an empty field never passes for a value (issue 25, item 4), as a terminal shows it.

Hints used to be drawn only dim, which many terminals show as normal text: a new profile read
`Incoming Server imap.example.com`. The installed app runs in a pseudo-terminal in 16 colours
(TERM=xterm, no COLORTERM, TEXTUAL_COLOR_SYSTEM=standard) and in monochrome (NO_COLOR); pyte
keeps the attributes the app's SGR sequences set on each cell, except dim, which it ignores: a
hint that differed from a value only in dimness would look the same here."""

from __future__ import annotations

import pytest
from support.terminal import TerminalApp, demo_database

COLOURS = {"16 colours": {"TEXTUAL_COLOR_SYSTEM": "standard", "COLORTERM": ""},
           "monochrome": {"TEXTUAL_COLOR_SYSTEM": "standard", "COLORTERM": "", "NO_COLOR": "1"}}


@pytest.fixture(scope="module")
def organisation(tmp_path_factory):
    return demo_database(tmp_path_factory.mktemp("hints"), users=5)


def cells(term: TerminalApp, label: str, text: str) -> list:
    """The cells that show `text` on the line that starts with `label`."""
    screen = term.text().splitlines()
    found = [(y, line.find(text)) for y, line in enumerate(screen) if line.startswith(label) and text in line]
    assert found, f"no {text!r} after {label.strip()!r} on screen:\n" + "\n".join(screen)
    y, x = found[0]
    with term.lock:
        return [term.screen.buffer[y][x + i] for i in range(len(text))]


def looks(cells_: list) -> set[tuple]:
    return {(c.fg, c.bg, c.bold, c.italics, c.underscore, c.reverse) for c in cells_}


@pytest.mark.parametrize("colours", list(COLOURS), ids=list(COLOURS))
def test_an_empty_field_looks_unlike_a_filled_one_in_more_than_dimness(organisation, tmp_path, colours):
    path, key, acting = organisation
    home = tmp_path / "home"
    env = {"MAILBOX_TUI_KEY": key, "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"),
           "XDG_DATA_HOME": str(home / ".local" / "share"), **COLOURS[colours]}
    term = TerminalApp(["--db", f"sqlite:///{path}", "--as", acting, "--no-mouse"], env)
    try:
        term.wait_for("Email Address")
        term.wait_quiet()
        term.press("2")
        term.wait_for("Email Server Profiles")
        term.press("n")
        term.wait_for("New server profile")
        term.wait_quiet()
        hint = cells(term, " Incoming Server", "e.g. imap.example.com")  # empty: the hint, and says so
        value = cells(term, " Incoming Port", "993")  # a filled field of the same kind, not focused
        assert all(c.italics for c in hint) and not any(c.italics for c in value)
        if colours == "16 colours":
            assert {c.fg for c in hint} == {"cyan"} and {c.fg for c in value} == {"default"}
        else:  # one colour for everything: the italics and the wording alone tell them apart
            assert {c.fg for c in hint} == {c.fg for c in value}, (looks(hint), looks(value))
        assert looks(hint).isdisjoint(looks(value))

        term.press("tab", "tab", "mail.corp.test", "tab")  # Name → Server Type → Incoming Server, then on
        term.wait_for(lambda s: " Incoming Server          mail.corp.test" in s)
        term.wait_quiet()
        filled = cells(term, " Incoming Server", "mail.corp.test")
        assert looks(filled) == looks(value)  # the same field, filled in: drawn as any value
    finally:
        term.quit()
