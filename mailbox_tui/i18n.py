"""The admin's language: English (the code's own words) or Swedish, from one gettext catalogue.

Words are looked up when they are shown, never when they are stored: the database, `--json`, the
exchange format, logs and rule IDs stay in the code's own English whatever the admin reads. A
message is marked where it is written, `_("…")` (shown now), `N_("…")` (a declaration's words,
looked up by whoever shows them: `shown()`) or `ngettext(one, many, n)`; `scripts/catalogue.py`
extracts the marks with Babel and compiles `locale/<lang>/LC_MESSAGES/mailbox_tui.mo`, which is
shipped compiled. A `{placeholder}` is filled after the lookup, so a translation keeps every one.

The language: `--lang sv|en`, else the app's remembered choice (settings.json, the palette's
"Language"), else the locale as every Unix program reads it (LC_ALL, then LC_MESSAGES, then LANG:
`sv_SE.UTF-8` is Swedish, anything else English). One process shows one language.
"""

from __future__ import annotations

import functools
import gettext
import os
import re
import struct
from collections.abc import Mapping
from pathlib import Path

DOMAIN = "mailbox_tui"
LOCALE_DIR = Path(__file__).parent / "locale"
ENGLISH, SWEDISH = "en", "sv"
LANGUAGES = {ENGLISH: "English", SWEDISH: "Svenska"}  # each named in its own words
LOCALE_VARIABLES = ("LC_ALL", "LC_MESSAGES", "LANG")  # POSIX's order: the first one set decides

_language = ENGLISH
_catalogue: gettext.NullTranslations = gettext.NullTranslations()


def language_of_locale(value: str) -> str:
    """The language a locale name asks for: sv, sv_SE, sv_FI.UTF-8, sv_SE@euro → Swedish; anything
    else (C, POSIX, en_GB.UTF-8, nonsense) → English."""
    name = value.split(".", 1)[0].split("@", 1)[0].strip().lower()
    return SWEDISH if name == "sv" or name.startswith("sv_") or name.startswith("sv-") else ENGLISH


def language_from_environment(environ: Mapping[str, str] | None = None) -> str:
    environ = os.environ if environ is None else environ
    for variable in LOCALE_VARIABLES:
        value = environ.get(variable, "")
        if value:
            return language_of_locale(value)
    return ENGLISH


def choose(requested: str | None = None, remembered: object = None,
           environ: Mapping[str, str] | None = None) -> str:
    """The language to use: `requested` (--lang), else `remembered` (settings.json, only if it names
    a language this program has), else the environment's."""
    if requested in LANGUAGES:
        return requested
    if isinstance(remembered, str) and remembered in LANGUAGES:
        return remembered
    return language_from_environment(environ)


def use(language: str) -> None:
    """Show `language` from now on (an unknown one is English)."""
    global _language, _catalogue
    _language = language if language in LANGUAGES else ENGLISH
    _catalogue = (gettext.NullTranslations() if _language == ENGLISH else
                  gettext.translation(DOMAIN, LOCALE_DIR, languages=[_language], fallback=True))
    _said_read_back.cache_clear()


def current() -> str:
    return _language


def _(message: str) -> str:
    """`message` in the admin's language (itself when there is no translation)."""
    return _catalogue.gettext(message)


def N_(message: str) -> str:
    """Marks a declaration's words for the catalogue without looking them up: `shown()` does, when shown."""
    return message


def shown(message: str) -> str:
    """A declared word (marked with N_) in the admin's language."""
    return _catalogue.gettext(message) if message else message


def pgettext(context: str, message: str) -> str:
    """`message` where one English word needs two translations (`context` tells them apart, e.g. a
    short label that must fit a narrow column)."""
    return _catalogue.pgettext(context, message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The form of a message that suits the number `n` (`{n}` is filled by the caller)."""
    return _catalogue.ngettext(singular, plural, n)


def number(n: int) -> str:
    """A whole number as the admin's language writes it: 100,000 in English, 100 000 in Swedish (a
    no-break space, so a number never breaks across lines)."""
    text = f"{n:,}"
    return text.replace(",", "\u00a0") if _language == SWEDISH else text


# Sentences: made in English, shown in the admin's language -------------------------------------------
#
# A sentence that is stored (a Test & Enable explanation, an alert, a history phrase) or leaves the
# process (`--json`, a log) stays in English. It is made with `say(template, **values)`, which returns
# the English text; `said(text)` shows it in the admin's language: directly when the text is still the
# `Said` that say() made, otherwise (read back from the database) by finding which catalogue template
# it was filled from. A value is translated too when it is itself a Said, or when its placeholder's
# name says it holds our own words (OWN_WORDS: a field's label, a fix); every other value (a name, an
# address, what a server answered) is shown exactly as it is. So that a stored sentence can be read
# back, a template keeps some words between two placeholders.

OWN_WORDS = frozenset({"label", "labels", "what", "why", "fix", "reason", "kind", "step", "status", "cause",
                       "method", "advice", "then", "first", "second", "section", "option", "options"})


class Said(str):
    """English text that remembers the template and values it was filled from (made by say())."""

    template: str
    values: dict
    plural: str | None
    count: int | None


def say(template: str, /, **values) -> Said:
    """`template` filled with `values`, in English; `said()` shows it in the admin's language."""
    return _said(template, None, None, values)


def say_n(singular: str, plural: str, n: int, /, **values) -> Said:
    """The form of a sentence that suits `n` (also given to the template as {n}), in English."""
    return _said(singular, plural, n, values)


def _said(template: str, plural: str | None, n: int | None, values: dict) -> Said:
    fill = {**values, "n": f"{n:,}"} if n is not None else values  # a count: 1,000 as English writes it
    text = Said((plural if plural is not None and n != 1 else template).format(**fill))
    text.template, text.plural, text.count, text.values = template, plural, n, values
    return text


