"""Credentials at rest: Fernet keys (MultiFernet, so keys can rotate), key files and the key-check value."""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from ..i18n import N_, say

log = logging.getLogger(__name__)

KEY_ENV = "MAILBOX_TUI_KEY"
KEY_CHECK_PLAINTEXT = b"mailbox-tui key check v1"
MAX_KEY_FILE_BYTES = 64 * 1024  # a key is 44 bytes; anything this big is some other file
TEAM_HINT = N_("A team shares one key: copy the key file of an admin whose key reads this database "
               "(chmod 640, readable by the team's group and never by others), or set MAILBOX_TUI_KEY to that key.")


class KeyFileError(Exception):
    """The encryption key cannot be read, found or created (a key file, or $MAILBOX_TUI_KEY); the message says
    what to do."""


class SecretUnreadable(Exception):
    """A stored secret cannot be decrypted with the current key."""

    def __init__(self) -> None:
        super().__init__("stored password can't be read with the current key: re-enter it")


@dataclass(eq=False)
class KeyRing:
    """The keys in use: the first encrypts, all decrypt.

    `before_encrypt` is called before every encryption: the Store uses it to refuse writing a secret
    under a key that does not read the database (every write path encrypts here, nowhere else)."""

    keys: list[bytes]
    source: str  # "environment" or the key file path
    before_encrypt: Callable[[], None] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self._build()

    def _build(self) -> None:
        self._fernet = MultiFernet([Fernet(k) for k in self.keys]) if self.keys else None
        self._primary = Fernet(self.keys[0]) if self.keys else None

    def replace_keys(self, keys: list[bytes], source: str | None = None) -> None:
        """Change the keys in place, so every holder of this ring encrypts under the new key."""
        self.keys = list(keys)
        if source is not None:
            self.source = source
        self._build()

    def encrypt(self, plaintext: str) -> str:
        if self.before_encrypt is not None:
            self.before_encrypt()
        if self._primary is None:
            raise KeyFileError(say("There is no encryption key ({source}): a password can't be stored.",
                                   source=self.source))
        return self._primary.encrypt(plaintext.encode("utf-8")).decode("ascii")

    def encrypter(self) -> Callable[[str], str]:
        """encrypt() for bulk work (an import's passwords): the same checks and the same tokens, made by
        cryptography's own Fernet. (A hand-made token writer was 3x faster; the speed is not worth
        keeping encryption code of our own: see README, "Import memory and speed".)"""
        return self.encrypt

    def decrypt(self, token: str) -> str:
        if self._fernet is None:
            raise SecretUnreadable()
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode("utf-8")
        except (InvalidToken, ValueError) as exc:
            raise SecretUnreadable() from exc

    def rotate(self, token: str) -> str:
        if self._fernet is None:
            raise SecretUnreadable()
        try:
            return self._fernet.rotate(token.encode("ascii")).decode("ascii")
        except (InvalidToken, ValueError) as exc:
            raise SecretUnreadable() from exc

    def key_check(self) -> str:
        if self._primary is None:
            raise KeyFileError(say("There is no encryption key ({source}).", source=self.source))
        return self._primary.encrypt(KEY_CHECK_PLAINTEXT).decode("ascii")

    def matches(self, key_check: str) -> bool:
        """Whether the key that encrypts is the one the database's key-check value was made with."""
        return self._primary is not None and key_reads(self.keys[0], key_check)

    def matching_first(self, key_check: str) -> bool:
        """Put the key that reads the key-check value first (it then encrypts). False if none does."""
        for i, key in enumerate(self.keys):
            if key_reads(key, key_check):
                if i:
                    self.replace_keys([key] + self.keys[:i] + self.keys[i + 1:])
                return True
        return False


def key_reads(key: bytes, key_check: str) -> bool:
    try:
        return Fernet(key).decrypt(key_check.encode("ascii")) == KEY_CHECK_PLAINTEXT
    except (InvalidToken, ValueError, UnicodeEncodeError):
        return False


def default_key_path() -> Path:
    from platformdirs import user_config_dir

    return Path(user_config_dir("mailbox-tui")) / "secret.key"


def pending_key_path(path: Path) -> Path:
    """Where `rotate-key` writes the new key until the database is re-encrypted under it."""
    return path.with_name(path.name + ".new")


def retired_key_path(path: Path) -> Path:
    return path.with_name(path.name + ".old")


