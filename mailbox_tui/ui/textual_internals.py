"""Every Textual internal the app still relies on, each with why: the one place they come from.

Textual and rich are pinned exactly (pyproject.toml). tests/ui/test_textual_internals.py fails by
name when an upgrade changes what is listed here: a private name gone or reshaped, or Textual code
that the app copied no longer what it was copied from. It also fails when a module of ui/ uses a
Textual internal without going through this one, or when more than three private names are listed
(issue 20's bound). Everything else in ui/ is Textual's public API.

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

# textual.screen.Screen._refresh_layout: what a screen does when it is shown at a new size (it
# places every widget: styles, sizes, the compositor's map) before its first paint. A screen that is
# not current paints nothing, and Textual lays out only the current one, so the form built ahead
# is laid out hidden this way (lay_out_hidden_screen): the first Enter then finds its size
# unchanged and only paints, as every later Enter does. Without it: the first form opened is laid
# out on Enter (about twice a later open over SSH). Used: Screen._refresh_layout(screen, size).
from textual.screen import Screen

_refresh_layout = Screen._refresh_layout

PRIVATE_NAMES = {
    "textual._xterm_parser.XTermParser": "mailbox_tui.ui.terminal.driver.SshKeyParser",
    "textual.app.App._register": "mailbox_tui.ui.textual_internals.start_hidden_screen",
    "textual.screen.Screen._refresh_layout": "mailbox_tui.ui.textual_internals.lay_out_hidden_screen",
}


def start_hidden_screen(app: App, screen) -> None:
    """Compose and mount `screen` (installed, not on any screen stack) without showing it: pushing
    it later finds it running, as an installed screen shown before. Nothing is drawn meanwhile."""
    if not screen.is_running:
        _register(app, app, screen)


def lay_out_hidden_screen(screen: Screen) -> bool:
    """Place `screen`'s widgets at the terminal's size while it is not shown (it is running and
    not current), so showing it later only paints. Writes nothing to the terminal. False if it was
    not laid out (shown already, not attached, or no size yet)."""
    size = screen.app.size
    if screen.is_current or not screen.is_attached or not size:
        return False
    _refresh_layout(screen, size)
    return True


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

__all__ = ["COPIED_CODE", "PRIVATE_NAMES", "XTermParser", "lay_out_hidden_screen", "start_hidden_screen"]
