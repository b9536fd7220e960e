"""Ctrl-C during an import run by the command line (`arm`): until the commit it stops the import
(KeyboardInterrupt; the transaction rolls back, nothing is written); from the commit on it is held
(`hold`), so the import finishes and says what it wrote, and "nothing was written" is never said of
an import that was. Anything else (tests, the app's workers) never arms it: signals stay as they are."""

from __future__ import annotations

import signal
import threading

_state: dict = {"armed": False, "previous": None, "held": False}


def arm() -> None:
    """The command line's main thread runs an import."""
    _state["armed"] = threading.current_thread() is threading.main_thread()


def hold() -> None:
    """The commit is next: from here on Ctrl-C waits (it is only noted)."""
    if not _state["armed"] or _state["previous"] is not None:
        return

    def noted(signum, frame) -> None:
        _state["held"] = True

    _state["previous"] = signal.signal(signal.SIGINT, noted)


def release() -> bool:
    """Signals as they were; whether Ctrl-C came while it was held."""
    held = _state["held"]
    if _state["previous"] is not None:
        signal.signal(signal.SIGINT, _state["previous"])
    _state.update(armed=False, previous=None, held=False)
    return held
