"""The import's bulk Fernet tokens are Fernet's own: cryptography's Fernet reads every one."""

from __future__ import annotations

import base64
import time

import pytest
from cryptography.fernet import Fernet
from hypothesis import given, settings
from hypothesis import strategies as st

from mailbox_tui.store.crypto import KeyFileError, KeyRing
from mailbox_tui.store.fernet_tokens import FernetWriter

KEY = Fernet.generate_key()


@given(st.binary(max_size=200))
@settings(max_examples=300, deadline=None)
def test_every_token_is_read_by_fernet_as_the_text_it_was_made_of(data):
    assert Fernet(KEY).decrypt(FernetWriter(KEY).encrypt(data)) == data


def test_a_token_has_fernets_layout_a_fresh_iv_and_the_time_it_was_made():
    writer = FernetWriter(KEY)
    first, second = (base64.urlsafe_b64decode(writer.encrypt(b"pw-000001")) for _ in range(2))
    assert first[0] == 0x80 and len(first) == 1 + 8 + 16 + 16 + 32
    assert abs(int.from_bytes(first[1:9], "big") - time.time()) <= 2
    assert first[9:25] != second[9:25] and first[25:] != second[25:]  # the same text, another IV
    assert Fernet(KEY).extract_timestamp(writer.encrypt(b"x")) == pytest.approx(time.time(), abs=2)


def test_a_tampered_token_is_refused_by_fernet():
    token = bytearray(base64.urlsafe_b64decode(FernetWriter(KEY).encrypt(b"secret")))
    token[30] ^= 1
    with pytest.raises(Exception):
        Fernet(KEY).decrypt(base64.urlsafe_b64encode(bytes(token)))


def test_the_keyrings_encrypter_checks_as_encrypt_does_and_follows_a_new_key():
    checks = []
    ring = KeyRing([KEY], "test", before_encrypt=lambda: checks.append(1))
    encrypt = ring.encrypter()
    assert ring.decrypt(encrypt("Correct-Horse-é")) == "Correct-Horse-é" and checks == [1]
    new = Fernet.generate_key()
    ring.replace_keys([new, KEY])
    assert Fernet(new).decrypt(encrypt("after").encode()) == b"after"
    with pytest.raises(KeyFileError):
        KeyRing([], "nowhere").encrypter()("pw")


def test_ivs_stay_distinct_across_the_writers_refills_of_random_bytes():
    writer = FernetWriter(KEY)
    ivs = {base64.urlsafe_b64decode(writer.encrypt(b"pw"))[9:25] for _ in range(600)}  # more than 2 refills
    assert len(ivs) == 600