def _parse_keys(text: str, source: str) -> list[bytes]:
    keys = []
    for k in text.replace(",", "\n").splitlines():
        if not k.strip():
            continue
        try:
            key = k.strip().encode("ascii")
            Fernet(key)
        except (ValueError, TypeError, UnicodeEncodeError):
            raise KeyFileError(say("The key in {source} is not a valid Fernet key (44 characters of url-safe "
                                   "base64, as mailbox-tui writes it).", source=source)) from None
        keys.append(key)
    if not keys:
        raise KeyFileError(say("No key found in {source}.", source=source))
    return keys


def read_key_file(path: Path) -> list[bytes]:
    """The keys in a key file. Readable by its owner, or by its group for a team (0640); never by others."""
    try:
        st = path.stat()
    except FileNotFoundError:
        raise KeyFileError(say("There is no key file at {path}.", path=str(path))) from None
    except OSError as exc:
        raise KeyFileError(say("Can't read the key file {path}: {error}.", path=str(path),
                               error=exc.strerror)) from None
    if stat.S_ISDIR(st.st_mode):
        raise KeyFileError(say("{path} is a folder, not a key file: give the path of the key file itself "
                               "(for example {example}).", path=str(path), example=str(path / "secret.key")))
    if not stat.S_ISREG(st.st_mode):
        raise KeyFileError(say("{path} is not a regular file, so it is not a key file.", path=str(path)))
    mode = stat.S_IMODE(st.st_mode)
    if mode & stat.S_IRWXO:
        raise KeyFileError(say("Key file {path} is readable by other users (mode {mode}); refusing to use it. "
                               "Fix it with: chmod 600 {path} (or chmod 640 to share it with your team's group).",
                               path=str(path), mode=format(mode, "o")))
    if mode & (stat.S_IWGRP | stat.S_IXGRP):
        raise KeyFileError(say("Key file {path} can be changed by its group (mode {mode}); refusing to use it. "
                               "Fix it with: chmod 640 {path}", path=str(path), mode=format(mode, "o")))
    if st.st_size > MAX_KEY_FILE_BYTES:
        raise KeyFileError(say("{path} is not a mailbox-tui key file: it holds {size} bytes, a key is 44.",
                               path=str(path), size=st.st_size))
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise KeyFileError(say("Can't read the key file {path}: {error}.", path=str(path),
                               error=exc.strerror)) from None
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError:
        raise KeyFileError(say("{path} is not a mailbox-tui key file: it holds non-ASCII bytes, and a key is "
                               "44 characters of url-safe base64.", path=str(path))) from None
    return _parse_keys(text, str(path))


