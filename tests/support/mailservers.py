"""Real mail servers for the Test & Enable tests: Debian's dovecot (IMAP, POP3) and aiosmtpd (SMTP).

Session fixtures (registered with ``pytest_plugins = [..., "support.mailservers"]``):

* ``mail_certificate``: a self-signed certificate (SAN localhost and 127.0.0.1) the servers use.
* ``dovecot``: IMAP and POP3, each plain (with STARTTLS) and implicit TLS, for ``MAIL_USERS``.
  Skipped, with the reason, when dovecot is not installed.
* ``smtp_servers``: aiosmtpd with AUTH, plain, STARTTLS and implicit TLS.
* ``silent_server``: a TCP port that accepts connections and never says a word.

Function fixture ``trust_mail_certificate``: makes the test certificate trusted for the test
(``SSL_CERT_FILE``, which OpenSSL reads when a context loads the default trust store, and which
a child process inherits). Without it the same servers present an untrusted certificate.

The classes work outside pytest too (the benchmark starts its own dovecot with 1,000 users).
See docs/TEST_MAIL_SERVERS.md for why the dovecot configuration looks the way it does.
"""

from __future__ import annotations

import datetime as dt
import grp
import hashlib
import imaplib
import ipaddress
import logging
import os
import pwd
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import threading
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import pytest

DOVECOT = "/usr/sbin/dovecot"
# Login names dovecot knows; passwords distinctive enough that a leak is easy to find.
MAIL_USERS = {
    "alice@example.com": "Alice-pw-Qx81!zz",
    "bob@example.com": "Bob-pw-Lm27#yy",
    "forward@example.com": "Forward-pw-Tv55%ww",
    "support@example.com": "Support-pw-Hg93&vv",
    "zoe@example.com": "Zoë-pässwörd-Ω42",  # not ASCII: AUTH PLAIN carries UTF-8
}
_START_ATTEMPTS = 3

# The plain and implicit-TLS test servers take AUTH without STARTTLS on purpose.
warnings.filterwarnings("ignore", message="Requiring AUTH while not requiring TLS", category=UserWarning)


