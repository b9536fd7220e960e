"""KeyRing.encrypter(), what an import encrypts its passwords with: cryptography's Fernet tokens, with
the same key checks as encrypt(), following a rotated key."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from mailbox_tui.store.crypto import KeyFileError, KeyRing

KEY = Fernet.generate_key()


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
