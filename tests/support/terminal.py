"""The installed app in a real pseudo-terminal, as an admin over SSH meets it.

`TerminalApp` starts `mailbox-tui` (the console script of this virtual environment) in a pty of
80×24 with TERM=xterm, renders everything it writes with pyte, and sends keys as raw bytes: a
burst is ONE write, so the app reads it the way it reads keys coalesced by an SSH link, a fast
typist or a paste without bracketed paste. Pilot cannot show this: it waits for the app to go
idle between keys.

The reader thread only reads and stamps what arrives; the screen is rendered (pyte) when it is
looked at, so stamps stay true while a big frame is being rendered. `wait_painted` is what the
terminal benchmark measures with: expected text on screen, then the output quiet for a while.
"""

from __future__ import annotations

import os
import shutil
import signal
import sys
import threading
import time
from pathlib import Path

import ptyprocess
import pyte

# xterm's bytes for the keys the tests use
KEYS = {
    "enter": "\r", "space": " ", "tab": "\t", "shift+tab": "\x1b[Z", "escape": "\x1b", "backspace": "\x7f",
    "delete": "\x1b[3~", "up": "\x1b[A", "down": "\x1b[B", "right": "\x1b[C", "left": "\x1b[D",
    "home": "\x1b[H", "end": "\x1b[F", "pageup": "\x1b[5~", "pagedown": "\x1b[6~",
    "f1": "\x1bOP", "f2": "\x1bOQ", "f3": "\x1bOR", "f4": "\x1bOS", "f5": "\x1b[15~", "f6": "\x1b[17~",
    "f7": "\x1b[18~", "f8": "\x1b[19~", "f9": "\x1b[20~",
    "ctrl+p": "\x10", "ctrl+q": "\x11", "ctrl+s": "\x13", "ctrl+w": "\x17",
}
PASTE_START, PASTE_END = "\x1b[200~", "\x1b[201~"


def keys(*parts: str) -> bytes:
    """Bytes for a burst: key names from KEYS, anything else typed as text."""
    return "".join(KEYS.get(p, p) for p in parts).encode()


def console_script() -> str:
    """The app as installed in the interpreter running the tests."""
    found = Path(sys.executable).with_name("mailbox-tui")
    return str(found) if found.exists() else (shutil.which("mailbox-tui") or "mailbox-tui")