def fsync_folder(folder: Path) -> None:
    """Make a rename or a new file in `folder` survive a crash."""
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_key_file(path: Path, keys: list[bytes], make_folder: bool = False, like: Path | None = None) -> None:
    """Write a new key file with mode 0600 (never briefly readable by others, never through a link).

    Only the default key file's folder is created; a folder the admin named must exist. `like`: a
    key file whose group and group-read bit carry over (a rotated team key stays the team's)."""
    if make_folder:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    elif not path.parent.is_dir():
        raise KeyFileError(say("There is no folder {folder} for the key file {name}: create it "
                               "(mkdir -m 700 {folder}) or give another --key-file.", folder=str(path.parent),
                               name=path.name))
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        if like is not None and like.exists():
            old = like.stat()
            if old.st_mode & stat.S_IRGRP:
                os.fchown(fd, -1, old.st_gid)
                os.fchmod(fd, 0o640)
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write("\n".join(k.decode("ascii") for k in keys) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    fsync_folder(path.parent)


@dataclass
class KeyChoice:
    """The keys a Store uses, whether they read the database, and what was done to find them."""

    keyring: KeyRing
    ok: bool
    problem: str = ""  # why the key does not read the database ("" when it does)
    notes: list[str] = field(default_factory=list)  # what happened, for the admin (said once)


def choose_keys(key_path: Path | None, key_check: str | None) -> KeyChoice:
    """The key that reads this database (`key_check` is its key-check value, None for a new database).

    From $MAILBOX_TUI_KEY, else the key file, else what an interrupted `rotate-key` left beside it:
    `<key>.new` holds the new key from the moment the database may be re-encrypted under it until
    it is renamed over the key file. A `.new` that reads the database finishes that rename here."""
    env = os.environ.get(KEY_ENV, "").strip()
    if env:
        ring = KeyRing(_parse_keys(env, f"${KEY_ENV}"), "environment")
        if key_check is None or ring.matching_first(key_check):
            return KeyChoice(ring, True)
        source = "$" + KEY_ENV
        return KeyChoice(ring, False, say("The key in {source} does not match this database. {advice}",
                                          source=source, advice=TEAM_HINT))
    explicit = key_path is not None
    path = Path(key_path) if explicit else default_key_path()
    if path.is_symlink():  # a team's shared key file, linked: rotations and leftovers live beside the real file
        path = Path(os.path.realpath(path))
    if key_check is None:
        return KeyChoice(_key_for_new_database(path, make_folder=not explicit), True)
    if explicit and not _present(path):
        where = (say("There is no folder {folder} for the key file {name}", folder=str(path.parent), name=path.name)
                 if not path.parent.is_dir() else say("There is no key file at {path}", path=str(path)))
        raise KeyFileError(say("{what}: give --key-file the key file that reads this database (nothing was "
                               "created). {advice}", what=where, advice=TEAM_HINT))
    found: list[tuple[Path, list[bytes]]] = []
    notes: list[str] = []
    if _present(path):
        found.append((path, read_key_file(path)))
    for leftover in (pending_key_path(path), retired_key_path(path)):
        if _present(leftover):
            try:
                found.append((leftover, read_key_file(leftover)))
            except KeyFileError as exc:
                if leftover.is_file() and leftover.stat().st_size == 0:
                    continue  # a rotation killed between creating its key file and writing it
                notes.append(say("Skipped {path}: {reason}", path=str(leftover), reason=exc.args[0]))
    for where, keys in found:
        ring = KeyRing(keys, str(path))
        if not ring.matching_first(key_check):
            continue
        if where == path:
            return KeyChoice(ring, True, notes=notes)
        if where == pending_key_path(path):
            notes.append(_finish_rotation(where, path))
        else:
            notes.append(say("The key in {path} does not read this database, but {where} does: using it. "
                             "Keep {where}, or make it the key file again: {command}",
                             path=str(path), where=str(where), command=" ".join(("mv", str(where), str(path)))))
        return KeyChoice(ring, True, notes=notes)
    if not found or found[0][0] != path:
        ring = KeyRing([], str(path))
        problem = say("There is no key file at {path}, and this database's passwords were encrypted with a key "
                      "kept elsewhere: nothing was created. {advice}", path=str(path), advice=TEAM_HINT)
    else:
        ring = KeyRing(found[0][1], str(path))
        problem = say("The encryption key ({path}) does not match this database: its passwords were encrypted "
                      "with another key. {advice}", path=str(path), advice=TEAM_HINT)
    return KeyChoice(ring, False, problem, notes)


def _present(path: Path) -> bool:
    return path.exists() or path.is_symlink()


def _key_for_new_database(path: Path, make_folder: bool) -> KeyRing:
    if not _present(path):
        try:
            write_key_file(path, [Fernet.generate_key()], make_folder=make_folder)
            log.info("created a new key file %s", path)
        except FileExistsError:
            pass  # another process created it first
        except KeyFileError:
            raise
        except OSError as exc:
            raise KeyFileError(say("Can't create the key file {path}: {error}.", path=str(path),
                                   error=exc.strerror)) from None
    return KeyRing(read_key_file(path), str(path))


def _finish_rotation(pending: Path, path: Path) -> str:
    """The database reads under the key in `<key>.new` (a rotation committed, then stopped before its
    rename): the key file's old key is no longer needed, so the rename is done now."""
    try:
        os.replace(pending, path)
        fsync_folder(path.parent)
    except FileNotFoundError:
        return say("Another mailbox-tui just finished a key rotation; the key is in {path}.", path=str(path))
    except OSError as exc:
        return say("A key rotation was interrupted after re-encrypting the database: its key is in {pending}, "
                   "which is used now, but it could not be moved over {path} ({error}). "
                   "Move it yourself: {command}", pending=str(pending), path=str(path), error=exc.strerror,
                   command=" ".join(("mv", str(pending), str(path))))
    log.info("finished an interrupted key rotation: %s renamed to %s", pending, path)
    return say("Finished an interrupted key rotation: the database was already re-encrypted under the key in "
               "{pending}, which is now the key file {path}.", pending=str(pending), path=str(path))
