"""One input queue for the whole app: a key is routed only after every effect of the key before
it has settled.

Over SSH keys arrive several to one read (latency coalesces them, fast typists outrun the app,
a paste without bracketed paste is a very fast typist). Textual hands each key to whatever has
focus when the key is read, while focus changes, screen pushes, mounts and form fills take
effect later, so a burst like `/ra` on the Users list approved and rejected instead of filtering.

Here the app holds every key and paste it reads and releases them one at a time. The next one
goes out only when the app has settled: every message queue of the app and of the current screen
is empty, the screen has run its after-refresh callbacks (a form focuses its first field there),
and the foreground workers are done (a filter's rows are loaded before Enter opens a row). Text
typed into an input does not wait for workers, so typing ahead in the filter stays fast.

A screen that asks something destructive sets `GUARDS_TYPEAHEAD`: keys that were typed before
it appeared on the terminal are not used to answer it (the admin never saw the question).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from dataclasses import dataclass

from textual import events
from textual._time import get_time  # the clock key events are stamped with
from textual.widgets import Input
from textual.worker import WorkerState

log = logging.getLogger(__name__)

# Workers that run for long in the background and never decide where a key goes.
BACKGROUND_GROUPS = frozenset({"test-enable", "connection"})
# Keys that only edit the text of the focused input: they need no data loaded first.
TEXT_EDIT_KEYS = frozenset({"backspace", "delete", "left", "home", "end", "ctrl+left", "ctrl+right"})
POLL_SECONDS = 0.002
# A foreground worker that takes longer than this no longer holds keys back (it is logged).
WORKER_PATIENCE_SECONDS = 10.0


@dataclass
class HeldInput:
    event: events.Key | events.Paste
    arrived: float  # when the terminal delivered it (the event's own timestamp)


class InputQueue:
    """Holds keys and pastes as they arrive and releases each when the app has settled."""

    def __init__(self, app) -> None:
        self.app = app
        self.held: deque[HeldInput] = deque()
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task | None = None
        self.released = 0  # how many keys went out; tests read it
        self.ignored = 0  # typed-ahead keys a guarded question did not take

    # -- intake (on the app's own task)
    def takes(self, event: events.Event) -> bool:
        """A key or paste fresh from the terminal (not one this queue released)."""
        return (isinstance(event, (events.Key, events.Paste)) and not event.is_forwarded
                and not getattr(event, "released_by_queue", False))

    def put(self, event: events.Key | events.Paste) -> None:
        self.held.append(HeldInput(event, event.time))
        self._wakeup.set()

    def start(self) -> None:
        """Begin releasing keys (once the first screen is pushed); keys held until then stay in order."""
        if self._task is None:
            self._task = asyncio.create_task(self._release_loop(), name="input-queue")
            self._wakeup.set()

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None

    @property
    def idle(self) -> bool:
        return not self.held

    # -- release
    async def _release_loop(self) -> None:
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while self.held:
                await self._until_settled(self.held[0])
                self._release(self.held.popleft())

    async def _until_settled(self, next_input: HeldInput) -> None:
        await asyncio.sleep(0)
        waited_for_workers = 0.0
        while True:
            reason = self.busy(next_input)
            if reason is None:
                return
            if reason == "workers":
                waited_for_workers += POLL_SECONDS
                if waited_for_workers > WORKER_PATIENCE_SECONDS:
                    log.warning("a foreground worker ran over %.0f s; releasing the next key", WORKER_PATIENCE_SECONDS)
                    return
            await asyncio.sleep(POLL_SECONDS)

    def busy(self, next_input: HeldInput) -> str | None:
        """Why the next key must wait, or None when the app has settled."""
        app = self.app
        if app._exit or app._closing:
            return None  # let it drain; nothing is routed any more
        try:
            screen = app.screen
        except Exception:
            return "no screen"
        for node in (app, screen, *screen.walk_children()):
            if not _pump_idle(node):
                return "messages"
        if screen._callbacks:
            return "after refresh"
        if self._needs_workers_done(next_input.event) and any(
                w.state in (WorkerState.PENDING, WorkerState.RUNNING) and w.group not in BACKGROUND_GROUPS
                for w in app.workers):
            return "workers"
        return None

    def _needs_workers_done(self, event) -> bool:
        """Text typed into an input needs nothing loaded; any other key may act on loaded data."""
        if not isinstance(self.app.focused, Input):
            return True
        if isinstance(event, events.Paste):
            return False
        return not (event.is_printable or event.key in TEXT_EDIT_KEYS)

    def _release(self, held: HeldInput) -> None:
        app = self.app
        try:
            screen = app.screen
        except Exception:
            screen = None
        shown_at = getattr(screen, "shown_at", None)
        if getattr(screen, "GUARDS_TYPEAHEAD", False) and (shown_at is None or held.arrived < shown_at):
            self.ignored += 1
            screen.typeahead_ignored()
            return
        original = held.event
        if isinstance(original, events.Key):
            event = events.Key(original.key, original.character)
        else:
            event = events.Paste(original.text)
        event.time = original.time
        event.released_by_queue = True
        event.set_sender(app)
        self.released += 1
        app.post_message(event)


def _pump_idle(node) -> bool:
    """True when a message pump has nothing queued and is not handling anything: its task waits
    for the next message. (Textual keeps no in-progress flag; a pump that is busy is not awaiting
    its queue's ready event.)"""
    if node._closed or node._closing:
        return True
    if not node._running or node._next_callbacks or node._pending_message is not None:
        return False
    queue = node._message_queue
    return not queue.values and bool(queue.ready_event._waiters)


class GuardsTypeahead:
    """Mixin for a screen that asks a destructive question: it takes only keys typed after it showed."""

    GUARDS_TYPEAHEAD = True
    shown_at: float | None = None

    def _on_mount(self) -> None:
        self.mark_shown()

    def mark_shown(self) -> None:
        """What the screen asks changed: only keys typed after it is painted may answer."""
        self.shown_at = None
        self.call_after_refresh(self._painted)

    def _painted(self) -> None:
        self.shown_at = get_time()

    def typeahead_ignored(self) -> None:
        """A key typed before the question appeared reached it: say so once."""
        if not getattr(self, "_told_typeahead", False):
            self._told_typeahead = True
            self.notify("Keys typed before this question appeared were ignored: answer it now.",
                        severity="warning", timeout=6)
