"""Property-based tests for what the probes parse and mask: pins, unsendable credentials, the
redactor, and the `test` command's numbers."""

from __future__ import annotations

import argparse
import base64
import json
import math
import re
from urllib.parse import quote, quote_plus

from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from mailbox_tui.cli import MAX_CONCURRENCY, _concurrency, _deadline
from mailbox_tui.domain.text import is_sha256_pin, normalise_pin
from mailbox_tui.mailtest.probes import Credentials
from mailbox_tui.mailtest.probes.explain import short_answer, unsendable_reason
from mailbox_tui.mailtest.redact import MASK, MIN_SECRET, Redactor

HEX = "0123456789abcdef"
# Secrets as an admin might type them (any character but the mask's), and text around them.
secrets = st.text(st.characters(blacklist_characters="*", blacklist_categories=("Cs",)), min_size=1, max_size=40)
around = st.text(st.characters(blacklist_categories=("Cs",)), max_size=60)


@given(st.binary(min_size=32, max_size=32), st.lists(st.sampled_from(["", ":", " ", "  ", ": "]), min_size=32,
                                                      max_size=32), st.booleans())
def test_p13_any_sha256_written_with_colons_spaces_or_capitals_is_a_pin(digest, separators, upper):
    hex_digest = digest.hex()
    written = "".join(sep + hex_digest[2 * i:2 * i + 2] for i, sep in enumerate(separators))
    pin = normalise_pin(written.upper() if upper else written)
    assert is_sha256_pin(pin) and pin == hex_digest


@given(st.text(max_size=80))
def test_p13_a_pin_is_accepted_only_when_it_is_64_hex_digits(text):
    stripped = text.strip().replace(":", "").replace(" ", "").lower()
    expected = len(text) <= 256 and len(stripped) == 64 and all(ch in HEX for ch in stripped)
    assert is_sha256_pin(text) == expected


# Text that often holds control characters (C0, DEL, C1) among ordinary ones.
credential_text = st.text(st.one_of(st.characters(blacklist_categories=("Cs",)),
                                    st.sampled_from("\r\n\0\x01\t\x1b\x7f\x85\x9b")), max_size=30)


def _is_control(ch: str) -> bool:
    return ord(ch) < 0x20 or 0x7f <= ord(ch) <= 0x9f


@given(credential_text, credential_text)
def test_m20_credentials_are_unsendable_exactly_when_they_hold_a_control_character(username, password):
    why = unsendable_reason(Credentials(username, password))
    bad = any(_is_control(ch) for value in (username, password) for ch in value)
    assert bool(why) == bad
    if bad:  # names the field, never shows the value
        assert why.startswith(("The user name contains", "The password contains")) and "Nothing was sent" in why
        assert why == unsendable_reason(Credentials(_blank(username), _blank(password)))
        assert not any(_is_control(ch) for ch in why)


def _blank(value: str) -> str:
    return "".join(ch if _is_control(ch) else "x" for ch in value)


def every_form(secret: str) -> set[str]:
    """The secret as a protocol, a URL, a form body or a program shows it (issue 21 added: percent-encoded,
    its hex in either case; URL-safe base64; JSON with an escaped solidus; each escaped once more)."""
    raw = secret.encode()
    percent = quote_plus(secret, safe="")
    once = {secret, secret.replace("\\", "\\\\").replace('"', '\\"'), json.dumps(secret)[1:-1],
            json.dumps(secret).replace("/", "\\/")[1:-1], repr(secret)[1:-1], repr(raw)[2:-1],
            secret.encode("unicode_escape").decode(), percent, quote(secret, safe=""),
            re.sub("%[0-9A-F]{2}", lambda m: m.group(0).lower(), percent),
            base64.b64encode(raw).decode(), base64.urlsafe_b64encode(raw).decode().rstrip("=")}
    return once | {json.dumps(f)[1:-1] for f in once} | {repr(f)[1:-1] for f in once}


@settings(deadline=None)
@given(secrets.filter(lambda s: len(s) >= MIN_SECRET), around, around)
def test_every_escaped_and_encoded_form_of_a_secret_is_masked(secret, before, after):
    redact = Redactor([secret])
    for form in every_form(secret):
        masked = redact(before + form + after)
        assert form not in masked
        assert MASK in masked


# Ordinary text: words and punctuation; never a quote, =, :, PASS or a blob around the secret.
words = st.text(st.sampled_from("abcdefghijklmnopqrstuvwxyz ABC012.,!?-"), max_size=80)
short_words = st.text(st.sampled_from("abcdefghijklmnopqrstuvwxyzABC012"), min_size=1, max_size=MIN_SECRET - 1)


@given(short_words, words)
def test_a_short_secret_never_masks_ordinary_text(secret, text):
    """Issue 21: "e" must not turn every e into ***, and so show which letters the secret holds."""
    assume(not any(_decodes_to(word, secret) for word in re.findall(r"[A-Za-z0-9]{2,}", text)))
    redact = Redactor([secret])
    for ordinary in (text, f"the server said {text} to {secret} and {secret}s ({secret})."):
        assert redact(ordinary) == ordinary


