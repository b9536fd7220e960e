"""Keep passwords and OAuth secrets out of every text a test produces: server answers, token endpoint
answers, messages, alerts, logs.

A server may echo what the client sent, in the form the client sent it: IMAP quotes a LOGIN
password (`"` and `\\` escaped with a backslash), AUTH PLAIN and AUTH LOGIN send base64, a
literal sends it raw, a token request sends the client secret percent-encoded (`%2F`, `+` for a
space). A text may also show it as Python or JSON escape it (`\\u00f1`, `\\/`), once or twice, or with
its white space collapsed. The Redactor masks every one of these forms; hex escapes match in either
case. Redact before shortening a text: a cut can leave half a password that no longer looks like one
(a last guard masks a tail that is the start of a secret, for texts cut elsewhere).

A secret shorter than MIN_SECRET characters (a short password, or a token a hostile endpoint made
short) never masks ordinary text: "pw" masking every "pw" would garble messages and show which
letters the secret holds. It is masked only where it stands as a credential: quoted, as the value
after `=`, `:` or PASS, or as a whole field of a base64 blob (AUTH PLAIN, XOAUTH2).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterable
from urllib.parse import quote, quote_plus

MASK = "***"
# OAuth (P14): whatever the secrets list holds, nothing shaped like a bearer token, a JWT (an access
# token or an assertion) or a token form field is ever shown.
_TOKEN_SHAPES = (
    (re.compile(r"eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*"), MASK),
    (re.compile(r"(?i)(\bbearer\s+)[A-Za-z0-9._~+/=-]{8,}"), r"\1" + MASK),
    (re.compile(r"\bya29\.[A-Za-z0-9._-]{8,}"), MASK),
    # HTTP sign-in blobs (EWS): NTLM and Negotiate messages, Basic's user:password; and a bare NTLMSSP message.
    # (a blob of 12 or more base64 characters with a digit, + / or a capital after its first: never a word)
    (re.compile(r"(\b(?i:ntlm|negotiate|basic)\s+)(?=[A-Za-z0-9+/]{12})[A-Za-z0-9+/]?[a-z]*[A-Z0-9+/][A-Za-z0-9+/]*=*"),
     r"\1" + MASK),
    (re.compile(r"TlRMTVNTUA[A-Za-z0-9+/]*=*"), MASK),
    (re.compile(r"(?i)\b(access_token|refresh_token|id_token|client_secret|client_assertion|assertion)"
                r"(\\?[\"']?\s*[:=]\s*\\?[\"']?)[^\s\"'&,;}\\]+"), r"\1\2" + MASK),
)
MIN_SECRET = 8  # shorter secrets mask only where they stand as a credential, never ordinary text
_MIN_FRAGMENT = 4  # shorter base64 fragments would match ordinary words
_MIN_TAIL = 6  # a text ending in this many characters of a secret was cut inside it
_HEX_ESCAPE = re.compile(r"%[0-9A-Fa-f]{2}|\\x[0-9A-Fa-f]{2}|\\u[0-9A-Fa-f]{4}|\\U[0-9A-Fa-f]{8}")


def _base64_forms(secret: bytes) -> set[str]:
    """Every base64 text (standard or URL-safe alphabet) that any encoding of a blob containing `secret`
    must include.

    A password inside an AUTH PLAIN blob ("\\0user\\0password") starts at some offset; for each
    offset modulo 3 the part of the password that lands on whole 3-byte groups always encodes
    to the same characters, whatever surrounds it."""
    forms = {base64.b64encode(secret).decode("ascii").rstrip("=")}
    for skip in range(3):
        aligned = secret[skip:]
        aligned = aligned[: len(aligned) // 3 * 3]
        if aligned:
            forms.add(base64.b64encode(aligned).decode("ascii"))
    forms |= {f.replace("+", "-").replace("/", "_") for f in forms}
    return {f for f in forms if len(f) >= _MIN_FRAGMENT}


def imap_quoted(secret: str) -> str:
    """The inside of an IMAP quoted string (RFC 3501), as imaplib sends a LOGIN password."""
    return secret.replace("\\", "\\\\").replace('"', '\\"')


def _percent_forms(secret: str) -> set[str]:
    """The secret as a URL or a form body carries it (RFC 3986, application/x-www-form-urlencoded)."""
    return {quote_plus(secret, safe=""), quote(secret, safe=""), quote(secret, safe="/"),
            quote(secret, safe="").replace("~", "%7E")}


def _hex_cases(form: str) -> set[str]:
    """`form`, and with the hex digits of its escapes (%2F, \\xf1, \\u00f1) in the other case."""
    if not _HEX_ESCAPE.search(form):
        return {form}

    def recase(change):
        def one(match: re.Match) -> str:
            escape = match.group(0)
            digits_from = 1 if escape.startswith("%") else 2
            return escape[:digits_from] + change(escape[digits_from:])

        return _HEX_ESCAPE.sub(one, form)

    return {form, recase(str.lower), recase(str.upper)}


def _escaped_forms(secret: str) -> set[str]:
    """The secret as protocols and programs encode or escape it, once or twice."""
    raw = secret.encode("utf-8")
    once = {
        secret,
        imap_quoted(secret),
        repr(raw)[2:-1],  # as a bytes repr shows it: b'p\\xc3\\xa4ss'
        repr(secret)[1:-1],  # as a str repr shows it: quotes and backslashes escaped
        secret.encode("unicode_escape").decode("ascii"),
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
        *_percent_forms(secret),
    }
    once |= {f.replace("/", "\\/") for f in once if "/" in f}  # JSON may escape the solidus
    # Escaped twice: an escaped form inside a JSON answer or the repr of a text.
    twice = {e for f in once for e in (repr(f)[1:-1], json.dumps(f)[1:-1], json.dumps(f, ensure_ascii=False)[1:-1])}
    return {variant for form in once | twice for variant in _hex_cases(form)}


def _pattern(form: str) -> str:
    """A form as a regular expression in which each run of white space inside matches any run of white
    space (a server or a log may collapse two spaces or turn a tab into a space), and white space at
    either end may be missing (trimmed). Short forms match only exactly: "  x" must not mask every x."""
    core = form.strip()
    if len(core) < _MIN_TAIL:
        return re.escape(form)
    inner = "".join(r"\s+" if part.isspace() else re.escape(part) for part in re.split(r"(\s+)", core) if part)
    return (r"\s*" if form[0].isspace() else "") + inner + (r"\s*" if form[-1].isspace() else "")


def _witness(form: str) -> str:
    """A piece of `form` that every text its pattern matches holds verbatim: the form itself when it must
    match exactly, else its longest run without white space. Cheap to look for, even in a 256 KiB flood."""
    core = form.strip()
    if len(core) < _MIN_TAIL:
        return form
    return max(core.split(), key=len)


# Where a short secret stands as a credential: quoted, or a value after =, : or PASS (its prefix is kept).
_SHORT_BEFORE = r"(?P<before>[\"']|[=:]\s*|(?i:\bPASS)\s+)"
_SHORT_AFTER = r"(?=[\"'&,;)\]}\s]|$)"
_BASE64_BLOB = re.compile(r"(?<![A-Za-z0-9+/=_-])[A-Za-z0-9+/_-]{2,}={0,2}(?![A-Za-z0-9+/=_-])")
_FIELD_EDGE = rb"\x00\x01\s=,:"  # what separates the fields of a decoded blob


class Redactor:
    """Replaces each secret, its encoded and escaped forms and its base64 forms with ***.

    It is built before anything is sent, from every secret the exchange will carry, and costs little
    until a text holds one of them: only the forms a text can hold become a
    regular expression, when it does."""

    def __init__(self, secrets: Iterable[str | None] = ()):
        needles: set[str] = set()
        short: set[str] = set()
        for secret in secrets:
            if not secret:
                continue
            if len(secret) >= MIN_SECRET:
                needles |= _escaped_forms(secret)
                needles |= _base64_forms(secret.encode("utf-8"))
            else:
                short.add(secret)
        # Longest first, so a short form never leaves half of a longer one behind.
        self._needles = sorted((n for n in needles if n), key=len, reverse=True)
        self._witnesses = [(n, _witness(n)) for n in self._needles]
        self._short_forms = sorted({f for s in short for f in _escaped_forms(s)}, key=len, reverse=True)
        self._short_bytes = {s.encode("utf-8") for s in short}
        self._short_field = re.compile(rb"(?<![^%s])(?:%s)(?![^%s])" % (
            _FIELD_EDGE, b"|".join(re.escape(b) for b in sorted(self._short_bytes, key=len, reverse=True)),
            _FIELD_EDGE)) if short else None
        self._short_regex: re.Pattern | None = None

    def __call__(self, text: str | None) -> str:
        if not text:
            return text or ""
        given = text
        if self._needles:
            # Only the forms the text can hold go into the expression (longest first, as everywhere).
            present = [needle for needle, witness in self._witnesses if witness in text]
            if present:
                text = re.compile("|".join(_pattern(n) for n in present)).sub(MASK, text)
            text = self._mask_cut_tail(text)
        if self._short_bytes:
            text = self._mask_short(text)
        # Last: a shape cut at a character the secret holds (client_secret=a;b) leaves no known secret whole.
        text = mask_token_shapes(text)
        return given if text == given else text  # unchanged: still the i18n.say() sentence it was

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

    def _mask_short(self, text: str) -> str:
        """Short secrets, only where they stand as a credential (see the module's notes)."""
        if any(form in text for form in self._short_forms):
            if self._short_regex is None:
                self._short_regex = re.compile(
                    _SHORT_BEFORE + "(?:" + "|".join(map(re.escape, self._short_forms)) + ")" + _SHORT_AFTER)
            text = self._short_regex.sub(lambda m: m.group("before") + MASK, text)
        return _BASE64_BLOB.sub(self._short_blob, text)

    def _short_blob(self, match: re.Match) -> str:
        """A base64 blob that holds a short secret as a whole field (between NUL, ^A, white space, =, comma or
        colon, or the blob's ends): AUTH LOGIN, AUTH PLAIN, XOAUTH2."""
        blob = match.group(0)
        try:
            decoded = base64.b64decode(blob.replace("-", "+").replace("_", "/") + "=" * (-len(blob) % 4),
                                       validate=True)
        except (binascii.Error, ValueError):
            return blob
        return MASK if self._short_field.search(decoded) else blob

    def __bool__(self) -> bool:
        return bool(self._needles or self._short_bytes)


def mask_token_shapes(text: str) -> str:
    """Bearer tokens, JWTs and token form fields masked, known or not (P14)."""
    for pattern, replacement in _TOKEN_SHAPES:
        text = pattern.sub(replacement, text)
    return text


NO_SECRETS = Redactor()
