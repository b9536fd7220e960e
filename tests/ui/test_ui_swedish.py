"""Svenska (issue 26) in the app: what a form shows when the admin's language is Swedish."""

from __future__ import annotations

from support.ui import screen_lines, settle

from mailbox_tui import i18n


async def test_the_mailbox_form_in_swedish(app):
    """The form's sections, labels and choices in the glossary's words; the record's own data as stored."""
    i18n.use("sv")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("down", "enter")
        await settle(pilot)
        titles = {s: str(app.screen.query_one(f"#section-{s}").render()) for s in ("general", "credentials",
                                                                                   "sync", "results")}
        assert titles["general"].startswith("Allmänt") and titles["credentials"].startswith("Autentiseringsuppgifter")
        assert titles["sync"].startswith("Synkroniseringsmetod")
        assert titles["results"].startswith("Resultat av konfigurationstest")
        text = "\n".join(screen_lines(app))
        assert "Namn" in text and "E-postadress" in text and "Email Address" not in text
        await pilot.press("f4")
        await settle(pilot)
        text = "\n".join(screen_lines(app))
        lines = [line.strip() for line in screen_lines(app)]
        assert any(line.startswith("Inkommande e-post") and "Inga" in line for line in lines), text
        assert "Status för inkommande e-post: Körs inte" in lines and "Postlådetest slutfört för: aldrig" in lines
        assert "Godkännande av e-postadress: Väntar på godkännande" in lines


async def test_the_palette_switches_the_language_and_remembers_it(app):
    """ctrl+p, "Language: Svenska": the page under it speaks Swedish at once, settings.json remembers it,
    and the way back is offered in Swedish words."""
    from mailbox_tui.ui.settings import load_settings
    from mailbox_tui.ui.widgets.keybar import KeyBar

    from mailbox_tui.ui.screens.mailbox_form import MailboxFormScreen

    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("down", "enter")  # the form, built and kept for reuse in English
        await settle(pilot)
        await pilot.press("escape")
        await settle(pilot)
        assert app.is_screen_installed(MailboxFormScreen.INSTALLED_AS)
        bar = app.screen.query_one(KeyBar)
        assert "Help" in str(bar.render()) and "Hjälp" not in str(bar.render())
        await pilot.press("ctrl+p")
        await settle(pilot)
        await pilot.press(*"Language")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert i18n.current() == "sv" and load_settings().get("language") == "sv"
        assert "Hjälp" in str(app.screen.query_one(KeyBar).render())
        assert str(app.screen.query_one("#status").render()).startswith("Aktiva postlådor")
        await pilot.press("down", "enter")  # a form opened now is built in Swedish
        await settle(pilot)
        assert str(app.screen.query_one("#section-general").render()).startswith("Allmänt")


async def test_a_form_with_unsaved_changes_keeps_the_language_until_it_is_left(app):
    from mailbox_tui.ui.settings import load_settings

    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("down", "enter")
        await settle(pilot)
        await pilot.press(*"x")  # an edit in the first field
        await settle(pilot)
        app.action_language("sv")
        await settle(pilot)
        assert i18n.current() == "en" and "language" not in load_settings()
        assert str(app.screen.query_one("#section-general").render()).startswith("General")


async def test_in_swedish_the_palette_offers_spraak_and_switches_back_to_english(app):
    """README (På svenska): ctrl+p, "Språk", switches the app to English and remembers it."""
    from mailbox_tui.ui.settings import load_settings

    i18n.use(i18n.choose(None, None, {"LANG": "sv_SE.UTF-8"}))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+p")
        await settle(pilot)
        await pilot.press(*"Språk")
        await settle(pilot)
        assert "Språk: English" in "\n".join(screen_lines(app))
        await pilot.press("enter")
        await settle(pilot)
        assert i18n.current() == "en" and load_settings().get("language") == "en"
        assert str(app.screen.query_one("#status").render()).startswith("Active Mailboxes")
