"""Svenska (issue 26) as an admin meets it: the installed app, started in a pseudo-terminal (80×24,
TERM=xterm) with LANG=sv_SE.UTF-8 and nothing else saying which language, shows its first screen and
a mailbox form in Swedish; with LANG=C.UTF-8 the same keys show English."""

from __future__ import annotations

import pytest
from support.terminal import TerminalApp, demo_database


@pytest.fixture(scope="module")
def organisation(tmp_path_factory):
    return demo_database(tmp_path_factory.mktemp("svenska"), users=5)


@pytest.mark.parametrize("lang,words", [
    ("sv_SE.UTF-8", ("Aktiva postlådor", "Hjälp", "Allmänt", "Autentiseringsuppgifter", "E-postadress",
                     "Serverprofil")),
    ("C.UTF-8", ("Active Mailboxes", "Help", "General", "Credentials", "Email Address", "Server Profile")),
])
def test_the_installed_app_speaks_the_language_of_lang(organisation, tmp_path, lang, words):
    path, key, acting = organisation
    home = tmp_path / "home"
    env = {"MAILBOX_TUI_KEY": key, "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"),
           "XDG_DATA_HOME": str(home / ".local" / "share"), "LANG": lang, "LC_ALL": "", "LC_MESSAGES": ""}
    term = TerminalApp(["--db", f"sqlite:///{path}", "--as", acting, "--no-mouse"], env)
    try:
        first, keys_word, general, credentials, email, profile_column = words
        term.wait_for(first)
        term.wait_for(keys_word)
        screen = term.wait_quiet()
        assert email in screen and profile_column in screen  # the list's column titles
        term.press("down", "enter")
        term.wait_for(general)
        screen = term.wait_for(credentials)
        assert email in screen
        other = "Email Address" if lang.startswith("sv") else "E-postadress"
        assert other not in term.text()
    finally:
        term.close()
