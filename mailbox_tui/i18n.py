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

import gettext
import os
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
