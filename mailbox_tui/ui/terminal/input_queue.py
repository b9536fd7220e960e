"""One input queue for the whole app: a key is routed only after every effect of the key before
it has settled.

Over SSH keys arrive several to one read (latency coalesces them, fast typists outrun the app,
a paste without bracketed paste is a very fast typist). Textual hands each key to whatever has
focus when the key is read, while focus changes, screen pushes, mounts and form fills take
effect later, so a burst like `/ra` on the Users list approved and rejected instead of filtering.

Here the app holds every key and paste it reads and releases them one at a time. The next one
goes out when the app has settled, decided by public means only:

- a marker (`call_later`) goes to each node a key passes through: the app, the focused widget and
  its ancestors up to the screen (a key not handled there bubbles up), the app again (its
  bindings). A node handles its messages in order, so when the marker runs, whatever was posted
  to that node before it has been handled. Passes repeat until one leaves the screen, the focus
  and the screen stack as they were; when they moved, the screen's after-refresh callbacks run
  (`call_after_refresh`) before the next key.
- the foreground workers are done (`app.workers`): a filter's rows are loaded before Enter opens
  a row. Text typed into an input waits for no worker, so typing ahead in the filter stays fast,
  and a run of printable keys for a focused input goes out together (one settle for the run).

Every wait has a time limit. A settle that runs out of time lets the next key go (logged); two in
a row, or any exception in the queue, and the queue fails open: it logs once, hands every held
key to the app and from then on takes no key (Textual routes them as they arrive).

ctrl+q keeps its place in line for at most QUIT_PATIENCE; then it goes ahead of the keys before
it, which are dropped (a form with unsaved changes still asks: see RecordFormScreen). More than
HELD_BOUND keys waiting (a stuck key, a long paste without bracketed paste on a list) is a flood:
the keys waiting and every key until they stop coming for FLOOD_GAP are dropped, with one notice.
A flood of one key repeated (a stuck key) also ends at the first other key: a busy app reads the
terminal late, so the key the admin types after the notice can reach it right behind the flood.
Text for the focused input is not held back one key at a time, so a long paste into a field
(up to TEXT_BOUND characters) is typed whole.

A screen that asks something destructive sets `GUARDS_TYPEAHEAD`: keys that were typed before
it appeared on the terminal are not used to answer it (the admin never saw the question).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from dataclasses import dataclass

from textual import events
from textual.message import Message
from textual.widgets import Input
from textual.worker import WorkerState

from ...i18n import N_, ngettext, shown

log = logging.getLogger(__name__)

# Workers that run for long in the background and never decide where a key goes.
BACKGROUND_GROUPS = frozenset({"test-enable", "connection", "database-probe"})
# Keys that only edit the text of the focused input: they need no data loaded first.
TEXT_EDIT_KEYS = frozenset({"backspace", "delete", "left", "home", "end", "ctrl+left", "ctrl+right"})
QUIT_KEYS = frozenset({"ctrl+q"})
QUIT_PATIENCE = 0.25  # seconds ctrl+q waits in line before it goes ahead of the keys before it
HELD_BOUND = 256  # keys that each need the app to settle, waiting at once; more are dropped
TEXT_BOUND = 16384  # characters typed ahead into a focused input (released together), waiting at once
SETTLE_LIMIT = 3.0  # seconds the app's messages and repaint may take to settle after one key
WORKER_PATIENCE = 10.0  # seconds a foreground worker may hold the next key back
WORKER_POLL = 0.005
MAX_PASSES = 12  # marker passes for one key; a screen that keeps changing is a settle that ran out
TIMEOUTS_BEFORE_OPEN = 2  # settles in a row that ran out of time: the check does not work, fail open
FLOOD_GAP = 0.25  # a flood is over when no key came for this long
FLOOD_NOTICE = N_("Keys arrived faster than they could be handled: those still waiting were dropped. "
                  "For long text use your terminal's paste.")


def textual_clock() -> float:
    """Now, on the clock Textual stamps events with: a new message's public `time`."""
    return Message().time


