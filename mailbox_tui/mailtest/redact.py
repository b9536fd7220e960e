"""Keep passwords out of every text a test produces: server answers, messages, alerts, logs."""

from __future__ import annotations

import base64
from collections.abc import Iterable

MASK = "***"
_MIN_FRAGMENT = 4  # shorter base64 fragments would match ordinary words


def _base64_forms(secret: bytes) -> set[str]:
    """Every base64 text that any encoding of a blob containing `secret` must include.

    A password inside an AUTH PLAIN blob ("\\0user\\0password") starts at some offset; for each
    offset modulo 3 the part of the password that lands on whole 3-byte groups always encodes
    to the same characters, whatever surrounds it."""
    forms = {base64.b64encode(secret).decode("ascii").rstrip("=")}
    for skip in range(3):
        aligned = secret[skip:]
        aligned = aligned[: len(aligned) // 3 * 3]
        if aligned:
            forms.add(base64.b64encode(aligned).decode("ascii"))
    return {f for f in forms if len(f) >= _MIN_FRAGMENT}


class Redactor:
    """Replaces each secret, its escaped forms and its base64 forms with ***."""

    def __init__(self, secrets: Iterable[str | None] = ()):
        needles: set[str] = set()
        for secret in secrets:
            if not secret:
                continue
            raw = secret.encode("utf-8")
            needles.add(secret)
            needles.add(repr(raw)[2:-1])  # as a bytes repr shows it: b'p\xc3\xa4ss'
            needles.add(repr(secret)[1:-1])  # as a str repr shows it: quotes and backslashes escaped
            needles |= _base64_forms(raw)
        # Longest first, so a short form never leaves half of a longer one behind.
        self._needles = sorted((n for n in needles if n), key=len, reverse=True)

    def __call__(self, text: str | None) -> str:
        if not text:
            return text or ""
        for needle in self._needles:
            if needle in text:
                text = text.replace(needle, MASK)
        return text

    def __bool__(self) -> bool:
        return bool(self._needles)


NO_SECRETS = Redactor()
