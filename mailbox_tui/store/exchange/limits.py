"""What an import reads at most, and the one error a file that cannot be read raises.

An import holds one row at a time, so these bound its memory whatever the file holds."""

from __future__ import annotations

from ...i18n import say
from ..database import StoreError

MAX_INPUT_BYTES = 2 * 1024 ** 3  # the file, or what standard input sends
MAX_VALUE_CHARS = 1024 ** 2  # one value: a rule still names a field of up to 1 MiB (it is far too long anyway)
MAX_ROW_CHARS = 4 * 1024 ** 2  # one row's JSON text


class ImportFileError(StoreError):
    """The file cannot be read as an exchange document (one sentence that says why)."""


def size(n: int) -> str:
    """2 GiB, 4 MiB, 1,000 bytes."""
    for unit, scale in (("GiB", 1024 ** 3), ("MiB", 1024 ** 2), ("KiB", 1024)):
        if n >= scale and n % scale == 0:
            return f"{n // scale} {unit}"
    return f"{n:,} bytes"


def most_characters() -> str:
    """The most characters a value may have, as a message gives it (1,048,576)."""
    return format(MAX_VALUE_CHARS, ",")


def input_too_large(where: str) -> ImportFileError:
    return ImportFileError(say("{where} is larger than {size}, more than an import reads; split it into smaller "
                               "files.", where=where, size=size(MAX_INPUT_BYTES)))


THE_DOCUMENT = say("The document")  # where a document given as bytes is (read.parse_json_document)


def not_a_list(section: str, shown_value: str) -> str:
    return say("Section {name} must be a list of objects, not {value}.", name=repr(section), value=shown_value)


def not_an_object(section: str, index: int, shown_value: str) -> str:
    return say("{name}[{row}] must be an object, not {value}.", name=section, row=index, value=shown_value)