class SettleTimeout(Exception):
    """The app did not settle within the time limit."""


@dataclass(eq=False)
class HeldInput:
    event: events.Key | events.Paste
    arrived: float  # when the terminal delivered it (the event's own timestamp)
    text: bool = False  # typed ahead into the focused input: not counted against HELD_BOUND
    quit_timer: asyncio.TimerHandle | None = None  # ctrl+q's: when it goes ahead of the line


def is_quit(event) -> bool:
    return isinstance(event, events.Key) and event.key in QUIT_KEYS


def key_of(event) -> str | None:
    """The key a key event is (None for a paste: pasted text never counts as a repeated key)."""
    return event.key if isinstance(event, events.Key) else None


class InputQueue:
    """Holds keys and pastes as they arrive and releases each when the app has settled."""

    def __init__(self, app) -> None:
        self.app = app
        self.held: deque[HeldInput] = deque()
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task | None = None
        self._settling: asyncio.Future | None = None  # the wait before the next key goes
        self._stopping = False
        self.failed = False  # the queue failed open: keys go straight to the app
        self.released = 0  # how many keys went out; tests read it
        self.ignored = 0  # typed-ahead keys a guarded question did not take
        self.dropped = 0  # keys over the bound, and keys ctrl+q went ahead of
        self._counted = 0  # held keys that count against HELD_BOUND
        self._text_chars = 0  # held keys typed ahead into the focused input
        self._quits = 0  # held ctrl+q
        self._flood = 0  # keys dropped in the flood going on (0: none)
        self._flood_key: str | None = None  # the one key the flood repeats (None: mixed keys, or a paste)
        self._last_arrival = float("-inf")  # when the last key arrived (the event's stamp)
        self._timeouts = 0  # settles in a row that ran out of time
        self._where_released = None  # screen, focus and stack when the last key went out
        self.went_ahead_of = 0  # keys the last ctrl+q went ahead of (they may have been edits)

    # -- intake (on the app's own task)
    def takes(self, event: events.Event) -> bool:
        """A key or paste fresh from the terminal (not one this queue released), unless the queue
        failed open, or it is ctrl+q with nothing before it (then it is handled at once)."""
        if self.failed or not isinstance(event, (events.Key, events.Paste)):
            return False
        if event.is_forwarded or getattr(event, "released_by_queue", False):
            return False
        return bool(self.held) or not is_quit(event)

    def put(self, event: events.Key | events.Paste) -> None:
        try:
            self._put(event)
        except Exception as error:  # noqa: BLE001 (whatever it is, the key must still reach the app)
            held = any(held.event is event for held in self.held)
            self._fail_open("taking a key in", error)
            if not held:
                self._post_all([HeldInput(event, event.time)])

    def _put(self, event) -> None:
        held = HeldInput(event, event.time)
        quiet_before, self._last_arrival = event.time - self._last_arrival, event.time
        if is_quit(event):
            held.quit_timer = asyncio.get_running_loop().call_later(QUIT_PATIENCE, self._quit_now, held)
        else:
            if self._flood:
                if quiet_before < FLOOD_GAP and self._flood_key in (None, key_of(event)):
                    self._flood += 1
                    return
                self._flood_over()
            held.text = self._goes_into_input(event)
            if self._text_chars >= TEXT_BOUND if held.text else self._counted >= HELD_BOUND:
                self._flood_starts(event)
                return
        self.held.append(held)
        self._count(held, 1)
        self._wakeup.set()

    def _goes_into_input(self, event) -> bool:
        """Printable, the focused widget is an input, and every key before it is text for it too."""
        return (isinstance(event, events.Key) and event.is_printable and not self._counted and not self._quits
                and isinstance(self._focused(), Input))

    def _count(self, held: HeldInput, sign: int) -> None:
        if is_quit(held.event):
            self._quits += sign
        elif held.text:
            self._text_chars += sign
        else:
            self._counted += sign

    def _flood_starts(self, over: events.Key | events.Paste | None = None) -> None:
        """Over the bound (`over`: the key that went over it, if one did): every key held and every
        key until they stop coming for FLOOD_GAP, or until another key than the one a flood repeats,
        is dropped (ctrl+q is kept); one notice. Keys typed after that go as usual."""
        kept = deque(held for held in self.held if is_quit(held.event))
        dropped = [held.event for held in self.held if not is_quit(held.event)] + ([over] if over else [])
        repeated = {key_of(event) for event in dropped}
        self._flood_key = repeated.pop() if len(repeated) == 1 else None
        self._flood = len(dropped)
        self.held, self._counted, self._text_chars = kept, 0, 0
        log.info("more than %d keys waiting: a flood; keys are dropped until they stop for %.2f s",
                 HELD_BOUND, FLOOD_GAP)
        self.app.notify(shown(FLOOD_NOTICE), severity="warning", timeout=10)

    def _flood_over(self) -> None:
        log.info("the flood of keys is over: %d key(s) were dropped", self._flood)
        self.dropped += self._flood
        self._flood, self._flood_key = 0, None

    def start(self) -> None:
        """Begin releasing keys (once the first screen is pushed); keys held until then stay in order."""
        if self._task is None and not self.failed:
            self._task = asyncio.create_task(self._release_loop(), name="input-queue")
            self._task.add_done_callback(self._loop_ended)
            self._wakeup.set()

    def stop(self) -> None:
        self._stopping = True
        if self._flood:
            self._flood_over()
        for held in self.held:
            if held.quit_timer is not None:
                held.quit_timer.cancel()
        if self._task is not None:
            self._task.cancel()
            self._task = None

    @property
    def idle(self) -> bool:
        return not self.held

    @property
    def last_arrival(self) -> float:
        """When the latest key or paste arrived (Textual's clock, textual_clock()); -inf: none yet."""
        return self._last_arrival

    # -- ctrl+q
    def _quit_now(self, quit_key: HeldInput) -> None:
        """ctrl+q waited QUIT_PATIENCE in line: it goes now, and the keys before it are dropped."""
        try:
            if not any(held is quit_key for held in self.held):
                return  # released in its turn meanwhile
            ahead = 0
            while (held := self.held.popleft()) is not quit_key:
                self._count(held, -1)
                ahead += 1
            self._count(quit_key, -1)
            self.went_ahead_of = ahead
            if self._settling is not None:
                self._settling.cancel()  # it waited to release the first of these: they are gone
            if ahead:
                self.dropped += ahead
                log.info("ctrl+q went ahead of %d key(s) still waiting; they were dropped", ahead)
                self.app.notify(ngettext("ctrl+q: {n} key typed before it was not used.",
                                         "ctrl+q: {n} keys typed before it were not used.", ahead).format(n=ahead),
                                severity="warning")
            self._post(quit_key)
        except Exception as error:  # noqa: BLE001
            self._fail_open("letting ctrl+q go ahead", error)

    # -- release
    async def _release_loop(self) -> None:
        try:
            while True:
                await self._wakeup.wait()
                self._wakeup.clear()
                while self.held:
                    head = self.held[0]
                    self._settling = asyncio.ensure_future(self._settle_before(head))
                    try:
                        await self._settling
                    except asyncio.CancelledError:
                        if asyncio.current_task().cancelling():
                            raise  # the queue stops
                        continue  # ctrl+q went ahead of the key this was for: settle for the next
                    finally:
                        self._settling = None
                    if self.held and self.held[0] is head:
                        self._release_next()
        except asyncio.CancelledError:
            raise
        except Exception as error:  # noqa: BLE001 (any failure: fail open, never a dead keyboard)
            self._fail_open("its loop raised", error)

    def _loop_ended(self, task: asyncio.Task) -> None:
        if self._stopping or self.failed:
            return
        error = None if task.cancelled() else task.exception()
        self._fail_open("its loop ended", error)

    async def _settle_before(self, head: HeldInput) -> None:
        """Until the app has settled, within time limits: a settle that runs out lets the next key go
        (logged); TIMEOUTS_BEFORE_OPEN in a row mean the check does not work (raised: fail open)."""
        if self.app.return_code is not None:
            return  # the app is ending: let the keys drain, nothing is routed any more
        try:
            await asyncio.wait_for(self.settle(), SETTLE_LIMIT)
            if self._needs_workers_done(head.event) and await self._workers_done():
                await asyncio.wait_for(self.settle(), SETTLE_LIMIT)  # what the workers posted
            self._timeouts = 0
        except (asyncio.TimeoutError, SettleTimeout) as why:
            if self.app.return_code is not None:
                return
            self._timeouts += 1
            what = str(why) or f"the app did not settle within {SETTLE_LIMIT:.0f} s"
            if self._timeouts >= TIMEOUTS_BEFORE_OPEN:
                raise SettleTimeout(f"{what} ({self._timeouts} keys in a row)") from None
            log.warning("%s; the next key goes anyway", what)

    async def settle(self) -> None:
        """Until the effects of the keys released so far have settled (no time limit of its own:
        the caller sets it): passes of markers until the screen, focus and stack stay as they are;
        when they moved, the screen's repaint and after-refresh callbacks too."""
        painted = same(self._where(), self._where_released)
        for _ in range(MAX_PASSES):
            before = self._where()
            await self._marker_pass()
            if not same(self._where(), before):
                painted = False
                continue
            if painted:
                return
            await self._marker(self._screen(), after_refresh=True)
            painted = True
        raise SettleTimeout(f"the screen or focus still changed after {MAX_PASSES} passes")

    def _where(self) -> tuple:
        """Which screen, which focused widget, how deep the stack: what decides where a key goes."""
        return self._screen(), self._focused(), len(self.app.screen_stack)

    def _screen(self):
        try:
            return self.app.screen
        except Exception:  # noqa: BLE001 (no screen yet, or none any more)
            return None

    def _focused(self):
        try:
            return self.app.focused
        except Exception:  # noqa: BLE001 (no screen yet, or none any more)
            return None

    async def _marker_pass(self) -> None:
        """A marker to every node a key passes through, in the order it passes."""
        app = self.app
        focused = self._focused()
        path = focused.ancestors_with_self if focused is not None else [self._screen(), app]
        if path[-1] is not app:  # (a widget removed meanwhile has no way up to the app)
            path.append(app)
        for node in (app, *path):
            await self._marker(node)

    async def _marker(self, node, after_refresh: bool = False) -> None:
        """Until `node` has handled what was posted to it before now (and, with `after_refresh`,
        repainted and run its after-refresh callbacks)."""
        if node is None:
            return
        done = asyncio.get_running_loop().create_future()

        def handled() -> None:
            if not done.done():
                done.set_result(None)

        posted = node.call_after_refresh(handled) if after_refresh else node.call_later(handled)
        if not posted:
            return  # the node is closing: nothing more happens there
        try:
            task = node.task  # it ends if the node closes before the marker's turn
        except AssertionError:
            task = None
        try:
            await asyncio.wait({done} if task is None else {done, task}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            done.cancel()  # (when the wait was cancelled: the marker may still run, to no one)

    async def _workers_done(self) -> bool:
        """Until no foreground worker runs (True if one did), or WORKER_PATIENCE runs out (logged)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + WORKER_PATIENCE
        waited = False
        while any(worker.state in (WorkerState.PENDING, WorkerState.RUNNING)
                  and worker.group not in BACKGROUND_GROUPS for worker in self.app.workers):
            if loop.time() > deadline:
                log.warning("a foreground worker ran over %.0f s; the next key goes anyway", WORKER_PATIENCE)
                return waited
            waited = True
            await asyncio.sleep(WORKER_POLL)
        return waited

    def _needs_workers_done(self, event) -> bool:
        """Text typed into an input needs nothing loaded; any other key may act on loaded data."""
        if not isinstance(self._focused(), Input):
            return True
        if isinstance(event, events.Paste):
            return False
        return not (event.is_printable or event.key in TEXT_EDIT_KEYS)

    def _release_next(self) -> None:
        held = self.held.popleft()
        self._count(held, -1)
        screen = self._screen()
        guarded = getattr(screen, "GUARDS_TYPEAHEAD", False)
        if guarded:
            shown_at = getattr(screen, "shown_at", None)
            if shown_at is None or held.arrived < shown_at:
                self.ignored += 1
                screen.typeahead_ignored()
                return
        into_input = isinstance(self._focused(), Input)
        if not into_input and self._counted + self._text_chars > HELD_BOUND:
            self._flood_starts()  # text held for an input that has no focus now: one by one, too many
        self._where_released = self._where()
        self._post(held)
        if into_input and not guarded and self._is_text(held):
            # The focused input takes printable keys whole (it stops them): the run goes out together.
            priority = {key for key, active in self.app.active_bindings.items() if active.binding.priority}
            while self.held and self._is_text(self.held[0], priority):
                self._count(self.held[0], -1)
                self._post(self.held.popleft())

    @staticmethod
    def _is_text(held: HeldInput, priority: frozenset[str] | set[str] = frozenset()) -> bool:
        event = held.event
        return isinstance(event, events.Key) and event.is_printable and event.key not in priority \
            and not is_quit(event)

    def _post(self, held: HeldInput) -> None:
        """Hand a key to the app as the terminal would, marked so that this queue lets it by."""
        if held.quit_timer is not None:
            held.quit_timer.cancel()
        original = held.event
        if isinstance(original, events.Key):
            event = events.Key(original.key, original.character)
        else:
            event = events.Paste(original.text)
        event.time = original.time
        event.released_by_queue = True
        event.set_sender(self.app)
        self.released += 1
        self.app.post_message(event)

    # -- failing open
    def _fail_open(self, why: str, error: BaseException | None) -> None:
        """Log once, hand every held key to the app, and take no more keys."""
        if self.failed:
            return
        self.failed = True
        log.error("The input queue stopped (%s): keys now go to the app as they arrive.", why,
                  exc_info=error if isinstance(error, BaseException) else None)
        pending, self.held = list(self.held), deque()
        self._counted = self._text_chars = self._quits = 0
        self._post_all(pending)

    def _post_all(self, pending: list[HeldInput]) -> None:
        try:
            for held in pending:
                self._post(held)
        except Exception:  # noqa: BLE001 (the app is going away: nothing more to hand over)
            log.exception("could not hand a held key to the app")


def same(a, b) -> bool:
    """Two `_where` tuples name the same screen, focus and depth."""
    return a is not None and b is not None and all(x is y or x == y for x, y in zip(a, b))


class GuardsTypeahead:
    """Mixin for a screen that asks a destructive question: it takes only keys typed after it showed."""

    GUARDS_TYPEAHEAD = True
    shown_at: float | None = None

    def on_mount(self) -> None:  # Textual calls each class's handler along the MRO: the screen's own runs too
        self.mark_shown()

    def mark_shown(self) -> None:
        """What the screen asks changed: only keys typed after it is painted may answer."""
        self.shown_at = None
        self.call_after_refresh(self._painted)

    def _painted(self) -> None:
        self.shown_at = textual_clock()

    def typeahead_ignored(self) -> None:
        """A key typed before the question appeared reached it: say so once."""
        if not getattr(self, "_told_typeahead", False):
            self._told_typeahead = True
            self.notify(shown(N_("Keys typed before this question appeared were ignored: answer it now.")),
                        severity="warning", timeout=6)
