"""When the database can't be reached (PostgreSQL restarting, a network break): a sentence and a retry,
never a traceback (issue 22, item 2).

An exception in a handler ends the app with a traceback, and Textual stops that node's message loop
for good. So every handler of the app's own classes that may read the database is guarded: the
`on_*`, `action_*`, `key_*` and `watch_*` methods and `compose` of each class that inherits
GuardsDatabase are wrapped where they are defined (Textual calls the handler of every class in the
MRO, so nothing is wrapped twice or copied down). A database-unreachable error in one becomes the
app's `database_unreachable`: one notification, the title line says "database unreachable —
retrying", and a probe tries the server every RETRY_S seconds until it answers; then the title says
so no more and the list on screen is read again. Any other error is raised as before. The details go
to the log (--log).
"""

from __future__ import annotations

import inspect
import logging
from functools import wraps

from textual.app import App

from .. import i18n
from ..i18n import N_
from ..store.database import StoreError, describe_db_error, is_unreachable

log = logging.getLogger(__name__)

RETRY_S = 2.0
GUARDED_PREFIXES = ("on_", "action_", "key_", "watch_")
DOWN_TITLE = N_("database unreachable — retrying")  # shown(DOWN_TITLE) on the title line


def _caught(owner, error: BaseException) -> bool:
    """Whether `error` is the database being unreachable; if so the app says so (and retries)."""
    if not is_unreachable(error):
        return False
    app = owner if isinstance(owner, App) else getattr(owner, "app", None)
    if app is None or not hasattr(app, "database_unreachable"):
        return False
    app.database_unreachable(error)
    return True


def guarded(function):
    """`function` (a handler, action or compose; plain, async or a generator) with database trouble caught."""
    if getattr(function, "_database_guarded", False):
        return function
    if inspect.isgeneratorfunction(function):
        @wraps(function)
        def wrapper(self, *args, **kwargs):
            try:
                yield from function(self, *args, **kwargs)
            except Exception as error:
                if not _caught(self, error):
                    raise
    elif inspect.iscoroutinefunction(function):
        @wraps(function)
        async def wrapper(self, *args, **kwargs):
            try:
                return await function(self, *args, **kwargs)
            except Exception as error:
                if not _caught(self, error):
                    raise
    else:
        @wraps(function)
        def wrapper(self, *args, **kwargs):
            try:
                return function(self, *args, **kwargs)
            except Exception as error:
                if not _caught(self, error):
                    raise
    wrapper._database_guarded = True
    return wrapper


def unreachable_sentence(error: BaseException, url: str) -> str:
    """The store's sentence for it (a write's StoreError already is one), in the admin's language."""
    return said_error(error) if isinstance(error, StoreError) else i18n.said(describe_db_error(error, url))


def said_error(error: BaseException) -> str:
    """An error's sentence in the admin's language: the Said it was raised with (store/, say()), or its
    English text read back through the catalogue; text the catalogue does not hold is shown as it is."""
    if isinstance(getattr(error, "shown", None), str):  # RuleViolation: each finding in the admin's language
        return error.shown
    first = error.args[0] if len(error.args) == 1 else None
    return i18n.said(first if isinstance(first, i18n.Said) else str(error))


class GuardsDatabase:
    """Mixin: this class's own handlers, and those of every class made from it, are guarded (above)."""

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        for name, value in list(vars(cls).items()):
            if inspect.isfunction(value) and (name == "compose" or name.startswith(GUARDED_PREFIXES)):
                setattr(cls, name, guarded(value))


class WatchesDatabase(GuardsDatabase):
    """App mixin: what the app does while its database can't be reached."""

    database_down = False
    _database_probe = None

    def database_unreachable(self, error: BaseException, said: bool = False) -> None:
        """The database can't be reached: say so once (unless the caller `said` it), and retry."""
        log.warning("the database can't be reached", exc_info=error)
        if self.database_down:
            return
        self.database_down = True
        self._update_title()
        if not said:
            self.notify(unreachable_sentence(error, self.store.url), severity="error", timeout=8)
        self._database_probe = self.set_interval(RETRY_S, self.probe_database)

    def database_reachable(self) -> None:
        if not self.database_down:
            return
        self.database_down = False
        if self._database_probe is not None:
            self._database_probe.stop()
            self._database_probe = None
        self._update_title()
        self.notify(i18n._("The database can be reached again."), timeout=4)
        refresh = getattr(self.screen, "refresh_rows", None)
        if refresh is not None:
            refresh()
