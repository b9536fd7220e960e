"""Test & Enable's explanations in Swedish (issue 26): made in English with i18n.say() (what the database,
--json and the logs hold), shown in Swedish with said(), live or read back from the stored English, and the
server's own answer always exactly as it came, even when it looks like one of our sentences or like markup."""

from __future__ import annotations

import string
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mailbox_tui import i18n
from mailbox_tui.domain.failures import CAUSE, CAUSES, describe
from mailbox_tui.i18n import OWN_WORDS, said, say
from mailbox_tui.mailtest.alerts import ALERTS, alert
from mailbox_tui.mailtest.probes import Credentials
from mailbox_tui.mailtest.probes.explain import login_rejected, method_not_offered
from mailbox_tui.mailtest.redact import Redactor

PO = Path(i18n.LOCALE_DIR) / "sv" / "LC_MESSAGES" / "mailbox_tui.po"
# Where the explanations that are stored (a result's message, an alert) are made.
STORED_IN = ("mailbox_tui/mailtest/", "mailbox_tui/domain/failures.py", "mailbox_tui/store/stored_findings.py",
             "mailbox_tui/store/services/test_results.py")
OURS = "Login rejected: the server refused the user name or password. Check both."


def _templates() -> list[str]:
    with PO.open("rb") as fh:
        catalog = read_po(fh)
    out = []
    for message in catalog:
        if not message.id or isinstance(message.id, tuple) or message.context or "{" not in message.id:
            continue
        if any(where.startswith(STORED_IN) for where, _ in message.locations):
            out.append(message.id)
    return sorted(set(out))


TEMPLATES = _templates()


def _own(name: str):
    """Our own words for a placeholder that holds them: a real one of each kind."""
    return {"step": "authentication", "cause": CAUSE["credentials"].label, "what": "Incoming email",
            "method": "no TLS", "option": "Forward Mailbox", "kind": "incoming", "status": "Failure",
            "reason": "cancelled"}.get(name) or login_rejected(None)


# Values as a server or an admin may write them: words, addresses, codes; not our own sentences' joints.
VALUE = st.text(alphabet=string.ascii_letters + string.digits + "@.-_[]<>'/:=åäö", min_size=1, max_size=30)


def test_the_explanations_are_in_the_catalogue():
    assert len(TEMPLATES) > 60
    assert "Unexpected answer from {where} during {step}: {answer}." in TEMPLATES
    assert set(ALERTS.values()) <= set(TEMPLATES)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(template=st.sampled_from(TEMPLATES), data=st.data())
def test_every_explanation_read_back_from_its_stored_english_is_the_live_swedish(swedish, template, data):
    names = sorted(set(i18n._LITERAL_PLACEHOLDER.findall(template)))
    values = {name: (_own(name) if name in OWN_WORDS else data.draw(VALUE, label=name)) for name in names}
    live = say(template, **values)
    stored = str(live)  # what the database gives back: plain English
    assert type(stored) is str and stored == template.format(**values)
    assert said(stored) == said(live)
    if i18n._catalogue.gettext(template) != template:  # our words are Swedish, every value as it was
        assert said(live) != stored
    for name in names:
        if name not in OWN_WORDS:
            assert values[name] in said(live)


def test_a_stored_alert_reads_back_whole_in_swedish(swedish):
    text = alert("answered", "incoming", CAUSE["credentials"], where="IMAP mail.example.com:993 (SSL/TLS)",
                   step="authentication", why=login_rejected(Credentials("bob@example.com", "pw")),
                   answer="NO [AUTHENTICATIONFAILED] Authentication failed.")
    shown = said(str(text))
    assert shown == said(text)
    assert shown == ("Inkommande e-post, IMAP mail.example.com:993 (SSL/TLS), misslyckades vid autentisering: "
                     "Inloggningen avvisades för användaren 'bob@example.com': servern godtog inte användarnamnet "
                     "eller lösenordet. Kontrollera båda. Permanent fel (autentiseringsuppgifterna avvisades, den här "
                     "postlådans). Servern svarade: NO [AUTHENTICATIONFAILED] Authentication failed.")


@pytest.mark.parametrize("answer", [
    OURS,  # a server that answers with one of our own sentences
    f"NO {OURS} Permanent failure (credentials refused, this mailbox's).",
    "[b]bold[/b] [link=https://evil.example]click[/link] \x1b[31mred",  # markup and an escape: text, not style
    "rule M5", "authentication", "Server answered: Check both.",
])
def test_a_hostile_answer_stays_exactly_as_the_server_sent_it(swedish, answer):
    text = alert("answered", "incoming", CAUSE["credentials"], where="IMAP h:993 (SSL/TLS)",
                   step="authentication", why=login_rejected(None), answer=answer)
    for shown in (said(text), said(str(text))):
        assert shown.endswith(" Permanent fel (autentiseringsuppgifterna avvisades, den här postlådans). Servern "
                              f"svarade: {answer}")
        assert shown.startswith("Inkommande e-post, IMAP h:993 (SSL/TLS), misslyckades vid autentisering: "
                                "Inloggningen avvisades:")


def test_english_stays_exactly_as_it_was():
    assert describe(CAUSE["connect-refused"]) == "Transient failure (connection refused, the server's)."
    assert describe(CAUSE["credentials"]) == "Permanent failure (credentials refused, this mailbox's)."
    assert said(describe(CAUSE["credentials"])) == "Permanent failure (credentials refused, this mailbox's)."
    assert (method_not_offered(say("the server refuses a password on an unencrypted connection."))
            == "Login method not offered here: the server refuses a password on an unencrypted connection. If the "
               "server only allows login over TLS, set SSL to SSL/TLS or STARTTLS.")


def test_every_cause_is_said_in_swedish(swedish):
    for cause in CAUSES:
        text = describe(cause)
        assert said(text) == said(str(text)) != str(text)
        assert i18n.shown(cause.fix) != cause.fix and i18n.shown(cause.label) != cause.label


def test_redaction_keeps_the_sentence_when_it_masks_nothing_and_still_reads_back_when_it_does(swedish):
    message = login_rejected(Credentials("Secret-Pw-123", "x"))  # a user name that is also a secret
    untouched = Redactor(("nothing-here-at-all",))(message)
    assert untouched is message
    masked = Redactor(("Secret-Pw-123",))(message)
    assert "Secret-Pw-123" not in masked and "Secret-Pw-123" not in said(masked)
    assert said(masked).startswith("Inloggningen avvisades för användaren")