def _decodes_to(word: str, secret: str) -> bool:
    """Whether `word` is a base64 blob holding `secret`: such a word is masked, rightly."""
    try:
        return secret.encode() in base64.b64decode(word + "=" * (-len(word) % 4), validate=True)
    except ValueError:
        return False


@settings(deadline=None)
@given(st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="*\"\\'"), min_size=1,
               max_size=MIN_SECRET - 1).filter(lambda s: s.strip() == s and s),
       st.sampled_from(["alice@example.com", "a"]))
@example(secret=",", user="alice@example.com")  # CI found it: "," encodes as "LA", as in "PLAIN"
@example(secret=":", user="a")  # a secret that is part of '{"password": ' itself
def test_a_short_secret_is_masked_where_it_stands_as_a_credential(secret, user):
    redact = Redactor([secret])
    for before, after in ((f'LOGIN {user} "', '"'), ("PASS ", ""), ("client_secret=", "&"),
                          ('{"password": "', '"}'), ("password: ", "")):
        masked = redact(before + secret + after)
        if secret in before:  # a secret ":" masks the ":" of '{"password": ' too: it must still be masked
            assert MASK in masked and before + secret not in masked
        else:
            assert masked.startswith(before + MASK)  # (a secret "}" may mask more)
    for blob in (f"\0{user}\0{secret}", secret, f"user={user}\x01auth=Bearer {secret}\x01\x01"):
        encoded = base64.b64encode(blob.encode()).decode()
        masked = redact(f"AUTH PLAIN {encoded}")
        # Only what follows the verb is the server's text ("LA", a "," encoded, is in "PLAIN").
        assert masked.startswith(f"AUTH PLAIN {MASK}")
        assert encoded.rstrip("=") not in masked.removeprefix("AUTH PLAIN ")


# A secret's characters and the text around it share only white space, so the text cannot
# rebuild the secret by itself once white space is collapsed.
secret_chars = st.sampled_from(list('abcXYZ019"\\\'!-_äΩ') + [" ", "  ", "\t"])
around_chars = st.sampled_from(list("#%&()+,./:;<=>?@[]^{|}~") + [" ", "\t", "\n", "you sent: "])
spaced_secrets = st.lists(secret_chars, min_size=1, max_size=30).map("".join)
spaced_around = st.lists(around_chars, max_size=30).map("".join)


@given(spaced_secrets.filter(lambda s: len(s) >= MIN_SECRET), spaced_around, spaced_around,
       st.integers(min_value=0, max_value=600))
def test_a_secret_is_masked_before_white_space_is_collapsed_and_the_text_cut(secret, before, after, padding):
    shown = short_answer(Redactor([secret])("." * padding + before + secret + after))
    collapsed = " ".join(secret.split())
    if collapsed:
        assert collapsed not in shown
        assert len(collapsed) < 6 or collapsed[:6] not in shown  # not even the start of it, at the cut


@given(spaced_secrets.filter(lambda s: len(s.strip()) >= 6 and len(s) >= MIN_SECRET), spaced_around)
def test_a_server_that_changes_white_space_does_not_unmask_a_secret(secret, after):
    collapsed = " ".join(secret.split())
    for form in (collapsed, "\t".join(secret.split()), "  ".join(secret.split()), secret.strip()):
        masked = Redactor([secret])("you sent: " + form + after)
        assert form not in masked


@given(st.text(min_size=1, max_size=40), st.text(max_size=10), st.text(max_size=10))
def test_auth_plain_and_auth_login_blobs_never_show_the_password(password, user, extra):
    redact = Redactor([password])
    blobs = [f"\0{user}\0{password}", password]  # AUTH PLAIN, AUTH LOGIN: whatever the password's length
    if len(password) >= MIN_SECRET:  # inside any other text: a long one only (a short one is no field there)
        blobs.append(f"{extra}{password}{extra}")
    for blob in blobs:
        encoded = base64.b64encode(blob.encode()).decode()
        assert encoded not in redact(f"AUTH PLAIN {encoded}")


@given(st.text(max_size=20))
def test_deadline_is_a_finite_number_of_seconds_above_zero_or_a_usage_error(text):
    try:
        value = _deadline(text)
    except argparse.ArgumentTypeError as exc:
        assert str(exc)
        return
    assert math.isfinite(value) and value > 0


@given(st.one_of(st.text(max_size=20), st.integers(min_value=-10**40, max_value=10**40).map(str)))
def test_concurrency_is_a_whole_number_in_range_or_a_usage_error(text):
    try:
        value = _concurrency(text)
    except argparse.ArgumentTypeError as exc:
        assert str(exc)
        return
    assert 1 <= value <= MAX_CONCURRENCY
