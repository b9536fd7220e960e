"""Files the CLI writes: through a new temporary file in the target's folder, then a rename.

The temporary file is created exclusively and never through a link (O_EXCL | O_NOFOLLOW), under a
random name, so a symlink planted beside the target cannot redirect the write; the rename replaces
a link at the target itself, never the file it points to. Until the rename the target is untouched,
and a failed write leaves nothing behind. A target that exists and is not a regular file (a link, a device, a
pipe, a folder) is refused: `--out /dev/stdout` as root once replaced the device's link with a file."""

from __future__ import annotations

import os
import secrets
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from ..i18n import N_, say
from .crypto import fsync_folder

_ATTEMPTS = 20


def _create_exclusive(target: Path) -> tuple[int, Path]:
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
    for _ in range(_ATTEMPTS):
        tmp = target.with_name(f".{target.name}.{secrets.token_hex(6)}.part")
        try:
            return os.open(tmp, flags, 0o666), tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"could not create a temporary file beside {target}")


_KINDS = ((stat.S_ISLNK, N_("a symbolic link")), (stat.S_ISDIR, N_("a folder")), (stat.S_ISFIFO, N_("a pipe (FIFO)")),
          (stat.S_ISCHR, N_("a device")), (stat.S_ISBLK, N_("a device")), (stat.S_ISSOCK, N_("a socket")))


def not_a_regular_file(target: Path) -> str:
    """What `target` is when it exists and is not a regular file ("" otherwise): an export replaces only
    regular files, never a link, a device, a pipe or a folder (root replacing /dev/stdout broke it)."""
    try:
        mode = Path(target).lstat().st_mode
    except OSError:
        return ""
    return next((what for test, what in _KINDS if test(mode)), "")


class NotARegularFile(OSError):
    """The target exists and is not a regular file: nothing was written."""


@contextmanager
def replace_atomically(target: Path, *, newline: str | None = None, encoding: str = "utf-8") -> Iterator[TextIO]:
    """A text file that becomes `target` when the block ends without an error. Errors name `target`."""
    target = Path(target)
    what = not_a_regular_file(target)
    if what:
        raise NotARegularFile(say("{path} is {kind}, not a regular file: nothing was written. Exports write only "
                                  "regular files: name a new file, or give --out - for standard output.",
                                  path=str(target), kind=what))
    try:
        fd, tmp = _create_exclusive(target)
    except OSError as exc:
        raise OSError(exc.errno, exc.strerror, str(target)) from None
    try:
        try:
            existing = target.lstat()
        except OSError:
            existing = None
        if existing is not None and stat.S_ISREG(existing.st_mode):
            os.fchmod(fd, stat.S_IMODE(existing.st_mode))  # a replaced file keeps its permissions
        with os.fdopen(fd, "w", encoding=encoding, newline=newline) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException as exc:
        try:
            tmp.unlink()
        except OSError:
            pass
        if isinstance(exc, OSError) and not isinstance(exc, BrokenPipeError):
            raise OSError(exc.errno, exc.strerror, str(target)) from None
        raise
    fsync_folder(target.parent)
