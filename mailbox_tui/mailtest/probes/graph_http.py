"""A bounded HTTPS client for the Graph and EWS probes: http.client on the probe's own sockets.

Every connection goes through the attempt (DNS, connect, TLS verified or pinned, watched by the budget),
so a reconnect is bounded too; every byte read counts against the budget's 256 KiB; redirects are never
followed (a bearer token goes only to the profile's location). Throttling (429, or 503/504 with
Retry-After) is waited out as often as each wait fits the probe's time, else reported as Deferred.
"""

from __future__ import annotations

import http.client
import json
import socket
import time
from dataclasses import dataclass

from ...i18n import say, say_n
from ..limits import Budget, ProbeLimit
from .explain import Deferred
from .results import MAILBOX_ACCESS

THROTTLED = (429, 503, 504)
RETRY_MARGIN = 0.5  # seconds the retried request needs at least, after the wait
MIN_WAIT = 1.0  # seconds between tries at least: a server answering Retry-After: 0 is not asked again at once


class _CountingFile:
    """The response file http.client reads, every read counted against the budget."""

    def __init__(self, raw, budget: Budget):
        self._raw, self._budget = raw, budget

    def _checked(self, data):
        self._budget.count(len(data))
        if self._budget.stopped:  # cut short by the watchdog: half an answer must not pass for a whole one
            raise ProbeLimit("stopped")
        return data

    def read(self, size: int | None = -1) -> bytes:
        return self._checked(self._raw.read(self._budget.allow(size)))

    def read1(self, size: int = -1) -> bytes:
        return self._checked(self._raw.read1(self._budget.allow(size)))

    def readline(self, size: int | None = -1) -> bytes:
        return self._checked(self._raw.readline(self._budget.allow(size)))

    def readinto(self, buffer) -> int:
        view = memoryview(buffer)[: self._budget.allow(len(buffer))]
        count = self._raw.readinto(view)
        self._checked(view[:count])
        return count

    def close(self) -> None:
        self._raw.close()

    def __getattr__(self, name):
        return getattr(self._raw, name)


class _Response(http.client.HTTPResponse):
    budget: Budget

    def __init__(self, sock, *args, **kwargs):
        super().__init__(sock, *args, **kwargs)
        self.fp = _CountingFile(self.fp, self.budget)


class BoundedHTTPS(http.client.HTTPConnection):
    """HTTP/1.1 over the attempt's verified (or pinned) TLS connection."""

    default_port = 443

    def __init__(self, attempt):
        super().__init__(attempt.ep.host, attempt.ep.port, timeout=attempt.budget.left())
        self.attempt = attempt
        self.response_class = type("BoundedResponse", (_Response,), {"budget": attempt.budget})

    def connect(self) -> None:
        """DNS, connect and TLS as the attempt's steps; then the exchange is mailbox access again."""
        a = self.attempt
        self.sock = a.wrap(a.connect())
        a.step = MAILBOX_ACCESS


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]  # names lower-cased
    body: bytes
    challenges: tuple[str, ...] = ()  # every WWW-Authenticate header (EWS: NTLM, Negotiate, Basic), in order

    def json(self):
        """The body as JSON, or None (not JSON, too deep, not UTF-8)."""
        try:
            return json.loads(self.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError):
            return None

    @property
    def retry_after(self) -> float | None:
        value = self.headers.get("retry-after", "").strip()
        return float(value) if value.isascii() and value.isdigit() and len(value) <= 6 else None


def request(conn: BoundedHTTPS, method: str, path: str, headers: dict[str, str], body: bytes | None,
            throttled: str) -> Answer:
    """One request, its answer read whole (within the budget); throttling waited out while the budget
    allows, however often it comes (a storm may refuse the same request again), else Deferred with `throttled`
    (a say() sentence naming what was asked: a `what`) and the wait asked for. The budget bounds the tries."""
    budget = conn.attempt.budget
    while True:
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        data = response.read()
        answer = Answer(response.status, {k.lower(): v for k, v in response.getheaders()}, data,
                        tuple(response.headers.get_all("WWW-Authenticate") or ()))
        if answer.status not in THROTTLED or (answer.status != 429 and answer.retry_after is None):
            return answer
        wait = answer.retry_after
        if wait is None or max(wait, MIN_WAIT) + RETRY_MARGIN > budget.deadline - time.monotonic():
            asked = say("Retry-After: {seconds} s", seconds=format(wait, "g")) if wait is not None else say("no Retry-After")
            raise Deferred(say("{what} (HTTP {code}, {reason}, more than the profile's timeout of {timeout} s allows): not a "
                               "fault of the configuration; test again later.", what=throttled, code=answer.status,
                               reason=asked, timeout=format(budget.timeout, "g")), f"HTTP {answer.status}")
        _sleep(max(wait, MIN_WAIT), budget)


def _sleep(seconds: float, budget: Budget) -> None:
    """Wait, but not past the budget's end or the run's Abort."""
    end = time.monotonic() + seconds
    while not budget.stopped and (left := end - time.monotonic()) > 0:
        time.sleep(min(0.1, left))
    if budget.stopped:
        raise ProbeLimit("stopped")


def stalled(a, exc: BaseException, what: str) -> str:
    """Why reading `what` stopped when the time ran out or the test was stopped (Graph and EWS alike), or ""."""
    where = a.ep.address
    trickle = a.budget.bytes_read - a.step_started_at
    if a.budget.expired or isinstance(exc, (TimeoutError, socket.timeout)):
        seconds = f"{a.ep.timeout:g}"
        if trickle:
            return say_n("Timed out after {seconds} s: {where} sent {n} byte without finishing its answer for "
                         "{what}. Check the profile's location, or raise its timeout.",
                         "Timed out after {seconds} s: {where} sent {n} bytes without finishing its answer for "
                         "{what}. Check the profile's location, or raise its timeout.", trickle, seconds=seconds,
                         where=where, what=what)
        return say("Timed out after {seconds} s: {where} did not answer for {what}. Check the profile's location, "
                   "or raise its timeout.", seconds=seconds, where=where, what=what)
    if isinstance(exc, ProbeLimit):
        return say("The test of {what} at {where} was stopped.", what=what, where=where)
    return ""
