"""The message catalogue: extract the marked words from the code, update each language's .po, compile
the .mo files the package ships, and check that every language is complete. Uses Babel (a test
dependency; the installed app needs only the compiled .mo files).

    .venv/bin/python scripts/catalogue.py update   # after adding or changing marked words: new ones
                                                   # appear untranslated in each .po; translate them
    .venv/bin/python scripts/catalogue.py compile  # .po -> .mo (commit both)
    .venv/bin/python scripts/catalogue.py check    # exit 1, naming each problem, unless complete

Adding a language: copy mailbox_tui/locale/sv to mailbox_tui/locale/<code>, set its header (Language,
Plural-Forms), translate every message, compile, and add the code to LANGUAGES in mailbox_tui/i18n.py.
"""

from __future__ import annotations

import io
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "mailbox_tui"
LOCALE = PACKAGE / "locale"
DOMAIN = "mailbox_tui"
# The marks (mailbox_tui/i18n.py): what Babel extracts, and which arguments hold the words.
KEYWORDS = {"_": None, "N_": None, "say": None, "ngettext": (1, 2), "say_n": (1, 2), "pgettext": ((1, "c"), 2)}
PLACEHOLDER = re.compile(r"\{([^{}]*)\}")


def languages(locale: Path = LOCALE) -> list[str]:
    return sorted(p.name for p in locale.iterdir() if (p / "LC_MESSAGES" / f"{DOMAIN}.po").is_file())


def po_path(language: str, locale: Path = LOCALE) -> Path:
    return locale / language / "LC_MESSAGES" / f"{DOMAIN}.po"


def extract():
    """Every marked message in the package, as a Babel catalogue (the template)."""
    from babel.messages.catalog import Catalog
    from babel.messages.extract import extract_from_dir

    template = Catalog(project="mailbox-tui", fuzzy=False)
    for message, context, where in declared():
        template.add(message, None, [(where, 0)], context=context)
    for filename, lineno, message, comments, context in extract_from_dir(
            str(PACKAGE), method_map=[("**.py", "python")], keywords=KEYWORDS, comment_tags=("Translators:",)):
        template.add(message, None, [(f"mailbox_tui/{filename}", lineno)], auto_comments=comments, context=context)
    return template


def declared() -> list[tuple[str, str | None, str]]:
    """The words the declarations hold, shown through i18n.shown and pgettext: every field's label and
    its short label (context "short label": each language has one that fits the form's label column),
    the forms' section titles, and every option's label. (message, context, where) each."""
    sys.path.insert(0, str(ROOT))
    from mailbox_tui.domain import fields, options

    out = []
    for name in ("PROFILE_FIELDS", "USER_FIELDS", "QUEUE_FIELDS", "MAILBOX_FIELDS", "ORG_FIELDS"):
        declared_fields = getattr(fields, name)
        out += [(f.label, None, "mailbox_tui/domain/fields.py") for f in declared_fields]
        out += [(f.short_label, fields.SHORT_LABEL, "mailbox_tui/domain/fields.py")
                for f in fields.form_fields(declared_fields)]
        out += [(f.placeholder, None, "mailbox_tui/domain/fields.py") for f in declared_fields if f.placeholder]
    for name in ("PROFILE_SECTIONS", "USER_SECTIONS", "QUEUE_SECTIONS", "MAILBOX_SECTIONS", "ORG_SECTIONS"):
        out += [(title, None, "mailbox_tui/domain/fields.py") for title in getattr(fields, name).values()]
    from mailbox_tui.ui.widgets import keybar

    out += [(short, keybar.KEY_BAR, "mailbox_tui/ui/widgets/keybar.py") for short in keybar.SHORT.values()]
    for where, column_set in list_columns():
        out += [(c.title, COLUMN_TITLE, where) for c in column_set]
    out += [(word, LIST_CELL, "mailbox_tui/ui/widgets/record_table.py") for word in list_cells()]
    for option_set in options.Option.__subclasses__():
        out += [(label, None, "mailbox_tui/domain/options.py") for label in option_set._labels().values()]
    return out


COLUMN_TITLE, LIST_CELL = "column", "list cell"  # as mailbox_tui/ui/widgets/record_table.py names them


def list_columns() -> list[tuple[str, tuple]]:
    """(module file, its columns) of every list: each column's title is translated under COLUMN_TITLE."""
    import importlib

    out = []
    for name, attribute in (("widgets.record_table", "COLUMNS"), ("screens.users", "USER_COLUMNS"),
                            ("screens.queues", "QUEUE_COLUMNS"), ("screens.profiles", "PROFILE_COLUMNS"),
                            ("screens.health", "HEALTH_COLUMNS"), ("screens.history", "HISTORY_COLUMNS")):
        module = importlib.import_module(f"mailbox_tui.ui.{name}")
        out.append((f"mailbox_tui/ui/{name.replace('.', '/')}.py", getattr(module, attribute)))
    return out


