"""What the token step (oauth.py, P14) says when a token endpoint refuses or cannot be reached: one sentence or
two, the provider's error code and its fix. Made with i18n.say() (issue 26): stored, logged and printed as JSON in
English, shown in the admin's language with said(); the endpoint's own words (its error, its description, a
code) are values, shown exactly as they came and never taken for ours. No token, secret or assertion is ever put
in a message (oauth.py redacts what the endpoint echoes before and after)."""

from __future__ import annotations

import http.client
import json
import socket
import ssl
from urllib.parse import urlsplit

from ..domain.options import AuthMethod
from ..i18n import say

MS_PERMISSIONS = "IMAP.AccessAsApp, POP.AccessAsApp and SMTP.SendAsApp"

# Microsoft Entra ID codes (AADSTS…) seen on this path, with their meaning: Microsoft's error named, part of the
# endpoint's answer (a value in our sentences, like the code itself), so not translated.
AADSTS = {
    7000215: "Invalid client secret provided",
    7000222: "The client secret has expired",
    700027: "The client assertion's signature or certificate is not valid",
    700024: "The client assertion is not within its valid time range",
    700016: "The application was not found in the directory",
    90002: "The tenant was not found",
    65001: "Admin consent has not been granted",
    1002012: "The scope is not valid for client credentials",
    500011: "The resource principal was not found in the tenant",
    7000112: "The application is disabled",
    50034: "The user account does not exist in the directory",
    700082: "The refresh token has expired",
}


def _aadsts(answer: dict) -> int | None:
    codes = answer.get("error_codes")
    if isinstance(codes, list) and codes and isinstance(codes[0], int):
        return codes[0]
    description = str(answer.get("error_description") or "")
    if description.startswith("AADSTS"):
        digits = description[6:].split(":")[0]
        if digits.isdigit():
            return int(digits)
    return None


def error_words(value, depth: int = 0) -> str:
    """An answer's error as words, whatever JSON holds it: a nested object (Graph's {"code", "message"})
    reads "code: message", a list its items; never Python's repr of a dict."""
    if isinstance(value, dict) and depth < 3:
        parts = [error_words(value.get(k), depth + 1) for k in ("code", "error", "message", "error_description")
                 if value.get(k) not in (None, "")]
        return ": ".join(dict.fromkeys(p for p in parts if p)) or "an error without words"
    if isinstance(value, list) and depth < 3:
        return "; ".join(error_words(v, depth + 1) for v in value[:5])
    return "" if isinstance(value, (dict, list)) else str(value)


def _with_answer(named: str, text: str) -> str:
    """The refusal and the endpoint's own description (a value, last), when it sent one."""
    if not text:
        return say("The token endpoint refused ({error}).", error=named)
    return say("The token endpoint refused ({error}). {answer}", error=named, answer=text)


