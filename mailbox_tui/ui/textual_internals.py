"""Every Textual internal this app still relies on, each with why (the one place they come from).

Textual is pinned exactly (pyproject.toml); tests/ui/test_textual_internals.py checks that each
name below still exists with the shape the app uses, and that the Textual code copied into the
app is still what it was copied from, so an upgrade that changes any of them fails by name.
Everything else in ui/ uses Textual's public API only (ui/input_queue.py is being moved there).
"""

from __future__ import annotations

# Textual's terminal input parser: escape sequences, the kitty keyboard protocol, mouse reports,
# bracketed paste, focus and resize reports. Textual has no public parser; the SSH driver
# (ui/terminal_input.py) feeds it everything but an ESC that does not start a sequence (which
# it reports as the Escape key itself). Without it the app would need its own xterm parser.
# Used: XTermParser(debug), .feed(str) and .tick() (the methods of textual._parser.Parser).
from textual._xterm_parser import XTermParser

__all__ = ["XTermParser"]
