"""Credentials at rest: Fernet keys (MultiFernet, so keys can rotate) and the key-check value."""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

KEY_ENV = "MAILBOX_TUI_KEY"
KEY_CHECK_PLAINTEXT = b"mailbox-tui key check v1"


class KeyError_(Exception):
    """The key cannot be loaded; the message says what to do."""


class SecretUnreadable(Exception):
    """A stored secret cannot be decrypted with the current key."""

    def __init__(self) -> None:
        super().__init__("stored password can't be read with the current key: re-enter it")


@dataclass
class KeyRing:
    """The keys in use: the first encrypts, all decrypt."""

    keys: list[bytes]
    source: str  # "environment" or the key file path

    def __post_init__(self) -> None:
        self._fernet = MultiFernet([Fernet(k) for k in self.keys])

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode("utf-8")
        except (InvalidToken, ValueError) as exc:
            raise SecretUnreadable() from exc

    def rotate(self, token: str) -> str:
        try:
            return self._fernet.rotate(token.encode("ascii")).decode("ascii")
        except (InvalidToken, ValueError) as exc:
            raise SecretUnreadable() from exc

    def key_check(self) -> str:
        return self._fernet.encrypt(KEY_CHECK_PLAINTEXT).decode("ascii")

    def matches(self, key_check: str) -> bool:
        try:
            return self._fernet.decrypt(key_check.encode("ascii")) == KEY_CHECK_PLAINTEXT
        except (InvalidToken, ValueError):
            return False


def default_key_path() -> Path:
    from platformdirs import user_config_dir

    return Path(user_config_dir("mailbox-tui")) / "secret.key"


def _parse_keys(text: str, source: str) -> list[bytes]:
    keys = [k.strip().encode("ascii") for k in text.replace(",", "\n").splitlines() if k.strip()]
    if not keys:
        raise KeyError_(f"No key found in {source}.")
    for k in keys:
        try:
            Fernet(k)
        except (ValueError, TypeError):
            raise KeyError_(f"The key in {source} is not a valid Fernet key (32 url-safe base64 bytes).") from None
    return keys


def read_key_file(path: Path) -> list[bytes]:
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyError_(
            f"Key file {path} is readable by other users (mode {stat.S_IMODE(mode):o}); "
            f"refusing to use it. Fix it with: chmod 600 {path}"
        )
    return _parse_keys(path.read_text(encoding="ascii"), str(path))


def write_key_file(path: Path, keys: list[bytes], exclusive: bool = True) -> None:
    """Write keys with mode 0600, never briefly readable by others."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    flags = os.O_WRONLY | os.O_CREAT | (os.O_EXCL if exclusive else os.O_TRUNC)
    fd = os.open(path, flags, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write("\n".join(k.decode("ascii") for k in keys) + "\n")
        fh.flush()
        os.fsync(fh.fileno())


def load_keyring(key_path: Path | None = None, create: bool = True) -> KeyRing:
    """Key from MAILBOX_TUI_KEY, else the key file (created 0600 on first run).

    A `<key file>.new` left by an interrupted rotation is tried too, so no secret is lost.
    """
    env = os.environ.get(KEY_ENV, "").strip()
    if env:
        return KeyRing(_parse_keys(env, f"${KEY_ENV}"), "environment")
    path = key_path or default_key_path()
    pending = path.with_name(path.name + ".new")
    keys: list[bytes] = []
    if pending.exists():
        keys += read_key_file(pending)
    if path.exists():
        keys += read_key_file(path)
    elif not keys:
        if not create:
            raise KeyError_(f"No key file at {path} and ${KEY_ENV} is not set.")
        try:
            write_key_file(path, [Fernet.generate_key()])
        except FileExistsError:
            pass  # another process created it first
        keys = read_key_file(path)
    return KeyRing(keys, str(path))