def dovecot_available() -> str | None:
    """None when dovecot can run here; otherwise the reason it cannot."""
    if not Path(DOVECOT).exists():
        return ("dovecot is not installed: apt-get install dovecot-imapd dovecot-pop3d "
                "(scripts/test does it)")
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        return "runuser is missing: cannot run dovecot as nobody"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _shared_dir(prefix: str) -> Path:
    """A folder the unprivileged server user can read (pytest's tmp_path is 0700 as root)."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    path.chmod(0o755)
    _give_to_server_user(path)
    return path


def _server_user() -> tuple[str, str]:
    if os.geteuid() == 0:
        return "nobody", "nogroup"
    return pwd.getpwuid(os.geteuid()).pw_name, grp.getgrgid(os.getegid()).gr_name


def _give_to_server_user(path: Path) -> None:
    if os.geteuid() == 0:
        os.chown(path, pwd.getpwnam("nobody").pw_uid, grp.getgrnam("nogroup").gr_gid)


# ---------------------------------------------------------------- certificate


@dataclass(frozen=True)
class TestCertificate:
    __test__ = False

    cert: Path
    key: Path
    sha256: str  # of the DER form, hex lowercase: what a profile pins


def make_certificate(folder: Path, common_name: str = "localhost",
                     hosts: tuple[str, ...] = ("localhost", "127.0.0.1")) -> TestCertificate:
    """A self-signed certificate for `hosts` (names or IP addresses), valid from yesterday for 30 days."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "mailbox-tui tests")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder()
            .subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName([_san(h) for h in hosts]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    key_path.chmod(0o600)
    sha256 = hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()
    return TestCertificate(cert_path, key_path, sha256)


def _san(host: str):
    from cryptography import x509

    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        return x509.DNSName(host)


# ---------------------------------------------------------------- dovecot

_DOVECOT_CONF = """\
protocols = imap pop3
listen = 127.0.0.1
base_dir = {dir}/run
state_dir = {dir}/state
log_path = {dir}/dovecot.log
default_internal_user = {user}
default_internal_group = {group}
default_login_user = {user}
ssl = yes
ssl_cert = <{dir}/cert.pem
ssl_key = <{dir}/key.pem
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {dir}/users
}}
userdb {{
  driver = static
  args = uid={user} gid={group} home={dir}/mail/%d/%n
}}
mail_location = maildir:~/Maildir
service anvil {{
  chroot =
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    port = {imap}
  }}
  inet_listener imaps {{
    port = {imaps}
    ssl = yes
  }}
}}
service pop3-login {{
  chroot =
  inet_listener pop3 {{
    port = {pop3}
  }}
  inet_listener pop3s {{
    port = {pop3s}
    ssl = yes
  }}
}}
{extra}
"""


class Dovecot:
    """One dovecot in the foreground, as nobody, in a fresh folder; IMAP/POP3 plain and TLS ports."""

    def __init__(self, users: dict[str, str], certificate: TestCertificate, extra_config: str = ""):
        self.users = dict(users)
        self.certificate = certificate
        self.extra_config = extra_config
        self.dir: Path | None = None
        self.process: subprocess.Popen | None = None
        self.ports: dict[str, int] = {}

    @property
    def imap(self) -> int:
        return self.ports["imap"]

    @property
    def imaps(self) -> int:
        return self.ports["imaps"]

    @property
    def pop3(self) -> int:
        return self.ports["pop3"]

    @property
    def pop3s(self) -> int:
        return self.ports["pop3s"]

    def start(self, ready_timeout: float = 20.0, same_ports: bool = False) -> Dovecot:
        """`same_ports`: start again where it listened before it was stopped (a server restarting)."""
        reason = dovecot_available()
        if reason:
            raise RuntimeError(reason)
        last = ""
        for _ in range(_START_ATTEMPTS):  # a fresh folder and ports each time (trap 2)
            self._keep_ports = same_ports
            self._prepare()
            if self._launch(ready_timeout):
                return self
            last = self.log()
            self.stop()
        raise RuntimeError(f"dovecot did not become ready:\n{last}")

    def _prepare(self) -> None:
        self.dir = _shared_dir("mailbox-tui-dovecot-")
        user, group = _server_user()
        shutil.copy(self.certificate.cert, self.dir / "cert.pem")
        shutil.copy(self.certificate.key, self.dir / "key.pem")
        (self.dir / "users").write_text("".join(f"{name}:{{PLAIN}}{pw}::::::\n" for name, pw in self.users.items()),
                                        encoding="utf-8")
        for sub in ("run", "state", "mail"):
            (self.dir / sub).mkdir()
        if not (getattr(self, "_keep_ports", False) and self.ports):
            self.ports = {name: free_port() for name in ("imap", "imaps", "pop3", "pop3s")}
        (self.dir / "dovecot.conf").write_text(_DOVECOT_CONF.format(
            dir=self.dir, user=user, group=group, extra=self.extra_config, **self.ports))
        for path in self.dir.rglob("*"):
            _give_to_server_user(path)

    def _launch(self, ready_timeout: float) -> bool:
        command = [DOVECOT, "-F", "-c", str(self.dir / "dovecot.conf")]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "nobody", "--", *command]
        with open(self.dir / "stderr.log", "wb") as stderr:  # the child keeps its own copy
            self.process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                            stderr=stderr, start_new_session=True)
        name, password = next(iter(self.users.items()))
        deadline = time.monotonic() + ready_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False
            try:  # ready means a real LOGIN works, not just an open port
                with imaplib.IMAP4("127.0.0.1", self.imap, timeout=2) as conn:
                    conn.login(name, password)
                    conn.logout()
                return True
            except (OSError, imaplib.IMAP4.error):
                time.sleep(0.05)
        return False

    def log(self) -> str:
        if self.dir is None:
            return ""
        parts = []
        for name in ("dovecot.log", "stderr.log"):
            path = self.dir / name
            if path.exists():
                parts.append(path.read_text(errors="replace")[-4000:])
        return "\n".join(parts)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=5)
        self.process = None
        if self.dir is not None:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None


# ---------------------------------------------------------------- aiosmtpd


