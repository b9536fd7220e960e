"""What every command prints goes through one place: text from outside is shown, never obeyed
(domain/outside_text.py), on the command line's plain output and in its JSON alike."""

from __future__ import annotations

import logging
import sys

from .domain.outside_text import json_for_terminal, visible, visible_lines


class ShownStream:
    """A standard stream that shows outside text and obeys none of it (domain/outside_text.py): on
    plain output every control character is made visible but the line ends; a stream of JSON keeps
    the real text, with what json.dumps leaves raw (DEL, C1) written as \\u escapes. Everything a
    command prints goes through it, so no print can forget."""

    def __init__(self, stream, show) -> None:
        self._stream, self._show = stream, show

    def write(self, text: str) -> int:
        self._stream.write(self._show(text))
        return len(text)

    def __getattr__(self, name: str):
        return getattr(self._stream, name)


class ShownOutput:
    """While a command runs: sys.stdout and sys.stderr as ShownStreams (stdout JSON with --json, and
    for export, whose standard output is the exchange file)."""

    def __init__(self, json_out: bool) -> None:
        self.json_out = json_out

    def __enter__(self) -> None:
        self.saved = sys.stdout, sys.stderr
        sys.stdout = ShownStream(sys.stdout, json_for_terminal if self.json_out else visible_lines)
        sys.stderr = ShownStream(sys.stderr, visible_lines)

    def __exit__(self, *exc) -> None:
        sys.stdout, sys.stderr = self.saved


class VisibleLogFormatter(logging.Formatter):
    """The log file (--log) never carries a terminal command from outside text: `tail -f` or `cat` of it
    would obey one. Each message is made visible on one line; a traceback keeps its own line breaks."""

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 (logging's name)
        record.message = visible(record.message)
        return super().formatMessage(record)

    def formatException(self, ei) -> str:  # noqa: N802 (logging's name)
        return visible_lines(super().formatException(ei))
