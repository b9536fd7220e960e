"""OAuth (P14) from the command line and in every text: `mailbox-tui test` unchanged on OAuth profiles (its
own process, real servers, the fixtures' token endpoint); OAUTHBEARER where it is all a server offers;
SMTP without TLS; and the redaction of tokens, assertions and secrets in answers, results and logs."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys

import pytest
from mail_builders import server_profile, user_mailbox
from support.oauth import APP_CLIENT_ID, APP_SECRET, TENANT_ID
from support.oauth_mail import _controller_class
from support.mailservers import free_port

from mailbox_tui.domain.options import AuthMethod, TestStatus, TlsMode
from mailbox_tui.domain.records import PasswordEdit
from mailbox_tui.mailtest.plan import evaluate
from mailbox_tui.mailtest.probes import sasl
from mailbox_tui.mailtest.redact import MASK, Redactor
from mailbox_tui.store.database import Store

S, F, N = TestStatus.SUCCESS, TestStatus.FAILURE, TestStatus.NOT_RUN


def _profile(store, oauth, secret=APP_SECRET, **changes):
    values = dict(auth_method=AuthMethod.OAUTH, oauth_client_id=APP_CLIENT_ID, oauth_tenant_id=TENANT_ID,
                  oauth_client_secret=PasswordEdit(new=secret), oauth_token_endpoint=oauth.token_url)
    values.update(changes)
    return server_profile(store, oauth.dovecot, oauth.smtp, **values)


def test_cli_test_on_oauth_mailboxes_reports_json_with_no_token_or_secret(sqlite_url, oauth, tmp_path):
    with Store(sqlite_url) as store:
        good = _profile(store, oauth)
        bad = _profile(store, oauth, name="Old secret", secret="Wrong-secret-Q~000")
        user_mailbox(store, good.id, allow_credentials=False)
        user_mailbox(store, bad.id, email="bob@example.com", allow_credentials=False)
    log = tmp_path / "test.log"
    result = subprocess.run([sys.executable, "-m", "mailbox_tui", "test", "--db", sqlite_url, "--all", "--json",
                             "--log", str(log)], capture_output=True, text=True, env=os.environ.copy(),
                            timeout=120, stdin=subprocess.DEVNULL)
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    report = json.loads(result.stdout)
    by_email = {m["email"]: m for m in report["mailboxes"]}
    assert by_email["alice@example.com"]["result"] == "Success"
    bob = by_email["bob@example.com"]
    assert bob["result"] == "Failure" and {a["step"] for a in bob["alerts"]} == {"token"}
    assert any("AADSTS7000215" in a["message"] for a in bob["alerts"])
    for text in (result.stdout, result.stderr, log.read_text()):
        assert APP_SECRET not in text and "Wrong-secret-Q~000" not in text
        assert "eyJ" not in text  # no access token, no assertion
        assert base64.b64encode(APP_SECRET.encode()).decode()[:12] not in text


@pytest.fixture
def oauthbearer_only_smtp(oauth):
    """A plain SMTP server (no TLS) that offers OAUTHBEARER and not XOAUTH2, judging tokens as the others do."""
    controller = _controller_class()(oauth.smtp.handler, hostname="127.0.0.1", port=free_port(),
                                     auth_required=True, auth_require_tls=False,
                                     auth_exclude_mechanism=["XOAUTH2", "PLAIN", "LOGIN"])
    controller.start()
    try:
        yield controller.port
    finally:
        controller.stop()


def test_oauthbearer_when_it_is_all_the_server_offers_and_smtp_without_tls(sqlite_store, oauth,
                                                                          oauthbearer_only_smtp):
    profile = _profile(sqlite_store, oauth, outgoing_tls=TlsMode.NONE, outgoing_port=oauthbearer_only_smtp)
    box = user_mailbox(sqlite_store, profile.id, allow_credentials=False)
    outcome = evaluate(sqlite_store, box.id)
    assert outcome.checks["outgoing"].status == S, outcome.as_dict()
    assert oauth.smtp.attempts[-1].mechanism == "OAUTHBEARER" and oauth.smtp.attempts[-1].accepted


def test_xoauth2_over_smtp_without_tls(sqlite_store, oauth):
    profile = _profile(sqlite_store, oauth, outgoing_tls=TlsMode.NONE)
    outcome = evaluate(sqlite_store, user_mailbox(sqlite_store, profile.id, allow_credentials=False).id)
    assert outcome.checks["outgoing"].status == S, outcome.as_dict()
    assert oauth.smtp.attempts[-1].mechanism == "XOAUTH2"


def test_sasl_prefers_xoauth2_then_oauthbearer():
    assert sasl.mechanism(["PLAIN", "OAUTHBEARER", "XOAUTH2"]) == "XOAUTH2"
    assert sasl.mechanism(["oauthbearer"]) == "OAUTHBEARER"
    assert sasl.mechanism(["PLAIN", "LOGIN"]) is None
    blob = sasl.initial_response("OAUTHBEARER", "a@example.com", "tok", "h", 25)
    assert blob == b"n,a=a@example.com,\x01host=h\x01port=25\x01auth=Bearer tok\x01\x01"


def test_a_refusal_challenge_is_decoded():
    raw = base64.b64encode(b'{"status": "401", "schemes": "bearer"}')
    assert sasl.decoded_reason(raw) == '{"status":"401","schemes":"bearer"}'
    assert sasl.decoded_reason(b"not base64!") == "not base64!"


JWT = "eyJhbGciOiJSUzI1NiIsImtpZCI6IjEifQ.eyJzdWIiOiJhbGljZUBleGFtcGxlLmNvbSJ9.c2lnbmF0dXJlLXBhcnQ"


@pytest.mark.parametrize("text", [
    f"NO token {JWT} rejected",
    f"Authorization: Bearer {JWT}",
    "Authorization: Bearer ya29.a0AfH6SMBx-opaque_google_token",
    'grant_type=client_credentials&client_secret=Q~secret-value&scope=x',
    '{"access_token": "opaque-token-123456", "expires_in": 3599}',
    f"client_assertion_type=jwt-bearer&client_assertion={JWT}",
])
def test_tokens_assertions_and_secrets_are_masked_without_being_named(text):
    out = Redactor()(text)
    assert MASK in out
    for leaked in (JWT, "ya29.a0AfH6SMBx", "Q~secret-value", "opaque-token-123456"):
        assert leaked not in out


def test_a_known_token_is_masked_in_its_xoauth2_base64_form_too():
    token = "opaque-access-token-Zq81"
    blob = base64.b64encode(sasl.initial_response("XOAUTH2", "alice@example.com", token, "h", 1)).decode()
    out = Redactor([token])(f"the server echoed {blob}")
    assert token not in out and blob not in out


@pytest.mark.parametrize("server_type", ["imap", "pop3"])
def test_imap_and_pop3_take_a_token_without_tls_too(sqlite_store, oauth, server_type):
    """The test dovecot lets 127.0.0.1 sign in without TLS (it counts as secure), so every TLS mode is
    covered; P10 warns about such a profile."""
    from mailbox_tui.domain.options import ServerType

    kind = ServerType.IMAP_SMTP if server_type == "imap" else ServerType.POP3_SMTP
    port = oauth.dovecot.imap if server_type == "imap" else oauth.dovecot.pop3
    profile = _profile(sqlite_store, oauth, server_type=kind, incoming_tls=TlsMode.NONE, incoming_port=port)
    outcome = evaluate(sqlite_store, user_mailbox(sqlite_store, profile.id, allow_credentials=False).id)
    check = outcome.checks["incoming"]
    assert check.status == S and check.step == "mailbox access", outcome.as_dict()
