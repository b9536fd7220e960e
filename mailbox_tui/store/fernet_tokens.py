"""Fernet tokens made in bulk: the same tokens as cryptography's Fernet.encrypt (its decrypt reads
them; tests/store/test_fernet_tokens.py holds them to it), for an import that encrypts 100,000
passwords. Fernet.encrypt builds a new cipher and a new HMAC for every token, about 40 µs; here the
AES key schedule and the HMAC's padded keys are made once, and random IVs fetched from the
operating system 256 at a time: about 10 µs a token.

A token (https://github.com/fernet/spec): 0x80, the time (8 bytes), a random IV (16), the text
padded by PKCS #7 and encrypted with AES-128-CBC under the key's second half, then an HMAC-SHA256
of all that under its first half; base64url. CBC is done a block at a time over AES in ECB mode
(one block each: C = AES(P xor previous C), the IV first), which is what CBC is.

One object per thread: its cipher context is not shared."""

from __future__ import annotations

import base64
import hashlib
import os
import time

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes


class FernetWriter:
    def __init__(self, key: bytes):
        raw = base64.urlsafe_b64decode(key)
        if len(raw) != 32:
            raise ValueError("A Fernet key is 32 url-safe base64-encoded bytes.")
        signing, encryption = raw[:16], raw[16:]
        self._aes = Cipher(algorithms.AES(encryption), modes.ECB()).encryptor()
        padded = signing.ljust(64, b"\0")
        self._inner = hashlib.sha256(bytes(b ^ 0x36 for b in padded))
        self._outer = hashlib.sha256(bytes(b ^ 0x5C for b in padded))
        self._ivs, self._next_iv = b"", 0  # random IVs, fetched from the OS 256 at a time (a system call each)

    def encrypt(self, data: bytes) -> bytes:
        if self._next_iv == len(self._ivs):
            self._ivs, self._next_iv = os.urandom(16 * 256), 0
        iv = self._ivs[self._next_iv:self._next_iv + 16]
        self._next_iv += 16
        pad = 16 - len(data) % 16
        data += bytes((pad,)) * pad
        previous = int.from_bytes(iv, "big")
        blocks = []
        for start in range(0, len(data), 16):
            block = self._aes.update((int.from_bytes(data[start:start + 16], "big") ^ previous).to_bytes(16, "big"))
            blocks.append(block)
            previous = int.from_bytes(block, "big")
        basic = b"\x80" + int(time.time()).to_bytes(8, "big") + iv + b"".join(blocks)
        inner = self._inner.copy()
        inner.update(basic)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return base64.urlsafe_b64encode(basic + outer.digest())