def list_cells() -> list[str]:
    """The words a narrow column shows (record_table.cell): kinds, test statuses, approvals, methods."""
    from mailbox_tui.domain.options import ApprovalStatus, MailboxKind, TestStatus
    from mailbox_tui.ui.widgets import record_table

    words = [m.label for m in (*MailboxKind, *TestStatus)]
    words += [m.label.replace(" Approval", "") for m in ApprovalStatus]
    words += [word for by_code in record_table.SHORT.values() for word in by_code.values()]
    return list(dict.fromkeys(words))


def read_po(language: str, locale: Path = LOCALE):
    from babel.messages.pofile import read_po as babel_read_po

    with po_path(language, locale).open("rb") as fh:
        return babel_read_po(fh, locale=language, domain=DOMAIN)


def mo_bytes(catalog) -> bytes:
    from babel.messages.mofile import write_mo

    out = io.BytesIO()
    write_mo(out, catalog, use_fuzzy=False)
    return out.getvalue()


def update() -> None:
    from babel.messages.pofile import write_po

    template = extract()
    for language in languages():
        catalog = read_po(language)
        created = catalog.creation_date  # kept: an update that adds nothing changes nothing
        catalog.update(template, no_fuzzy_matching=True)
        catalog.creation_date = created
        with po_path(language).open("wb") as fh:
            write_po(fh, catalog, width=100, omit_header=False, sort_output=False, ignore_obsolete=True)
        print(f"{po_path(language).relative_to(ROOT)}: {len(catalog)} messages")


def compile_all() -> None:
    for language in languages():
        mo = po_path(language).with_suffix(".mo")
        mo.write_bytes(mo_bytes(read_po(language)))
        print(f"{mo.relative_to(ROOT)} written")


def placeholders(text: str) -> list[str]:
    return sorted(PLACEHOLDER.findall(text))


def lost_placeholders(ids: tuple[str, ...], strings: tuple[str, ...]) -> list[str]:
    """Each translation whose {placeholders} are not its message's. A plural's first form (one) may have
    the singular's or the plural's ("1 postlåda" or "{n} postlåda"); every other form the plural's."""
    out = []
    for k, text in enumerate(strings):
        wanted = {tuple(placeholders(ids[-1]))} | ({tuple(placeholders(ids[0]))} if k == 0 else set())
        if tuple(placeholders(text)) not in wanted:
            out.append(f"{ids[0]!r}: the translation {text!r} has placeholders {placeholders(text)}, the "
                       f"message {placeholders(ids[-1])}")
    return out


ADJACENT = re.compile(r"\}[\s]*\{")
CONVERTED = re.compile(r"\{[A-Za-z_][A-Za-z0-9_]*[!:][^{}]*\}")


def stored_sentences() -> set[str]:
    """The templates of say() and say_n(): the sentences that may be stored in English and read back."""
    from babel.messages.extract import extract_from_dir

    return {message if isinstance(message, str) else message[0] for _, _, message, _, _ in extract_from_dir(
        str(PACKAGE), method_map=[("**.py", "python")], keywords={"say": None, "say_n": (1, 2)})}


def unreadable(ids: tuple[str, ...]) -> list[str]:
    """Why a message could not be read back from the English stored in the database (i18n.said): two
    placeholders with no words between them, or a placeholder with a conversion or format (!r, :>8)."""
    out = []
    for english in ids:
        if ADJACENT.search(english):
            out.append("has two placeholders with no words between them: a stored one cannot be read back")
        if CONVERTED.search(english):
            out.append("has a placeholder with a conversion or format: format the value before filling it in")
    return list(dict.fromkeys(out))


def problems(locale: Path = LOCALE) -> list[str]:
    """What keeps the catalogue in `locale` from being complete, one sentence each (none: complete)."""
    template = extract()
    stored = stored_sentences()
    found = []
    for language in languages(locale):
        catalog = read_po(language, locale)
        where = po_path(language, locale).name if locale != LOCALE else po_path(language).relative_to(ROOT)
        for message in template:
            if not message.id:
                continue
            ours = catalog.get(message.id, message.context)
            ids = message.id if isinstance(message.id, tuple) else (message.id,)
            if ours is None or ours.fuzzy or not all(ours.string if isinstance(ours.string, tuple)
                                                     else (ours.string,)):
                found.append(f"{where}: {ids[0]!r} ({message.locations[0][0]}) has no {language} translation")
                continue
            strings = ours.string if isinstance(ours.string, tuple) else (ours.string,)
            found += [f"{where}: {said}" for said in lost_placeholders(ids, strings)]
            if ids[0] in stored:
                found += [f"{where}: {ids[0]!r} ({message.locations[0][0]}) {why}" for why in unreadable(ids)]
        mo = po_path(language, locale).with_suffix(".mo")
        if not mo.is_file() or mo.read_bytes() != mo_bytes(catalog):
            found.append(f"{mo.name} of {language} is not compiled from its .po: run scripts/catalogue.py compile")
    return found


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "check"
    if command == "update":
        update()
    elif command == "compile":
        compile_all()
    elif command == "check":
        found = problems()
        for line in found:
            print(line)
        if found:
            print(f"catalogue: {len(found)} problem(s)")
            return 1
        print(f"catalogue: complete ({', '.join(languages())})")
    else:
        print(f"usage: {Path(sys.argv[0]).name} update|compile|check", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
