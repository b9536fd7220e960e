"""Test & Enable's Exchange explanations in Swedish (issue 26): the EWS probe, the OAuth token step and Graph's
throttling sentence are made in English with i18n.say() (what the database, --json and the logs hold) and shown in
Swedish with said(), live or read back from the stored English; what a server or token endpoint answered is a
value, shown exactly as it came even when it looks like one of our sentences or like markup."""

from __future__ import annotations

import json
import string
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mail_builders import user_mailbox
from support.ews import SECRETS, SERVICE_USER, ews_profile

from mailbox_tui import i18n
from mailbox_tui.domain.options import AuthMethod, TestStatus
from mailbox_tui.i18n import OWN_WORDS, said, say
from mailbox_tui.mailtest.oauth import TokenRequest, explain_error
from mailbox_tui.mailtest.plan import evaluate
from mailbox_tui.mailtest.probes.ews_session import ROLE_FIX
from mailbox_tui.mailtest.runner import run_tests
from mailbox_tui.store import queries

PO = Path(i18n.LOCALE_DIR) / "sv" / "LC_MESSAGES" / "mailbox_tui.po"
OURS = ("mailbox_tui/mailtest/probes/ews", "mailbox_tui/mailtest/oauth.py", "mailbox_tui/mailtest/oauth_words.py",
        "mailbox_tui/mailtest/probes/graph_http.py", "mailbox_tui/mailtest/probes/graph.py")
THROTTLED = "Microsoft Graph is throttling this app for {email} (reading {what})"
OUR_SENTENCE = "Login rejected: the server refused the user name or password. Check both."
REQUEST = TokenRequest(AuthMethod.OAUTH, "https://login.example/token", "client-1", "scope", client_secret="s3cret")


def _templates() -> list[str]:
    with PO.open("rb") as fh:
        catalog = read_po(fh)
    return sorted({m.id for m in catalog if m.id and not isinstance(m.id, tuple) and not m.context
                   and "{" in m.id and any(where.startswith(OURS) for where, _ in m.locations)})


TEMPLATES = _templates()


def _own(name: str) -> str:
    """Our own words for a placeholder that holds them, as they are stored (plain English)."""
    return {"what": "the Inbox", "label": "this machine's Kerberos identity", "fix": ROLE_FIX,
            "method": "as 'bob'", "first": "The token endpoint refused (invalid_client).",
            "reason": "Kerberos produced no token"}.get(name, OUR_SENTENCE)


VALUE = st.text(alphabet=string.ascii_letters + string.digits + "@.-_[]<>'/:=åäö", min_size=1, max_size=30)


def test_the_exchange_explanations_are_in_the_catalogue():
    assert len(TEMPLATES) > 70
    for template in ("Exchange refused reading {what} of {email} ({answer}).", THROTTLED,
                     "The token endpoint refused ({error}). {answer}",
                     "{what} (HTTP {code}, {reason}, more than the profile's timeout of {timeout} s allows): not a fault "
                     "of the configuration; test again later."):
        assert template in TEMPLATES


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(template=st.sampled_from(TEMPLATES), data=st.data())
def test_every_exchange_explanation_read_back_from_its_stored_english_is_the_live_swedish(swedish, template, data):
    names = sorted(set(i18n._LITERAL_PLACEHOLDER.findall(template)))
    values = {name: (_own(name) if name in OWN_WORDS else data.draw(VALUE, label=name)) for name in names}
    live = say(template, **values)
    stored = str(live)
    assert type(stored) is str and stored == template.format(**values)
    assert said(stored) == said(live)
    if i18n._catalogue.gettext(template) != template:
        assert said(live) != stored
    for name in names:
        if name not in OWN_WORDS:
            assert values[name] in said(live)


@pytest.mark.parametrize("answer", [
    OUR_SENTENCE, "[b]bold[/b] [link=https://evil.example]click[/link]", "(ErrorAccessDenied). Check both.",
    "Exchange refused reading the Inbox of x@y (z).",
])
def test_a_hostile_token_endpoint_description_stays_exactly_as_it_came(swedish, answer):
    text = explain_error(400, {"error": "invalid_request", "error_description": answer}, REQUEST, "login.example")
    assert str(text) == f"The token endpoint refused (invalid_request). {answer}"
    for shown in (said(text), said(str(text))):
        assert shown == f"Tokenslutpunkten avvisade begäran (invalid_request). {answer}"


def test_an_entra_refusal_and_its_fix_read_back_in_swedish(swedish):
    """Entra's code and its meaning are the endpoint's (a value, in English); the fix is ours (in Swedish)."""
    text = explain_error(401, {"error": "invalid_client", "error_codes": [7000222]}, REQUEST, "login.example")
    assert str(text).startswith("The token endpoint refused (invalid_client, AADSTS7000222: The client secret has "
                                "expired). The client secret has expired: in Entra ID")
    shown = said(str(text))
    assert shown == said(text)
    assert shown == ("Tokenslutpunkten avvisade begäran (invalid_client, AADSTS7000222: The client secret has "
                     "expired). Klienthemligheten har gått ut: skapa en ny klienthemlighet i Entra ID "
                     "(Appregistreringar → appen → Certifikat och hemligheter) och ange dess värde i profilen.")


