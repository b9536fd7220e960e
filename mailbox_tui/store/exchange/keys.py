"""Natural keys held compactly: what an import keeps of each user it plans, so that a million
users cost tens of megabytes rather than a dictionary of a million strings (about 150 bytes a key).

A key is kept as two fingerprints in arrays (open addressing, at most half full): Python's own
64-bit hash of the key (SipHash, keyed afresh in every process, so no file can aim at it) and 31
bits of the hash of the key with a suffix. Two different keys pass for one only if both agree:
about n²/2**96 for n keys, about 10**-17 at a million. The key itself stays in the plan's
temporary file."""

from __future__ import annotations

from array import array

_SUFFIX = "\x1f"


def _second(key: str) -> int:
    return hash(key + _SUFFIX) & 0x7FFFFFFF


class KeyIndex:
    """key (a non-empty string) -> a number (0 <= n < 2**31)."""

    def __init__(self, capacity: int = 1 << 12):
        self._empty(capacity)
        self._len = 0

    def _empty(self, capacity: int) -> None:
        self._mask = capacity - 1
        self._first = array("q", bytes(8 * capacity))  # 0: a free slot
        self._check = array("i", bytes(4 * capacity))
        self._value = array("i", bytes(4 * capacity))

    def __len__(self) -> int:
        return self._len

    def get(self, key: str, default=None):
        h = hash(key) or 1
        first, mask = self._first, self._mask
        i = h & mask
        while True:
            f = first[i]
            if f == h:
                if self._check[i] == _second(key):
                    return self._value[i]
            elif f == 0:
                return default
            i = (i + 1) & mask

    def __contains__(self, key: str) -> bool:
        return self.get(key) is not None

    def __getitem__(self, key: str) -> int:
        value = self.get(key)
        if value is None:
            raise KeyError(key)
        return value

    def __setitem__(self, key: str, value: int) -> None:
        if 2 * (self._len + 1) > len(self._first):
            self._grow()
        h, check = hash(key) or 1, _second(key)
        first, mask = self._first, self._mask
        i = h & mask
        while True:
            f = first[i]
            if f == 0:
                first[i], self._check[i], self._value[i] = h, check, value
                self._len += 1
                return
            if f == h and self._check[i] == check:
                self._value[i] = value
                return
            i = (i + 1) & mask

    def _grow(self) -> None:
        old = self._first, self._check, self._value
        self._empty(2 * len(self._first))
        first, check, value, mask = self._first, self._check, self._value, self._mask
        for f, c, v in zip(*old):
            if f:
                i = f & mask
                while first[i]:
                    i = (i + 1) & mask
                first[i], check[i], value[i] = f, c, v
