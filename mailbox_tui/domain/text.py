"""Small text checks shared by the rules: email syntax, host names, control characters."""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from functools import lru_cache
from urllib.parse import urlsplit

from ..i18n import N_, say


_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")  # exactly Unicode category Cc


def has_control_chars(text: str) -> bool:
    return _CONTROL.search(text) is not None


# Characters that make two different names look the same, or reorder what is shown: every
# Unicode "format" character (Cf: bidirectional overrides, embeddings and isolates, LRM/RLM,
# zero-width space/joiners, word joiner, BOM, soft hyphen, tags) and the Unicode line and
# paragraph separators (Zl, Zp).
_INVISIBLE_CATEGORIES = frozenset({"Cf", "Zl", "Zp"})


def has_invisible_chars(text: str) -> bool:
    """Whether `text` holds a bidirectional-override, zero-width or other invisible formatting character."""
    if text.isascii():
        return False
    return any(unicodedata.category(ch) in _INVISIBLE_CATEGORIES for ch in text)




def natural_key(text: str) -> str:
    """The comparison key of a natural key (an email, a queue or profile name): Unicode NFC,
    then str.lower(). Not casefold(): straße@example.com and strasse@example.com are two users."""
    if text.isascii():  # ASCII is its own NFC: the common case, at import scale
        return text.strip().lower()
    return unicodedata.normalize("NFC", text.strip()).lower()


_PIN_SEPARATORS = re.compile("[: ]")
_PIN = re.compile("[0-9a-f]{64}")


def normalise_pin(text: str) -> str:
    """A certificate fingerprint as stored: colons and spaces removed, lower case (P13)."""
    return _PIN_SEPARATORS.sub("", text.strip()).lower()


def is_sha256_pin(text: str) -> bool:
    """Exactly 64 hex digits once colons and spaces are removed (P13)."""
    return len(text) <= 256 and _PIN.fullmatch(normalise_pin(text)) is not None


# An unquoted ASCII dot-atom local part (RFC 5322): nothing in it that the validator would change.
_PLAIN_LOCAL = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$")


@lru_cache(maxsize=131_072)
def normalise_email(text: str) -> tuple[str | None, str | None]:
    """(normalised address, None) or (None, reason). Syntax only: no DNS lookup.

    Cached: one address is judged several times per save or import row (user, mailbox,
    uniqueness). A bulk import clears the cache when done."""
    text = text.strip()
    local, at, domain = text.rpartition("@")
    if at and len(local) <= 64 and len(text) <= 254 and _PLAIN_LOCAL.match(local):
        # The costly part is the domain (IDNA, special-use names); many addresses share one.
        normalised_domain, problem = _validate(f"a@{domain}")
        if problem is None:
            return f"{local}@{normalised_domain.partition('@')[2]}", None
    return _validate(text)


@lru_cache(maxsize=4096)
def _validate(text: str) -> tuple[str | None, str | None]:
    # Imported when first needed: it compiles its grammar at import (15 ms of every start).
    from email_validator import EmailNotValidError, validate_email

    try:
        result = validate_email(text, check_deliverability=False)
    except EmailNotValidError as exc:
        return None, str(exc)
    return result.normalized, None


