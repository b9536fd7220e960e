"""The test Graph server behaves as Microsoft documents Graph (docs/testing-graph.md), checked with the
standard library's HTTP client alone, so the product's tests stand on a faithful server."""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.request
from urllib.parse import urlencode

import pytest
from support.graph import GRAPH_CLIENT_ID, GRAPH_SECRET, MAIL_ONLY_CLIENT_ID, MAIL_ONLY_SECRET
from support.oauth import APP_CLIENT_ID, APP_SECRET, TENANT_ID
from support.oauth_tokens import GRAPH_DEFAULT_SCOPE, app_claims


def _token(graph, client_id=GRAPH_CLIENT_ID, secret=GRAPH_SECRET, scope=GRAPH_DEFAULT_SCOPE) -> str:
    body = urlencode({"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret,
                      "scope": scope}).encode()
    with urllib.request.urlopen(graph.token_url, body, context=ssl.create_default_context()) as answer:
        return json.load(answer)["access_token"]


def _call(graph, path, token, method="GET", body=None):
    request = urllib.request.Request(graph.base_url + path, method=method, data=body,
                                     headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, context=ssl.create_default_context()) as answer:
            data = answer.read()
            return answer.status, json.loads(data) if data else None, dict(answer.headers)
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read()), dict(error.headers)


def test_a_graph_token_carries_graph_roles_and_audience(graph):
    import jwt

    claims = jwt.decode(_token(graph), options={"verify_signature": False})
    assert claims["aud"] == "https://graph.microsoft.com"
    assert {"Mail.ReadWrite", "Mail.Send", "Tasks.ReadWrite.All"} <= set(claims["roles"])
    assert "scope" not in claims and "IMAP.AccessAsApp" not in claims["roles"]


def test_reads_and_send_mail(graph):
    token = _token(graph)
    status, inbox, _ = _call(graph, "/v1.0/users/alice@example.com/mailFolders/inbox", token)
    assert status == 200 and inbox["displayName"] == "Inbox"
    status, page, _ = _call(graph, "/v1.0/users/alice@example.com/mailFolders/inbox/messages?$top=1&$select=id", token)
    assert status == 200 and len(page["value"]) == 1
    for path in ("calendar", "contacts", "todo/lists"):
        assert _call(graph, f"/v1.0/users/alice@example.com/{path}", token)[0] == 200
    mail = {"message": {"subject": "hi", "toRecipients": [{"emailAddress": {"address": "alice@example.com"}}]}}
    status, body, _ = _call(graph, "/v1.0/users/alice@example.com/sendMail", token, "POST", json.dumps(mail).encode())
    assert status == 202 and body is None
    assert graph.server.sent == [{"from": "alice@example.com", "to": ["alice@example.com"], "subject": "hi",
                                  "save": True}]


@pytest.mark.parametrize("case, expected", [
    ("no permission", (403, "ErrorAccessDenied", "Access is denied. Check credentials and try again.")),
    ("policy", (403, "ErrorAccessDenied", "Access to OData is disabled.")),
    ("unknown user", (404, "ErrorInvalidUser", "The requested user 'nobody@example.com' is invalid.")),
    ("soft-deleted", (404, "MailboxNotEnabledForRESTAPI",
                      "The mailbox is either inactive, soft-deleted, or is hosted on-premise.")),
    ("imap token", (401, "InvalidAuthenticationToken", "Access token validation failure. Invalid audience.")),
    ("expired", (401, "InvalidAuthenticationToken", "Lifetime validation failed, the token is expired.")),
])
def test_graph_errors_as_documented(graph, oauth_authority, case, expected):
    address, token = "alice@example.com", None
    if case == "no permission":
        token = _token(graph, MAIL_ONLY_CLIENT_ID, MAIL_ONLY_SECRET)
        path = "calendar"
    else:
        path = "mailFolders/inbox"
    if case == "policy":
        graph.server.restrict(GRAPH_CLIENT_ID, ["bob@example.com"])
    if case == "unknown user":
        address = "nobody@example.com"
    if case == "soft-deleted":
        address = "former@example.com"
    if case == "imap token":
        token = _token(graph, APP_CLIENT_ID, APP_SECRET, "https://outlook.office365.com/.default")
    if case == "expired":
        claims = {**app_claims(TENANT_ID, GRAPH_CLIENT_ID, ["Mail.ReadWrite"], scope_claim=""),
                  "aud": "https://graph.microsoft.com"}
        token = oauth_authority.mint(claims, lifetime=-120)
    status, body, headers = _call(graph, f"/v1.0/users/{address}/{path}", token or _token(graph))
    assert (status, body["error"]["code"], body["error"]["message"]) == expected
    assert set(body["error"]["innerError"]) == {"date", "request-id", "client-request-id"}
    if status == 401:
        assert headers["WWW-Authenticate"].startswith("Bearer ")
    assert graph.server.handler_errors == []


def test_throttling_answers_429_with_retry_after(graph):
    graph.server.fail_next(429, "TooManyRequests", "Too many requests.", retry_after=7)
    token = _token(graph)
    status, body, headers = _call(graph, "/v1.0/users/alice@example.com/mailFolders/inbox", token)
    assert (status, body["error"]["code"], headers["Retry-After"]) == (429, "TooManyRequests", "7")
    assert _call(graph, "/v1.0/users/alice@example.com/mailFolders/inbox", token)[0] == 200


def test_a_storm_refuses_every_nth_request_429_until_ended(graph):
    graph.server.throttle_every(5, retry_after=1)
    token = _token(graph)
    answers = [_call(graph, "/v1.0/users/alice@example.com/mailFolders/inbox", token) for _ in range(10)]
    assert [status for status, _, _ in answers] == [200, 200, 200, 200, 429] * 2
    status, body, headers = answers[4]
    assert (body["error"]["code"], headers["Retry-After"]) == ("ApplicationThrottled", "1")
    graph.server.throttle_every(0)
    assert {_call(graph, "/v1.0/users/alice@example.com/mailFolders/inbox", token)[0] for _ in range(5)} == {200}
    graph.server.throttle_every(3)
    graph.server.reset()  # a test's storm ends with it
    assert {_call(graph, "/v1.0/users/alice@example.com/mailFolders/inbox", token)[0] for _ in range(3)} == {200}