class TerminalApp:
    """`program` runs another command in the same kind of terminal (the benchmark's empty app)."""

    def __init__(self, args: list[str], env: dict[str, str], cols: int = 80, rows: int = 24,
                 program: list[str] | None = None) -> None:
        self.cols, self.rows = cols, rows
        self.screen = pyte.Screen(cols, rows)
        self.stream = pyte.ByteStream(self.screen)
        self.lock = threading.Lock()
        self.bytes_out = 0  # everything the app wrote to the terminal
        self.started = time.monotonic()
        self.last_output = self.started  # time.monotonic() of the latest read
        self._pending: list[bytes] = []  # read, not yet rendered
        self.reads: list[bytes] = []  # every read, in order: a test can replay what the screen went through
        full_env = {**os.environ, **env, "TERM": "xterm", "COLUMNS": str(cols), "LINES": str(rows)}
        full_env.pop("TEXTUAL", None)
        command = [*(program or [console_script()]), *args]
        self.proc = ptyprocess.PtyProcess.spawn(command, env=full_env, dimensions=(rows, cols))
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while True:
            try:
                data = self.proc.read(65536)
            except (EOFError, OSError):
                return
            now = time.monotonic()
            with self.lock:
                self.bytes_out += len(data)
                self.last_output = now
                self._pending.append(data)
                self.reads.append(data)

    def _render(self) -> None:
        """Feed what was read to the screen (the caller holds the lock)."""
        if self._pending:
            data, self._pending = b"".join(self._pending), []
            self.stream.feed(data)

    # -- input
    def send(self, data: bytes | str) -> None:
        """One write: the app receives these bytes together, as over a slow link."""
        if isinstance(data, str):
            data = data.encode()
        os.write(self.proc.fd, data)

    def press(self, *parts: str) -> None:
        self.send(keys(*parts))

    def paste(self, text: str) -> None:
        """A bracketed paste (the terminal marks the pasted text)."""
        self.send(PASTE_START + text + PASTE_END)

    # -- output
    def text(self) -> str:
        with self.lock:
            self._render()
            return "\n".join(line.rstrip() for line in self.screen.display)

    def line(self, y: int) -> str:
        with self.lock:
            self._render()
            return self.screen.display[y].rstrip()

    def wait_for(self, what, timeout: float = 15.0) -> str:
        """Until `what` (text on screen, or a predicate of the screen's text) holds; the screen."""
        check = (lambda s: what in s) if isinstance(what, str) else what
        end = time.monotonic() + timeout
        while True:
            screen = self.text()
            if check(screen):
                return screen
            if time.monotonic() > end or not self.proc.isalive():
                raise AssertionError(f"timed out waiting for {what!r}; the screen shows:\n{screen}")
            time.sleep(0.02)

    def settle_after(self, sent_at_bytes: int, quiet: float = 0.2, first_output: float = 1.0) -> str:
        """After a key: wait for the app to answer it (some keys change nothing on screen), then quiet."""
        end = time.monotonic() + first_output
        while time.monotonic() < end:
            with self.lock:
                if self.bytes_out != sent_at_bytes:
                    break
            time.sleep(0.01)
        return self.wait_quiet(quiet)

    def wait_quiet(self, quiet: float = 0.4, timeout: float = 15.0) -> str:
        """Until the app has written nothing for `quiet` seconds: it has handled what it was sent."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            with self.lock:
                idle = time.monotonic() - self.last_output
            if idle >= quiet:
                return self.text()
            time.sleep(0.02)
        raise AssertionError(f"the app kept writing for {timeout} s; the screen shows:\n{self.text()}")

    def wait_painted(self, what, quiet: float = 0.05, timeout: float = 30.0, after: float | None = None) -> float:
        """Until `what` (text, or a predicate of the screen's text) is on screen and the app has then
        written nothing for `quiet` seconds. Returns the time.monotonic() of its last write before
        that quiet period: when the screen was painted. With `after` (a time.monotonic()), only
        output written after it counts: the app must have answered a key sent then."""
        check = (lambda s: what in s) if isinstance(what, str) else what
        end = time.monotonic() + timeout
        while True:
            with self.lock:
                last = self.last_output
            answered = after is None or last > after
            if answered and time.monotonic() - last >= quiet and check(self.text()):
                with self.lock:
                    if self.last_output == last:
                        return last
                continue  # more arrived meanwhile: look again
            if time.monotonic() > end or not self.proc.isalive():
                raise AssertionError(f"timed out waiting for {what!r}; the screen shows:\n{self.text()}")
            time.sleep(0.002)

    # -- lifetime
    def quit(self, timeout: float = 10.0) -> int | None:
        if self.proc.isalive():
            self.press("ctrl+q")
            end = time.monotonic() + timeout
            while self.proc.isalive() and time.monotonic() < end:
                time.sleep(0.05)
        return self.close()

    def close(self) -> int | None:
        if self.proc.isalive():
            self.proc.kill(signal.SIGTERM)
            time.sleep(0.2)
            if self.proc.isalive():
                self.proc.kill(signal.SIGKILL)
        try:
            self.proc.wait()
        except ptyprocess.PtyProcessError:
            pass
        self._reader.join(timeout=2)
        return self.proc.exitstatus


def demo_database(folder: Path, users: int = 50) -> tuple[Path, str, str]:
    """The demo organisation in a new SQLite file under `folder`, for the installed app to open:
    (its path, its key, the first user's email to act as)."""
    import sqlite3

    from cryptography.fernet import Fernet

    from mailbox_tui.store.database import Store
    from mailbox_tui.store.demo import seed_demo

    key = Fernet.generate_key().decode()
    path = folder / "demo.db"
    old = os.environ.get("MAILBOX_TUI_KEY")
    os.environ["MAILBOX_TUI_KEY"] = key
    try:
        store = Store(f"sqlite:///{path}")
        seed_demo(store, users=users)
        store.close()
    finally:
        if old is None:
            os.environ.pop("MAILBOX_TUI_KEY", None)
        else:
            os.environ["MAILBOX_TUI_KEY"] = old
    with sqlite3.connect(path) as db:
        acting = db.execute("SELECT email FROM app_user ORDER BY full_name LIMIT 1").fetchone()[0]
    return path, key, acting