# What the email validator (email_validator) says, in the words it says it: the problem is kept as it
# came (English in --json and reports) and shown in the admin's language by i18n.said(), which reads it
# back through these. {answer} is the part of the address the validator quotes, shown as it is.
EMAIL_VALIDATOR_WORDS = (
    N_("An email address must have an @-sign."),
    N_("There must be something before the @-sign."),
    N_("There must be something after the @-sign."),
    N_("An email address cannot have two periods in a row."),
    N_("An email address cannot start with a period."),
    N_("An email address cannot end with a period."),
    N_("An email address cannot have a period immediately before the @-sign."),
    N_("An email address cannot have a period immediately after the @-sign."),
    N_("An email address cannot start with a hyphen."),
    N_("An email address cannot end with a hyphen."),
    N_("An email address cannot have a hyphen immediately before the @-sign."),
    N_("An email address cannot have a hyphen immediately after the @-sign."),
    N_("An email address cannot have a period and a hyphen next to each other."),
    N_("The part after the @-sign is not valid. It should have a period."),
    N_("The part after the @-sign is not valid. It is not within a valid top-level domain."),
    N_("The part after the @-sign is a special-use or reserved name that cannot be used with email."),
    N_("The email address contains invalid characters before the @-sign: {answer}."),
    N_("The email address contains invalid characters before the @-sign."),
    N_("The part after the @-sign contains invalid characters: {answer}."),
    N_("The email address contains an invalid character."),
    N_("The email address contains unsafe characters: {answer}."),
    N_("Internationalized characters before the @-sign are not supported: {answer}."),
    N_("A bracketed IP address after the @-sign is not allowed here."),
    N_("Quoting the part before the @-sign is not allowed here."),
    N_("A display name and angle brackets around the email address are not permitted here."),
    N_("An email address cannot have two letters followed by two dashes immediately after the @-sign or after a "
       "period, except Punycode."),
    N_("The email address has the \"full-width\" at-sign (@) character instead of a regular at-sign."),
    N_("The email address has the \"small commercial at\" character instead of a regular at-sign."),
    N_("The display name contains invalid characters when not quoted: {answer}."),
    N_("An open angle bracket at the start of the email address has to be followed by a close angle bracket at "
       "the end."),
    N_("There can't be anything after the email address."),
    N_("Internationalized characters before the @-sign are not supported."),
    N_("The email address contains invalid characters in quotes before the @-sign: {answer}."),
    N_("The part after the @-sign contains invalid characters after Unicode normalization: {answer}."),
    N_("The email address contains invalid characters after the @-sign after IDNA encoding."),
    N_("The IPv6 address in brackets after the @-sign is not valid (It has a zone index)."),
    N_("The part after the @-sign in brackets is not an IPv4 address and has no address literal tag."),
    N_("The part after the @-sign contains invalid characters in brackets: {answer}."),
    N_("The part after the @-sign contains an invalid address literal tag in brackets."),
    N_("The email address is not valid ASCII."),
    N_("After Unicode normalization: {reason}"),
    N_("After the @-sign, periods cannot be separated by so many characters {answer}."),
    N_("The IPv6 address in brackets after the @-sign is not valid ({answer})."),
    N_("The address in brackets after the @-sign is not valid: It is not an IPv4 address ({answer}) or is missing "
       "an address literal tag."),
    N_("The email address is too long after the @-sign {answer}."),
    N_("The email address is too long before the @-sign {answer}."),
    N_("The email address is too long {answer}."),
    N_("The part after the @-sign became invalid after normalizing to international characters ({answer})."),
    N_("The part after the @-sign contains invalid characters ({answer})."),
    N_("The part after the @-sign is invalid ({answer})."),
    N_("The part after the @-sign is not valid IDNA ({answer})."),
)


# The comparison key of an address is its natural key (NFC, then str.lower()).
email_key = natural_key


_HOST_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")


def host_problem(text: str) -> str | None:
    """Why `text` is not a bare host name or IP address, or None if it is one."""
    value = text.strip()
    if "://" in value:
        return say("Enter a host name or IP address without a scheme (no imap://, https://).")
    if "/" in value:
        return say("Enter a host name or IP address without a path.")
    if ":" in value and not _is_ip(value):
        return say("Enter the port in the port field, not after the host name.")
    if _is_ip(value):
        return None
    if len(value) > 253:
        return say("A host name is at most 253 characters.")
    labels = value.rstrip(".").split(".")
    if not all(_HOST_LABEL.match(label) for label in labels):
        return say("{name} is not a valid host name.", name=repr(value))
    return None


def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value.strip("[]"))
    except ValueError:
        return False
    return True


def https_url_problem(text: str) -> str | None:
    """Why `text` is not an https URL with a host, or None."""
    parts = urlsplit(text.strip())
    if parts.scheme.lower() != "https":
        return say("An Exchange server location is an https:// URL.")
    if not parts.hostname:
        return say("The URL has no host name.")
    problem = host_problem(parts.hostname)
    return problem
