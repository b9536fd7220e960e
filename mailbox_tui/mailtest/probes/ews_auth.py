"""How the EWS probe signs in (issue 23): an OAuth bearer token (Exchange Hybrid Modern Auth), Kerberos through
Negotiate with this machine's ticket (Windows Integrated Authentication), or a user name and password with the
scheme the server offers: NTLM (or Negotiate carrying NTLM) before Basic, so the password itself is never sent
when the server allows otherwise. NTLM and Kerberos are pyspnego's: nothing of them is written here.

NTLM authenticates a connection, not a request: its three messages go over one kept-alive connection, and the
requests after it ride on that connection (as IIS does). Basic and bearer go with every request.
"""

from __future__ import annotations

import base64
import re

from ...domain.outside_text import visible
from ...i18n import say
from .explain import Stopped
from .results import AUTHENTICATION

NTLM, NEGOTIATE, BASIC, BEARER = "NTLM", "Negotiate", "Basic", "Bearer"


def offered(challenges: tuple[str, ...]) -> dict[str, str]:
    """The schemes of WWW-Authenticate headers, by lower-case name: {"ntlm": "<token or ''>", ...}."""
    out: dict[str, str] = {}
    for challenge in challenges:
        for part in challenge.split(","):  # several challenges may share a header
            scheme, _, rest = part.strip().partition(" ")
            if scheme and "=" not in scheme:
                out.setdefault(scheme.lower(), rest.strip())
    return out


def no_ticket_message(host: str, detail: str) -> str:
    """`detail`: Kerberos's own words, or a say() sentence of ours (a `reason`: read back from storage too)."""
    return say("Windows Integrated Authentication signs in with this machine's Kerberos ticket, and there is none for "
               "HTTP/{host} here ({reason}). Get one for the service account (kinit, then klist shows it) on a "
               "machine joined to the domain, or set Authenticate Using to Credentials Specified in Email Server "
               "Profile. Nothing was sent.", host=host, reason=detail)


def kerberos_failure(host: str, exc: BaseException) -> str:
    """Why no Kerberos token for HTTP/<host> could be made, from MIT's own reason (a value), with the fix."""
    detail = _minor(exc)
    said = detail.lower()
    spn = f"HTTP/{host}"
    if "expired" in said:
        return say("The Kerberos ticket here has expired, so none for {spn} could be had ({error}): get a new one "
                   "for the service account (kinit; klist shows when it ends), then test again. Nothing was sent.",
                   spn=spn, error=detail)
    if "not found in kerberos database" in said and "krbtgt/" in said:
        return say("The Kerberos ticket here is of another realm, one that {spn}'s realm does not trust ({error}): "
                   "kinit as an account of the Exchange server's realm, or set up the trust between the realms. "
                   "Nothing was sent.", spn=spn, error=detail)
    if "not found in kerberos database" in said:
        return say("The Kerberos realm has no service principal {spn} ({error}): register it on the account of "
                   "Exchange's web services (setspn -S {spn} <account>), or set the profile's location to the "
                   "server's name that has one. Nothing was sent.", spn=spn, error=detail)
    if "cannot contact any kdc" in said or "cannot find kdc" in said:
        return say("No Kerberos KDC answered for a ticket to {spn} ({error}): check that this machine reaches a "
                   "domain controller of the realm (krb5.conf, DNS). Nothing was sent.", spn=spn, error=detail)
    return no_ticket_message(host, detail)


class Signer:
    """The Authorization header of each request, and the sign-in dance when the server asks for one."""

    def __init__(self, attempt):
        self.a = attempt
        self.scheme = ""  # the scheme in use, once chosen
        self.header = ""  # sent with every request (Basic, bearer); NTLM's is per handshake
        creds = attempt.creds
        if creds.bearer:
            self.scheme, self.header = BEARER, f"Bearer {creds.password}"
        elif creds.kerberos:
            self.scheme = NEGOTIATE

    def kerberos_header(self) -> str:
        """Negotiate with this machine's Kerberos ticket for HTTP/<host>; Stopped saying plainly when none."""
        a = self.a
        a.step = AUTHENTICATION
        try:
            import spnego

            context = spnego.client(hostname=a.ep.host, service="HTTP", protocol="kerberos")
            token = context.step()
        except ImportError as exc:
            raise Stopped(no_ticket_message(a.ep.host, say("no Kerberos library: {error}; pip install "
                                                           "'mailbox-tui[kerberos]' with the system's krb5",
                                                           error=type(exc).__name__))) from None
        except Exception as exc:  # noqa: BLE001 - pyspnego/GSSAPI errors: no ticket, expired, no KDC, no SPN
            raise Stopped(kerberos_failure(a.ep.host, exc)) from None
        if not token:
            raise Stopped(no_ticket_message(a.ep.host, say("Kerberos produced no token")))
        return f"Negotiate {base64.b64encode(token).decode('ascii')}"

    def choose(self, challenges: tuple[str, ...]) -> str:
        """After a 401: the scheme to use with a password, or Stopped naming what the server offers."""
        schemes = offered(challenges)
        for name, scheme in (("ntlm", NTLM), ("negotiate", NEGOTIATE), ("basic", BASIC)):
            if name in schemes:
                self.scheme = scheme
                return scheme
        if schemes:
            raise Stopped(say("{where} asks for a sign-in this tool cannot give ({answer}): EWS takes Basic, NTLM or "
                              "Negotiate with a password. Check the EWS virtual directory's authentication "
                              "(Get-WebServicesVirtualDirectory | fl *Authentication*).", where=self.a.ep.address,
                              answer=", ".join(sorted(schemes))[:80]))
        raise Stopped(say("{where} asks for a sign-in this tool cannot give (no WWW-Authenticate header): EWS takes "
                          "Basic, NTLM or Negotiate with a password. Check the EWS virtual directory's authentication "
                          "(Get-WebServicesVirtualDirectory | fl *Authentication*).", where=self.a.ep.address))

    def basic_header(self) -> str:
        creds = self.a.creds
        blob = base64.b64encode(f"{creds.username}:{creds.password}".encode("utf-8")).decode("ascii")
        self.header = f"Basic {blob}"
        return self.header

    def ntlm_context(self):
        import spnego

        creds = self.a.creds
        protocol = "ntlm" if self.scheme == NTLM else "negotiate"
        return spnego.client(creds.username, creds.password, hostname=self.a.ep.host, service="HTTP",
                             protocol=protocol)


def blob_header(scheme: str, token: bytes) -> str:
    return f"{scheme} {base64.b64encode(token).decode('ascii')}"


def server_token(challenges: tuple[str, ...], scheme: str) -> bytes | None:
    """The server's NTLM (or Negotiate) token in a 401's challenge, or None."""
    value = offered(challenges).get(scheme.lower(), "")
    if not value:
        return None
    try:
        return base64.b64decode(value.encode("ascii"), validate=True)
    except (ValueError, UnicodeEncodeError):
        return None


def _minor(exc: BaseException) -> str:
    """MIT's own words from a GSSAPI error ("Ticket expired"), else the error's first line."""
    text = " ".join(str(exc).split())
    found = re.search(r"Minor \(\d+\): (.+?)(?:, Context: .*)?$", text)
    return visible(found.group(1))[:160] if found else _first_line(exc)


def _first_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return visible((text[:160] + "…") if len(text) > 160 else text or type(exc).__name__)