class _Authenticator:
    def __init__(self, users: dict[str, str]):
        self.users = users
        self.attempts: list[str] = []  # login names tried, so a test can tell none was sent

    def __call__(self, server, session, envelope, mechanism, auth_data):
        from aiosmtpd.smtp import AuthResult, LoginPassword

        if isinstance(auth_data, LoginPassword):
            self.attempts.append(auth_data.login.decode("utf-8", "replace"))
            login = auth_data.login.decode("utf-8", "replace")
            password = auth_data.password.decode("utf-8", "replace")
            if self.users.get(login) == password:
                return AuthResult(success=True)
        # handled=False: aiosmtpd answers 535; the default (True) answers nothing and the client hangs.
        return AuthResult(success=False, handled=False)


class _NoMail:
    """Accepts nothing: the probes never send mail."""

    async def handle_DATA(self, server, session, envelope):
        return "554 5.7.1 This test server takes no mail"


class SmtpServers:
    """Three aiosmtpd servers with AUTH: plain, STARTTLS (required) and implicit TLS."""

    def __init__(self, users: dict[str, str], certificate: TestCertificate):
        self.users = dict(users)
        self.certificate = certificate
        self.controllers = {}
        self.ports: dict[str, int] = {}

    @property
    def plain(self) -> int:
        return self.ports["plain"]

    @property
    def starttls(self) -> int:
        return self.ports["starttls"]

    @property
    def implicit(self) -> int:
        return self.ports["implicit"]

    def start(self) -> SmtpServers:
        from aiosmtpd.controller import Controller

        # aiosmtpd warns on every session of a server that takes AUTH without TLS (on purpose here).
        logging.getLogger("mail.log").setLevel(logging.ERROR)
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls.load_cert_chain(self.certificate.cert, self.certificate.key)
        auth = self.authenticator = _Authenticator(self.users)
        settings = {
            "plain": {"auth_require_tls": False},
            "starttls": {"tls_context": tls, "require_starttls": True},
            "implicit": {"ssl_context": tls, "auth_require_tls": False},  # trap 2: else no AUTH advertised
        }
        for name, extra in settings.items():
            for attempt in range(_START_ATTEMPTS):
                port = free_port()  # trap 3: port=0 does not work
                controller = Controller(_NoMail(), hostname="127.0.0.1", port=port, authenticator=auth,
                                        auth_required=True, server_hostname="localhost", **extra)
                try:
                    controller.start()
                except Exception:
                    if attempt == _START_ATTEMPTS - 1:
                        self.stop()
                        raise
                    continue
                self.controllers[name], self.ports[name] = controller, port
                break
        return self

    def stop(self) -> None:
        for controller in self.controllers.values():
            try:
                controller.stop()
            except Exception:  # noqa: BLE001 - stopping is best effort
                pass
        self.controllers.clear()


# ---------------------------------------------------------------- a server that never speaks


class SilentServer:
    """Accepts TCP connections and never sends a byte: a client must give up on its own timeout."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.accepted: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="silent-server", daemon=True)

    def start(self) -> SilentServer:
        self._thread.start()
        return self

    def _serve(self) -> None:
        self.sock.settimeout(0.2)
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.accepted.append(conn)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        for conn in self.accepted:
            conn.close()
        self.sock.close()


# ---------------------------------------------------------------- fixtures


def pytest_configure(config):
    config.addinivalue_line("filterwarnings", "ignore:Requiring AUTH while not requiring TLS:UserWarning")



@pytest.fixture(scope="session")
def mail_certificate():
    folder = _shared_dir("mailbox-tui-cert-")
    try:
        yield make_certificate(folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def dovecot(mail_certificate):
    reason = dovecot_available()
    if reason:
        pytest.skip(reason)
    server = Dovecot(MAIL_USERS, mail_certificate).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def smtp_servers(mail_certificate):
    servers = SmtpServers(MAIL_USERS, mail_certificate).start()
    try:
        yield servers
    finally:
        servers.stop()


@pytest.fixture(scope="session")
def silent_server():
    server = SilentServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def trust_mail_certificate(mail_certificate, monkeypatch):
    """The test certificate is trusted (in this process and its children) for one test."""
    monkeypatch.setenv("SSL_CERT_FILE", str(mail_certificate.cert))
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    return mail_certificate