def explain_error(status: int, answer: dict | None, request, where: str) -> str:
    """One sentence or two: what the endpoint said, and the fix (`request`: oauth.TokenRequest)."""
    google = request.method == AuthMethod.GMAIL_OAUTH
    if answer is None or not answer.get("error"):
        return say("The token endpoint {where} answered HTTP {code} without an OAuth error: it is down or is not a "
                   "token endpoint. Check the profile's Token Endpoint, or try again later.", where=where, code=status)
    error = error_words(answer.get("error"))
    description = error_words(answer.get("error_description") or "")
    code = _aadsts(answer)
    # The endpoint's error, and Entra's code with its meaning: one value. Each sentence starts with the same words,
    # so a stored one reads back by its own template (the most literal words first), never by the bare refusal's.
    named = error + (f", AADSTS{code}: {AADSTS.get(code, 'see the Microsoft Entra error reference')}" if code else "")
    if google:
        if error == "unauthorized_client":
            return say("The token endpoint refused ({error}). The service account may not act for {email}: in the "
                       "Google Admin console (Security → Access and data control → API controls → Domain-wide "
                       "delegation) add its client ID with the scope {scope}.",
                       error=named, email=request.subject, scope=request.scope)
        if error == "invalid_grant" and "email" in description.lower():
            return say("The token endpoint refused ({error}). {email} is not a user of the Google Workspace domain the "
                       "service account is delegated for: check the mailbox's address or user name.", error=named,
                       email=request.subject)
        if error == "invalid_grant" and "signature" in description.lower():
            return say("The token endpoint refused ({error}). The service account key was deleted or replaced: "
                       "create a new JSON key for it in Google Cloud (IAM → Service accounts → Keys) and paste it "
                       "into the profile.", error=named)
        if error == "invalid_scope":
            return say("The token endpoint refused ({error}). Scope {scope} is not one Google accepts: use "
                       "https://mail.google.com/.", error=named, scope=repr(request.scope))
        if error == "invalid_client":
            return say("The token endpoint refused ({error}). The service account or its key is unknown or disabled: "
                       "paste a current JSON key.", error=named)
        return _with_answer(named, description[:200].strip())
    if code == 7000222:
        return say("The token endpoint refused ({error}). The client secret has expired: in Entra ID (App "
                   "registrations → the app → Certificates & secrets) create a new client secret and enter its Value "
                   "in the profile.", error=named)
    if code in (700027, 700024):
        return say("The token endpoint refused ({error}). The certificate assertion was refused: upload this "
                   "certificate to the app registration (Certificates & secrets → Certificates), or check this "
                   "machine's clock.", error=named)
    if error == "invalid_client":
        return say("The token endpoint refused ({error}). The client secret is wrong: enter the secret's Value (not "
                   "its Secret ID) from the app registration's Certificates & secrets.", error=named)
    if code == 65001 or (error == "invalid_grant" and "consent" in description.lower()):
        return say("The token endpoint refused ({error}). Admin consent is missing: in the app registration's API "
                   "permissions add Office 365 Exchange Online application permissions {permissions}, then Grant "
                   "admin consent.", error=named, permissions=MS_PERMISSIONS)
    if code == 90002 or (error == "invalid_request" and "tenant" in description.lower()):
        return say("The token endpoint refused ({error}). Check the profile's Tenant ID: the directory's GUID or a "
                   "verified domain.", error=named)
    if error == "unauthorized_client":
        return say("The token endpoint refused ({error}). The app (Client ID {client}) is not registered in this "
                   "tenant, or may not use client credentials: check Client ID and Tenant ID.",
                   error=named, client=request.client_id)
    if error in ("invalid_scope", "invalid_resource"):
        return say("The token endpoint refused ({error}). Scope must be https://outlook.office365.com/.default (it "
                   "is {value}).", error=named, value=repr(request.scope))
    return _with_answer(named, description.split(" Trace ID")[0][:200].strip())


def safe_answer(status: int, answer) -> str:
    """The endpoint's answer as shown: its error fields only (never a token)."""
    if not isinstance(answer, dict):
        return f"HTTP {status}"
    keep = {k: answer[k] for k in ("error", "error_description", "error_codes") if k in answer}
    return f"HTTP {status} " + json.dumps(keep, ensure_ascii=False)[:400]


def timeout_message(request, budget) -> str:
    if budget.aborted:
        return say("The token request was stopped: {reason}.", reason=budget.aborted)
    return say("The token endpoint {where} did not answer within the profile's timeout ({seconds} s): it is "
               "overloaded or unreachable. Try again, or raise the profile's Timeout.",
               where=urlsplit(request.token_url).netloc, seconds=format(budget.timeout, "g"))


def transport_message(exc: BaseException, request, where: str, budget) -> str:
    if budget.stopped or isinstance(exc, (socket.timeout, TimeoutError)):
        return timeout_message(request, budget)
    if isinstance(exc, ssl.SSLCertVerificationError):
        if not exc.verify_message:
            return say("The token endpoint {where} presented a certificate that is not trusted (verification "
                       "failed): nothing was sent. Check the Token Endpoint, or add its CA to this machine's trust "
                       "store (SSL_CERT_FILE).", where=where)
        return say("The token endpoint {where} presented a certificate that is not trusted ({error}): nothing was "
                   "sent. Check the Token Endpoint, or add its CA to this machine's trust store (SSL_CERT_FILE).",
                   where=where, error=exc.verify_message)
    if isinstance(exc, ssl.SSLError):
        return say("TLS with the token endpoint {where} failed ({error}): nothing was sent.", where=where,
                   error=str(exc.reason or exc))
    if isinstance(exc, socket.gaierror):
        return say("The token endpoint's host {where} was not found (DNS): check the Token Endpoint or Tenant ID.",
                   where=where)
    if isinstance(exc, ConnectionRefusedError):
        return say("The token endpoint {where} refused the connection: nothing listens there. Check the Token "
                   "Endpoint.", where=where)
    if isinstance(exc, (http.client.HTTPException, ConnectionError, OSError)):
        return say("The token endpoint {where} closed the connection without an answer ({error}).", where=where,
                   error=type(exc).__name__)
    return say("The token request to {where} failed ({error}).", where=where, error=type(exc).__name__)
