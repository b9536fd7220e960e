"""The Health page in Swedish (issue 26): the flag's sentence, the status line and the profile's own alert in
Swedish words, the profile's name as stored; it still fits at 80×24."""

from __future__ import annotations

from support.ui import go, screen_text

from test_ui_health import failures

from mailbox_tui import i18n


async def test_the_health_page_in_swedish(app, ui_store):
    failures(ui_store, flagged=True)
    i18n.use(i18n.SWEDISH)
    async with app.run_test(size=(80, 24)) as pilot:
        await go(pilot, "7")
        text = screen_text(app)
        said = " ".join(text.split())  # the sentence wraps at 80 columns
        assert "! FLAGGAD: mer än hälften av postlådorna misslyckades inom en timme: Corporate IMAP." in said, text
        assert "Enter: postlådorna bakom en rad (d inaktiverade, r försöker igen, f misslyckas)." in said, text
        assert "1 flaggad" in text and "FLAGGED" not in text


async def test_a_flagged_profiles_own_alert_in_swedish(app, ui_store):
    from support.ui import open_imap_profile

    failures(ui_store, flagged=True)
    i18n.use(i18n.SWEDISH)
    async with app.run_test(size=(80, 24)) as pilot:
        form = await open_imap_profile(pilot, ui_store.seeded["imap"])
        usage = " ".join(str(form.query_one("#usage").render()).split())
        assert "! Mer än hälften av dess postlådor misslyckades inom en timme (3 av 5)" in usage, usage
