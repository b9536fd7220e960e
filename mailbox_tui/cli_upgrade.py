"""`mailbox-tui upgrade`: bring the database's schema up to this release's, and nothing else.

Any command upgrades the database it opens; this one does only that, for the database's owner
when the other admins' roles may not change its tables, or before a team switches releases."""

from __future__ import annotations

from . import cli_common as cli
from . import i18n
from .i18n import _


def add_upgrade_command(sub, common) -> None:
    sub.add_parser("upgrade", parents=[common],
                   help=_("upgrade the database's schema to this release's (SQLite: a copy of the old one is "
                          "kept)"))


def cmd_upgrade(args) -> int:
    from .store.migrations import SCHEMA_VERSION

    with cli._open_store(args, quiet_upgrade=True) as store:
        done = store.upgrade
        said = i18n.said(done.note) if done.note else (
            _("A new database was created at schema {version}.").format(version=SCHEMA_VERSION) if done.found == 0
            else _("This database is at schema {version} already: nothing to upgrade.").format(version=SCHEMA_VERSION))
        cli._print(args, {"found": done.found, "schema": SCHEMA_VERSION,
                          "copy": str(done.copy) if done.copy else None}, said)
    return cli.EXIT_OK
