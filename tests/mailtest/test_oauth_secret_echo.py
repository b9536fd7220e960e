"""A token endpoint that echoes the client secret (issue 21, item 4): whatever form it sends it back in
(percent-encoded as the request carried it, decoded, base64, quoted, JSON- or backslash-escaped), the secret
reaches none of the stored alerts, the plain output, the --json output, the --log file or the message a
Test Connection shows. The redaction knows the request's secrets before the first byte is sent, not only
once a token came back. Real parts: the CLI in its own process, the fixtures' HTTPS token endpoint (its
echo_secret mode is the hostile part), dovecot and SMTP servers, a SQLite file."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from urllib.parse import quote, quote_plus

import pytest
from mail_builders import server_profile, user_mailbox
from support.oauth import APP_CLIENT_ID, TENANT_ID
from support.oauth_endpoint import ECHO_FORMS

from mailbox_tui.domain.options import AuthMethod
from mailbox_tui.domain.records import PasswordEdit
from mailbox_tui.mailtest.oauth import TokenCache, TokenError, TokenRequest, token_now
from mailbox_tui.store.database import Store
from mailbox_tui.store.models import MailboxAlert

# Every character some encoding changes: / + = " \ space, a non-ASCII letter, ~ and %.
SECRET = 'Abc/Def+Ghi="Jk\\l mñ~Q7%'


def secret_forms() -> set[str]:
    """The secret as any layer could show it: the forms the endpoint echoes, and each of those escaped once
    more as a JSON answer or a Python repr shows it."""
    raw = SECRET.encode()
    forms = {SECRET, quote_plus(SECRET, safe=""), quote(SECRET, safe=""), quote_plus(SECRET, safe="").lower(),
             base64.b64encode(raw).decode().rstrip("="), base64.urlsafe_b64encode(raw).decode().rstrip("="),
             SECRET.replace("\\", "\\\\").replace('"', '\\"'), json.dumps(SECRET)[1:-1],
             json.dumps(SECRET).replace("/", "\\/")[1:-1], SECRET.encode("unicode_escape").decode()}
    return forms | {json.dumps(f)[1:-1] for f in forms} | {repr(f)[1:-1] for f in forms}


def assert_no_piece(texts: dict[str, str], size: int = 8) -> None:
    """No `size`-character piece of any form of the secret in any text: not even part of it."""
    for form in secret_forms():
        for start in range(0, max(1, len(form) - size + 1)):
            piece = form[start:start + size]
            for where, text in texts.items():
                assert piece not in text, f"{piece!r} (of {form!r}) leaked into {where}: {text!r}"


def run_test(sqlite_url: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mailbox_tui", "test", "--db", sqlite_url, "--all", *args],
                          capture_output=True, text=True, env=os.environ.copy(), timeout=120, stdin=subprocess.DEVNULL)


@pytest.mark.parametrize("form", ECHO_FORMS)
def test_an_endpoint_echoing_the_client_secret_gets_it_into_no_alert_output_json_or_log(sqlite_url, oauth, tmp_path,
                                                                                      form):
    with Store(sqlite_url) as store:
        profile = server_profile(store, oauth.dovecot, oauth.smtp, auth_method=AuthMethod.OAUTH,
                                 oauth_client_id=APP_CLIENT_ID, oauth_tenant_id=TENANT_ID,
                                 oauth_client_secret=PasswordEdit(new=SECRET), oauth_token_endpoint=oauth.token_url)
        user_mailbox(store, profile.id, allow_credentials=False)
    oauth.endpoint.echo_secret(form)
    log = tmp_path / "test.log"
    as_json = run_test(sqlite_url, "--json", "--log", str(log))
    plain = run_test(sqlite_url)
    assert as_json.returncode == 1 and plain.returncode == 1, as_json.stderr + plain.stderr
    report = json.loads(as_json.stdout)
    # (the lifecycle's own "disabled" alert names the cause, not the server's words: issue 24)
    alerts = [a["message"] for m in report["mailboxes"] for a in m["alerts"] if a.get("step") != "disabled"]
    assert alerts and all("AADSTS900144" in a and "Your request had the secret" in a for a in alerts), alerts
    with Store(sqlite_url) as store:
        stored = [a.message for a in MailboxAlert.select().where(MailboxAlert.step != "disabled")]
    assert stored and all("Your request had the secret" in a for a in stored)
    assert oauth.endpoint.requests  # it was asked, and echoed
    assert_no_piece({"--json stdout": as_json.stdout, "stderr": as_json.stderr + plain.stderr,
                     "plain stdout": plain.stdout, "--log": log.read_text(), "stored alerts": "\n".join(stored)})


@pytest.mark.parametrize("form", ECHO_FORMS)
def test_a_test_connection_token_failure_shows_no_form_of_the_secret(oauth, form):
    """What the profile form's Test Connection shows: the token step's own message and answer."""
    oauth.endpoint.echo_secret(form)
    request = TokenRequest(AuthMethod.OAUTH, oauth.token_url, APP_CLIENT_ID, "https://outlook.office365.com/.default",
                           client_secret=SECRET)
    with pytest.raises(TokenError) as failure:
        token_now(request, TokenCache(), 10)
    assert "Your request had the secret" in failure.value.message and "Your request had" in failure.value.answer
    assert_no_piece({"message": failure.value.message, "answer": failure.value.answer})