def test_graphs_throttling_sentence_reads_back_whole(swedish):
    throttled = say(THROTTLED, email="alice@contoso.com", what="the Inbox")
    text = say("{what} (HTTP {code}, {reason}, more than the profile's timeout of {timeout} s allows): not a fault of the "
               "configuration; test again later.", what=throttled, code=429,
               reason=say("Retry-After: {seconds} s", seconds="120"), timeout="10")
    assert str(text) == ("Microsoft Graph is throttling this app for alice@contoso.com (reading the Inbox) (HTTP 429, "
                         "Retry-After: 120 s, more than the profile's timeout of 10 s allows): not a fault of the "
                         "configuration; test again later.")
    assert said(str(text)) == said(text) == (
        "Microsoft Graph begränsar den här appen för alice@contoso.com (läsning av Inkorgen) (HTTP 429, Retry-After: "
        "120 s, längre än profilens tidsgräns på 10 s tillåter): inget fel i konfigurationen; testa igen senare.")


# ---------------------------------------------------------------- against the suite's EWS test server


def test_a_real_ews_refusal_is_swedish_on_screen_and_english_in_the_database(sqlite_store, ews, swedish):
    profile = ews_profile(sqlite_store, ews, password="Not-the-pw!1#long")
    box = user_mailbox(sqlite_store, profile.id, email="alice@contoso.com", act=1, allow_credentials=False)
    run_tests(sqlite_store, [box.id])
    alerts = queries.mailbox_alerts(box.id)
    incoming = [a for a in alerts if a.message.startswith("Incoming email,")]
    assert incoming, [a.message for a in alerts]
    stored = incoming[0].message  # plain English, as the database holds it
    assert (f"refused the sign-in of '{SERVICE_USER}' (NTLM, HTTP 401): check the user name and password"
            in stored)
    shown = said(stored)
    assert shown.startswith("Inkommande e-post, ")
    assert f"avvisade inloggningen för '{SERVICE_USER}' (NTLM, HTTP 401): kontrollera användarnamnet" in shown
    assert "refused" not in shown and "Not-the-pw!1#long" not in shown + stored


@pytest.mark.parametrize("text", [OUR_SENTENCE, "[b]bold[/b] [link=https://evil.example]click[/link] <x/>"])
def test_a_real_hostile_exchange_answer_stays_verbatim_in_swedish(sqlite_store, ews, swedish, text):
    ews.server.fail_next("ErrorInternalServerError", text, count=None)
    profile = ews_profile(sqlite_store, ews)
    box = user_mailbox(sqlite_store, profile.id, email="alice@contoso.com", act=0, outgoing=0,
                       allow_credentials=False)
    outcome = evaluate(sqlite_store, box.id)
    check = outcome.checks["incoming"]
    assert check.status == TestStatus.FAILURE, outcome.as_dict()
    assert check.message == (f"Exchange failed while reading the Inbox of alice@contoso.com (ErrorInternalServerError:"
                             f" {text}): a fault on the server's side, not in the profile; test again later.")
    expected = (f"Exchange misslyckades vid läsning av Inkorgen för alice@contoso.com (ErrorInternalServerError: "
                f"{text}): ett fel på serverns sida, inte i profilen; testa igen senare.")
    assert said(check.message) == said(str(check.message)) == expected
    report = json.dumps(outcome.as_dict())
    assert "misslyckades" not in report and "Exchange failed while reading the Inbox" in report
    assert not any(secret in report for secret in SECRETS)


def test_a_real_auto_discover_success_reads_back_whole_in_swedish(sqlite_store, ews, swedish, monkeypatch):
    from mailbox_tui.mailtest.probes import ews_autodiscover

    monkeypatch.setattr(ews_autodiscover, "autodiscover_bases", lambda domain: [f"https://127.0.0.1:{ews.server.port}"])
    profile = ews_profile(sqlite_store, ews, location="", auto_discover=True)
    box = user_mailbox(sqlite_store, profile.id, email="alice@contoso.com", act=0, outgoing=0,
                       allow_credentials=False)
    check = evaluate(sqlite_store, box.id).checks["incoming"]
    assert check.status == TestStatus.SUCCESS
    url = f"https://127.0.0.1:{ews.server.port}/EWS/Exchange.asmx"
    assert check.message.endswith(f"EWS URL found by Auto Discover: {url} (Autodiscover v2).")  # English, as before
    assert said(str(check.message)) == said(check.message) == (
        "Läste inkorgen för alice@contoso.com via EWS (3 objekt) som 'CONTOSO\\svc-ews' i postlådans ställe "
        f"(ExchangeImpersonation). EWS-URL hittad med automatisk identifiering: {url} (Autodiscover v2).")
