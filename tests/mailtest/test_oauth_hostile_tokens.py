"""What a token endpoint sends back is judged before the mail server sees any of it (issue 21, items 2 and 6):
an access token holding a control character (^A would add XOAUTH2/OAUTHBEARER fields such as
"auth=Bearer injected"), or a lifetime that is not a number of seconds from 1 s to 1 day (expires_in, or the
JWT's exp: 1e308, Infinity, NaN, 1e20, -1e18), is a failure of the token step that names the token endpoint,
never "Unexpected answer from … (the IMAP server)". A user name with a control character stops the token
step before anything is sent. Real servers (dovecot, aiosmtpd) and the fixtures' token endpoint, whose
set_answer()/claim_overrides make it hostile."""

from __future__ import annotations

import time

import pytest
from mail_builders import server_profile, user_mailbox
from support.oauth import APP_CLIENT_ID, APP_SECRET, TENANT_ID

from mailbox_tui.domain.options import AuthMethod, TestStatus
from mailbox_tui.domain.records import PasswordEdit
from mailbox_tui.mailtest.oauth import TokenCache, TokenRequest
from mailbox_tui.mailtest.plan import evaluate
from mailbox_tui.mailtest.probes import IMAP, Endpoint, probe, sasl
from mailbox_tui.mailtest.probes.explain import Stopped
from mailbox_tui.mailtest.probes.results import Credentials

F, S = TestStatus.FAILURE, TestStatus.SUCCESS
INJECTED = "\x01auth=Bearer injected"


def _outcome(store, oauth):
    profile = server_profile(store, oauth.dovecot, oauth.smtp, auth_method=AuthMethod.OAUTH,
                             oauth_client_id=APP_CLIENT_ID, oauth_tenant_id=TENANT_ID,
                             oauth_client_secret=PasswordEdit(new=APP_SECRET), oauth_token_endpoint=oauth.token_url)
    return evaluate(store, user_mailbox(store, profile.id, allow_credentials=False).id)


def _failed_at_the_token_step(outcome, oauth) -> str:
    endpoint = f"127.0.0.1:{oauth.endpoint.port}"
    for direction in ("incoming", "outgoing"):
        check = outcome.checks[direction]
        assert (check.status, check.step) == (F, "token"), outcome.as_dict()
        assert f"token endpoint {endpoint}" in check.message, check.message
        assert "Unexpected" not in check.message and "IMAP server" not in check.message
        assert "SMTP server" not in check.message and "Traceback" not in check.message
        assert "Nothing was sent to the mail server" in check.message
    return outcome.checks["incoming"].message


# ---------------------------------------------------------------- a token holding control characters


@pytest.mark.parametrize("token", [lambda t: t + INJECTED, lambda t: t + "\r\nA1 LOGOUT", lambda t: t[:20] + "\x1b[2J",
                                   lambda t: ""], ids=["^A SASL field", "CRLF", "ESC", "empty"])
def test_a_token_with_a_control_character_fails_the_token_step_and_reaches_no_server(sqlite_store, oauth, token):
    oauth.endpoint.set_answer(access_token=token)
    sasl_before = len(oauth.smtp.attempts)
    message = _failed_at_the_token_step(_outcome(sqlite_store, oauth), oauth)
    assert "control characters" in message and "injected" not in message and "\x1b" not in message
    assert len(oauth.smtp.attempts) == sasl_before  # the SMTP server was never asked to sign in


def test_the_sasl_builders_refuse_a_user_or_token_with_a_control_character():
    for mechanism in (sasl.XOAUTH2, sasl.OAUTHBEARER):
        assert sasl.initial_response(mechanism, "alice@example.com", "tok-en", "h", 993)
        for user, token in (("alice@example.com", "tok" + INJECTED), ("alice\x01auth=x@example.com", "tok"),
                            ("alice@example.com", "tok\x7f"), ("alice@example.com\r\n", "tok")):
            with pytest.raises(Stopped) as refused:
                sasl.initial_response(mechanism, user, token, "h", 993)
            assert "control character" in refused.value.message and "injected" not in refused.value.message


def test_a_user_name_with_a_control_character_stops_before_the_token_endpoint(oauth):
    request = TokenRequest(AuthMethod.OAUTH, oauth.token_url, APP_CLIENT_ID, "https://outlook.office365.com/.default",
                           client_secret=APP_SECRET)
    creds = Credentials("alice@example.com\x01auth=Bearer injected", "", oauth=(request, TokenCache()))
    result = probe(Endpoint(IMAP, "127.0.0.1", oauth.dovecot.imaps, timeout=10), creds)
    assert not result.ok and result.step == "token", result.message
    assert f"token endpoint 127.0.0.1:{oauth.endpoint.port}" in result.message and "rule M20" in result.message
    assert oauth.endpoint.requests == []  # nothing reached the token endpoint either


# ---------------------------------------------------------------- token lifetimes


LIFETIMES = {"1e308": 1e308, "Infinity": float("inf"), "-Infinity": float("-inf"), "NaN": float("nan"),
             "1e20": 1e20, "-1e18": -1e18, "zero": 0, "negative": -60, "two days": 172_800, "a string": "soon",
             "true": True, "fullwidth digits": "３６００", "a list": [3600]}


@pytest.mark.parametrize("expires_in", LIFETIMES.values(), ids=LIFETIMES.keys())
def test_an_expires_in_outside_a_second_to_a_day_fails_the_token_step_naming_the_endpoint(sqlite_store, oauth,
                                                                                         expires_in):
    oauth.endpoint.set_answer(expires_in=expires_in)
    message = _failed_at_the_token_step(_outcome(sqlite_store, oauth), oauth)
    assert "expires_in" in message and "from 1 second to 1 day" in message


EXPIRIES = {"1e20": 1e20, "-1e18": -1e18, "an hour ago": "past", "two days ahead": "future", "a string": "tomorrow",
            "10**30": 10**30}


@pytest.mark.parametrize("exp", EXPIRIES.values(), ids=EXPIRIES.keys())
def test_a_jwt_exp_outside_a_second_to_a_day_fails_the_token_step_naming_the_endpoint(sqlite_store, oauth, exp):
    exp = {"past": int(time.time()) - 3600, "future": int(time.time()) + 172_800}.get(exp, exp)
    oauth.endpoint.claim_overrides = {"exp": exp}
    message = _failed_at_the_token_step(_outcome(sqlite_store, oauth), oauth)
    assert "exp claim" in message and "from 1 second to 1 day" in message


@pytest.mark.parametrize("expires_in", [1, 86_400, "3599", 3599.5], ids=repr)
def test_a_lifetime_from_a_second_to_a_day_is_taken(sqlite_store, oauth, expires_in):
    oauth.endpoint.set_answer(expires_in=expires_in)
    outcome = _outcome(sqlite_store, oauth)
    assert outcome.checks["incoming"].status == S and outcome.checks["outgoing"].status == S, outcome.as_dict()