def joined(items: list, separator: str = ", ") -> Said:
    """Sentences or words joined in English, each shown in the admin's language by said() (a template of
    no words of its own: it is in no catalogue, and is never read back from storage)."""
    return _said(separator.join(f"{{i{k}}}" for k in range(len(items))), None, None,
                 {f"i{k}": item for k, item in enumerate(items)})


def said(text: str) -> str:
    """`text` (an English sentence made by say(), a declared word, or either read back from storage) in
    the admin's language; a text the catalogue does not hold is shown as it is."""
    if _language == ENGLISH or not text:
        return text
    if isinstance(text, Said):
        return _translate(text.template, text.plural, text.count, text.values)
    return _said_read_back(str(text))


@functools.lru_cache(maxsize=4096)
def _said_read_back(text: str) -> str:
    """A stored sentence in the language of the moment (use() empties this cache): a list of history or
    alerts shows the same sentences again and again."""
    return _said_stored(text, 0)


def _translate(template: str, plural: str | None, n: int | None, values: dict, depth: int = 0) -> str:
    own = {name: _value(name, value, depth) for name, value in values.items()}
    if plural is None:
        return _catalogue.gettext(template).format(**own)
    return _catalogue.ngettext(template, plural, n).format(**own, n=number(n))


def _value(name: str, value, depth: int):
    if isinstance(value, Said):
        return _translate(value.template, value.plural, value.count, value.values, depth + 1)
    if name in OWN_WORDS and isinstance(value, str) and depth < 4:
        return _said_stored(value, depth + 1)
    return value


def _said_stored(text: str, depth: int) -> str:
    exact = _catalogue.gettext(text)
    if exact is not text and exact != text:
        return exact
    for pattern, template, plural, _literal in _templates().candidates(text):
        found = pattern.fullmatch(text)
        if found is None:
            continue
        values = found.groupdict()
        n = values.pop("n", None)
        if plural is not None:
            try:
                count = int(n.replace(",", "")) if n is not None else None
            except ValueError:
                continue
            if count is None:
                continue
            return _catalogue.ngettext(template, plural, count).format(**_own(values, depth), n=number(count))
        own = _own(values, depth)
        if n is not None:
            own["n"] = n
        return _catalogue.gettext(template).format(**own)
    return text


def _own(values: dict[str, str], depth: int) -> dict[str, str]:
    return {name: (_said_stored(value, depth + 1) if name in OWN_WORDS and depth < 4 else value)
            for name, value in values.items()}


class _Templates:
    """The catalogue's English templates with {placeholders}, as patterns that read a filled one back;
    looked up by the filled text's first word (templates that start with a placeholder: its last)."""

    def __init__(self, originals: list[tuple[str, str | None]]):
        self.by_first: dict[str, list] = {}
        self.by_last: dict[str, list] = {}
        self.other: list = []
        for singular, plural in originals:
            for english in (singular,) if plural is None else (singular, plural):
                if "{" not in english:
                    continue
                entry = (_pattern(english), singular, plural, -len(_LITERAL_PLACEHOLDER.sub("", english)))
                first, last = _edge_word(english, 0), _edge_word(english, -1)
                if first:
                    self.by_first.setdefault(first, []).append(entry)
                elif last:
                    self.by_last.setdefault(last, []).append(entry)
                else:
                    self.other.append(entry)

    def candidates(self, text: str):
        words = text.split()
        if not words:
            return []
        # Every template the text could have been filled from, the most literal text first (whether it is
        # known by its first word or its last): "Mailbox {name}" must not win over a longer template.
        return sorted((*self.by_first.get(words[0], ()), *self.by_last.get(words[-1], ()), *self.other),
                      key=_literal_length)


def _literal_length(entry) -> int:
    return entry[3]


_LITERAL_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


def _edge_word(template: str, end: int) -> str:
    """The template's first (end=0) or last (end=-1) word when it is literal text, else ""."""
    words = template.split()
    if not words or "{" in words[end] or "}" in words[end]:
        return ""
    return words[end]


def _pattern(template: str):
    parts, seen, at = [], set(), 0
    for found in _LITERAL_PLACEHOLDER.finditer(template):
        parts.append(re.escape(template[at:found.start()]))
        name = found.group(1)
        parts.append(f"(?P={name})" if name in seen else f"(?P<{name}>.+?)")
        seen.add(name)
        at = found.end()
    parts.append(re.escape(template[at:]))
    return re.compile("".join(parts), re.DOTALL)


_template_index: dict[str, _Templates] = {}


def _templates() -> _Templates:
    index = _template_index.get(_language)
    if index is None:
        index = _template_index[_language] = _Templates(_originals(_language))
    return index


def _originals(language: str) -> list[tuple[str, str | None]]:
    """The English messages (singular, plural or None) of a language's compiled catalogue, read from its
    .mo file (gettext keeps only the translations)."""
    path = LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.mo"
    try:
        data = path.read_bytes()
    except OSError:
        return []
    order = "<" if data[:4] == b"\xde\x12\x04\x95" else ">"
    count, originals_at = struct.unpack(order + "4x4xII", data[:16])[0:2]
    out = []
    for k in range(count):
        length, offset = struct.unpack(order + "II", data[originals_at + 8 * k: originals_at + 8 * k + 8])
        raw = data[offset:offset + length].decode("utf-8")
        if not raw or "\x04" in raw:  # the header, and words with a context (labels, not sentences)
            continue
        singular, _, plural = raw.partition("\x00")
        out.append((singular, plural or None))
    return out
