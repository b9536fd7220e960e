"""Keep passwords out of every text a test produces: server answers, messages, alerts, logs.

A server may echo what the client sent, in the form the client sent it: IMAP quotes a LOGIN
password (`"` and `\\` escaped with a backslash), AUTH PLAIN and AUTH LOGIN send base64, a
literal sends it raw. A text may also show it as Python or JSON escape it, or with its white
space collapsed. The Redactor masks every one of these forms. Redact before shortening a text:
a cut can leave half a password that no longer looks like one (a last guard masks a tail that
is the start of a secret, for texts cut elsewhere).
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterable

MASK = "***"
# OAuth (P14): whatever the secrets list holds, nothing shaped like a bearer token, a JWT (an access
# token or an assertion) or a token form field is ever shown.
_TOKEN_SHAPES = (
    (re.compile(r"eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*"), MASK),
    (re.compile(r"(?i)(\bbearer\s+)[A-Za-z0-9._~+/=-]{8,}"), r"\1" + MASK),
    (re.compile(r"\bya29\.[A-Za-z0-9._-]{8,}"), MASK),
    (re.compile(r"(?i)\b(access_token|refresh_token|id_token|client_secret|client_assertion|assertion)"
                r"(\\?[\"']?\s*[:=]\s*\\?[\"']?)[^\s\"'&,;}\\]+"), r"\1\2" + MASK),
)
_MIN_FRAGMENT = 4  # shorter base64 fragments would match ordinary words
_MIN_TAIL = 6  # a text ending in this many characters of a secret was cut inside it


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


def imap_quoted(secret: str) -> str:
    """The inside of an IMAP quoted string (RFC 3501), as imaplib sends a LOGIN password."""
    return secret.replace("\\", "\\\\").replace('"', '\\"')


def _escaped_forms(secret: str) -> set[str]:
    """The secret as protocols and programs escape it."""
    raw = secret.encode("utf-8")
    forms = {
        secret,
        imap_quoted(secret),
        repr(raw)[2:-1],  # as a bytes repr shows it: b'p\xc3\xa4ss'
        repr(secret)[1:-1],  # as a str repr shows it: quotes and backslashes escaped
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
    }
    forms |= {repr(f)[1:-1] for f in set(forms)}  # escaped twice: the repr of a text holding an escaped form
    return forms


def _pattern(form: str) -> str:
    """A form as a regular expression in which each run of white space inside matches any run of white
    space (a server or a log may collapse two spaces or turn a tab into a space), and white space at
    either end may be missing (trimmed). Short forms match only exactly: "  x" must not mask every x."""
    core = form.strip()
    if len(core) < _MIN_TAIL:
        return re.escape(form)
    inner = "".join(r"\s+" if part.isspace() else re.escape(part) for part in re.split(r"(\s+)", core) if part)
    return (r"\s*" if form[0].isspace() else "") + inner + (r"\s*" if form[-1].isspace() else "")


class Redactor:
    """Replaces each secret, its escaped forms and its base64 forms with ***."""

    def __init__(self, secrets: Iterable[str | None] = ()):
        needles: set[str] = set()
        for secret in secrets:
            if not secret:
                continue
            needles |= _escaped_forms(secret)
            needles |= _base64_forms(secret.encode("utf-8"))
        # Longest first, so a short form never leaves half of a longer one behind.
        self._needles = sorted((n for n in needles if n), key=len, reverse=True)
        self._regex = re.compile("|".join(_pattern(n) for n in self._needles)) if self._needles else None

    def __call__(self, text: str | None) -> str:
        if not text:
            return text or ""
        text = mask_token_shapes(text)
        if self._regex is None:
            return text
        text = self._regex.sub(MASK, text)
        return self._mask_cut_tail(text)

    def _mask_cut_tail(self, text: str) -> str:
        """A text cut in the middle of a secret ends with its first characters (before any "…")."""
        body = text.rstrip("…. \t")
        cut = len(body)
        for needle in self._needles:
            if len(needle) < _MIN_TAIL:
                continue
            start = body.find(needle[:_MIN_TAIL], max(0, len(body) - len(needle) + 1))
            while start != -1 and start < cut:
                if needle.startswith(body[start:]):
                    cut = start
                    break
                start = body.find(needle[:_MIN_TAIL], start + 1)
        return text if cut == len(body) else body[:cut] + MASK + text[len(body):]

    def __bool__(self) -> bool:
        return bool(self._needles)


def mask_token_shapes(text: str) -> str:
    """Bearer tokens, JWTs and token form fields masked, known or not (P14)."""
    for pattern, replacement in _TOKEN_SHAPES:
        text = pattern.sub(replacement, text)
    return text


NO_SECRETS = Redactor()
