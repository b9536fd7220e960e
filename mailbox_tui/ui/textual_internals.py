"""Every Textual internal the app still relies on, each with why: the one place they come from.

Textual and rich are pinned exactly (pyproject.toml). tests/ui/test_textual_internals.py fails by
name when an upgrade changes what is listed here: a private name gone or reshaped, or Textual code
that the app copied no longer what it was copied from. It also fails when a module of ui/ uses a
Textual internal without going through this one. Everything else in ui/ is Textual's public API
(ui/terminal/input_queue.py is being moved there in its own change, issue 20).

To upgrade Textual: bump the pins, run that test, and for each failure read the new Textual code
and adapt the user named below before updating what is recorded here.
"""

from __future__ import annotations

# -- Private names ---------------------------------------------------------------------------

# textual._xterm_parser.XTermParser: Textual's terminal input parser (escape sequences, the kitty
# keyboard protocol, mouse, bracketed paste, focus and in-band resize reports). Textual has no
# public parser, and LinuxDriver builds this one inside its input thread. The SSH driver
# (ui/terminal/driver.py: SshKeyParser) feeds it everything except an ESC that starts no sequence,
# which it reports as the Escape key itself. Without it: ESC y over SSH is alt+y (a `y` typed into
# the form), or the app needs a parser of its own. Used: XTermParser(debug), .feed(str) -> events
# (empty str: end of input), .tick() -> events due after a timeout.
from textual._xterm_parser import XTermParser

# textual.app.App._register: what push_screen does first to a screen that is not running yet (it
# starts the screen's message pump: compose, mount, stylesheet). The mailbox form is built that
# way while the app is idle after its first paint (screens/mailbox_form.py: build_ahead), so the
# first Enter only refills and shows it, as every later one does. A screen that is not current
# paints nothing, and Textual has no public way to build one without showing it (push_screen to
# another mode needs that mode shown once). Without it: the first form opened is built on Enter
# (about 0.2 s at 80x24 over SSH). Used: App._register(app, app, screen), as App._get_screen calls it.
from textual.app import App

_register = App._register

PRIVATE_NAMES = {
    "textual._xterm_parser.XTermParser": "mailbox_tui.ui.terminal.driver.SshKeyParser",
    "textual.app.App._register": "mailbox_tui.ui.textual_internals.start_hidden_screen",
}


def start_hidden_screen(app: App, screen) -> None:
    """Compose and mount `screen` (installed, not on any screen stack) without showing it: pushing
    it later finds it running, as an installed screen shown before. Nothing is drawn meanwhile."""
    if not screen.is_running:
        _register(app, app, screen)


# -- Textual code copied into the app --------------------------------------------------------

# Textual function (qualified name) -> (sha256 of its source as inspect.getsource returns it, the
# app's copy). The copy must follow the original: when the hash changes, compare the two.
COPIED_CODE = {
    # SshLinuxDriver.run_input_thread is this loop with SshKeyParser in place of XTermParser
    # (LinuxDriver creates its parser inside the loop, so it cannot be swapped in any other way).
    "textual.drivers.linux_driver.LinuxDriver.run_input_thread": (
        "d796af6d69db337d6fa6bd463984f7d17188d991dbb22f60efb92a8a9619507c",
        "mailbox_tui.ui.terminal.driver.SshLinuxDriver.run_input_thread",
    ),
}

__all__ = ["COPIED_CODE", "PRIVATE_NAMES", "XTermParser", "start_hidden_screen"]
