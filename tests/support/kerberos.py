"""A throwaway MIT Kerberos KDC on loopback for tests (issue 23: Windows Integrated Authentication), and the
fixtures that hand out tickets. Registered in tests/conftest.py; docs/testing-ews.md says what each gives.

Session (``_kdc``): Debian's ``krb5kdc`` serving two realms from one temporary folder: ``MAILBOX.TEST``, where the
EWS server's service principal ``HTTP/localhost`` lives (its keys exported to a keytab the test EWS server accepts
with) with the users below, and ``ELSEWHERE.TEST``, a realm with no trust to it. Its own krb5.conf, kdc.conf,
databases, stash, log and replay cache; a free loopback port; stopped and removed after the session. Nothing reads
or writes /etc/krb5.conf or the machine's ticket cache.

Function (``kerberos``): the environment pointed at that KDC (KRB5_CONFIG, KRB5_KTNAME, KRB5RCACHEDIR) and an
empty ticket cache of this test's own (KRB5CCNAME): no ticket until the test calls ``kinit``.

The EWS host is ``localhost`` (the test certificate names it; /etc/hosts maps it to 127.0.0.1): the client asks for
HTTP/localhost. krb5.conf turns off what would rename it: ``dns_canonicalize_hostname = false`` and ``rdns =
false`` (no DNS look-ups of the name), ``qualify_shortname = ""`` (MIT 1.18+ would otherwise add the resolver's
search domain to a name without dots).

Skipped with the reason when the KDC programs (Debian krb5-kdc, krb5-admin-server, krb5-user) or Python's gssapi
and krb5 (``pip install 'mailbox-tui[kerberos]'``) are missing; under CI (CI=true) that is a failure instead.
"""

from __future__ import annotations

import base64
import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

REALM, OTHER_REALM = "MAILBOX.TEST", "ELSEWHERE.TEST"
SERVICE_HOST = "localhost"
SPN = f"HTTP/{SERVICE_HOST}"
# Users of MAILBOX.TEST (kinit with a password) and what the EWS server lets each do (support/ews.py).
SERVICE, SERVICE_PASSWORD = f"svc-krb@{REALM}", "Svc-Krb-pw!8tWq#long"  # ApplicationImpersonation over all
NO_ROLE, NO_ROLE_PASSWORD = f"clerk@{REALM}", "Clerk-pw!5hYc#long"  # no impersonation role
STRANGER, STRANGER_PASSWORD = f"visitor@{OTHER_REALM}", "Visitor-pw!6jRb#long"  # another realm, no trust
OTHER_SPN = f"HTTP/intranet.{REALM.lower()}"  # a service principal the EWS host is not
PASSWORDS = (SERVICE_PASSWORD, NO_ROLE_PASSWORD, STRANGER_PASSWORD)
PROGRAMS = {"krb5kdc": "krb5-kdc", "kdb5_util": "krb5-kdc", "kadmin.local": "krb5-admin-server",
            "kinit": "krb5-user"}
_SBIN = ("/usr/sbin", "/usr/bin", "/sbin", "/bin")
_START_ATTEMPTS = 3


def program(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    for folder in _SBIN:  # /usr/sbin is not on every user's PATH
        if os.access(os.path.join(folder, name), os.X_OK):
            return os.path.join(folder, name)
    return None


def missing() -> str:
    """Why a real KDC and GSSAPI cannot run here, or "" when they can."""
    absent = sorted({package for name, package in PROGRAMS.items() if program(name) is None})
    if absent:
        return f"MIT Kerberos KDC not installed (Debian packages: {' '.join(absent)})"
    try:
        import gssapi  # noqa: F401
        import krb5  # noqa: F401
    except ImportError as exc:
        return f"Python gssapi/krb5 not installed ({exc}); pip install 'mailbox-tui[kerberos]'"
    return ""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Kdc:
    """krb5kdc for REALM and OTHER_REALM in `folder`, with its principals and the HTTP/localhost keytab."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.port = 0
        self.process: subprocess.Popen | None = None
        self.keytab = folder / "http.keytab"  # HTTP/localhost: what the EWS server accepts with
        self.other_keytab = folder / "other-http.keytab"  # OTHER_SPN only: a keytab without the EWS host's key
        self.service_keytab = folder / "svc-krb.keytab"  # SERVICE's keys, for kinit -k (its password still works)
        self.config = folder / "krb5.conf"
        self.kdc_config = folder / "kdc.conf"
        self.log = folder / "kdc.log"

    # ------------------------------------------------ set-up

    def start(self) -> Kdc:
        for attempt in range(_START_ATTEMPTS):  # a fresh port each time, in case another process took ours
            self.port = _free_port()
            self._write_configs()
            if attempt == 0:
                self._create_realms()
            self.process = subprocess.Popen(
                [program("krb5kdc"), "-n", "-r", REALM, "-r", OTHER_REALM], env=self.env(),
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            if self._listening():
                return self
            self.stop()
        raise RuntimeError(f"krb5kdc did not start: {self.log.read_text()[-500:] if self.log.exists() else ''}")

    def _write_configs(self) -> None:
        f, port = self.folder, self.port
        self.config.write_text(f"""[libdefaults]
    default_realm = {REALM}
    dns_lookup_kdc = false
    dns_lookup_realm = false
    dns_canonicalize_hostname = false
    rdns = false
    qualify_shortname = ""
    udp_preference_limit = 1
[realms]
    {REALM} = {{
        kdc = 127.0.0.1:{port}
    }}
    {OTHER_REALM} = {{
        kdc = 127.0.0.1:{port}
    }}
[domain_realm]
    {SERVICE_HOST} = {REALM}
""")
        realms = "".join(f"""    {realm} = {{
        database_name = {f / realm.lower()}.db
        key_stash_file = {f / realm.lower()}.stash
        acl_file = {f}/kadm5.acl
        max_life = 1h
        max_renewable_life = 0
    }}
""" for realm in (REALM, OTHER_REALM))
        self.kdc_config.write_text(f"""[kdcdefaults]
    kdc_listen = 127.0.0.1:{port}
    kdc_tcp_listen = 127.0.0.1:{port}
[realms]
{realms}[logging]
    kdc = FILE:{self.log}
    admin_server = FILE:{f}/kadmin.log
    default = FILE:{f}/kdc-default.log
""")
        (f / "kadm5.acl").write_text("")

    def _create_realms(self) -> None:
        for realm in (REALM, OTHER_REALM):
            self._run([program("kdb5_util"), "create", "-s", "-r", realm, "-P", f"master-{os.urandom(8).hex()}"])
        for principal, password in ((SERVICE, SERVICE_PASSWORD), (NO_ROLE, NO_ROLE_PASSWORD),
                                    (STRANGER, STRANGER_PASSWORD)):
            self.kadmin(principal.rpartition("@")[2], f"addprinc -pw {password} {principal}")
        self.kadmin(REALM, f"ktadd -norandkey -k {self.service_keytab} {SERVICE}")
        for spn, keytab in ((SPN, self.keytab), (OTHER_SPN, self.other_keytab)):
            self.kadmin(REALM, f"addprinc -randkey {spn}")
            self.kadmin(REALM, f"ktadd -k {keytab} {spn}")

    def kadmin(self, realm: str, query: str) -> str:
        return self._run([program("kadmin.local"), "-r", realm, "-q", query])

    def _run(self, argv: list[str], stdin: str = "") -> str:
        done = subprocess.run(argv, input=stdin, env=self.env(), capture_output=True, text=True, timeout=60)
        if done.returncode != 0:
            raise RuntimeError(f"{os.path.basename(argv[0])} failed ({done.returncode}): {done.stderr.strip()}")
        return done.stdout

    def _listening(self, timeout: float = 15.0) -> bool:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.process.poll() is not None:
                return False
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return True
            except OSError:
                time.sleep(0.05)
        return False

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
            if self.process.stderr is not None:
                self.process.stderr.close()
            self.process = None

    # ------------------------------------------------ use

    def env(self, ccache: Path | None = None) -> dict[str, str]:
        """The variables that point MIT Kerberos here (and at `ccache`), over this process's environment."""
        env = dict(os.environ, KRB5_CONFIG=str(self.config), KRB5_KDC_PROFILE=str(self.kdc_config),
                   KRB5_KTNAME=f"FILE:{self.keytab}", KRB5RCACHEDIR=str(self.folder))
        if ccache is not None:
            env["KRB5CCNAME"] = f"FILE:{ccache}"
        return env

    def kinit(self, ccache: Path, principal: str, password: str, lifetime: str = "", keytab: Path | None = None):
        """`kinit` into `ccache`, the password on standard input, or `kinit -k -t keytab`."""
        argv = [program("kinit")] + (["-l", lifetime] if lifetime else [])
        argv += (["-k", "-t", str(keytab)] if keytab else []) + [principal]
        done = subprocess.run(argv, input="" if keytab else password + "\n", env=self.env(ccache),
                              capture_output=True, text=True, timeout=30)
        if done.returncode != 0:
            raise RuntimeError(f"kinit {principal} failed: {done.stderr.strip()}")


@dataclass
class Kerberos:
    """This test's view of the KDC: its own ticket cache, empty until `kinit`."""

    kdc: Kdc
    ccache: Path
    monkeypatch: object

    def kinit(self, principal: str = SERVICE, password: str = SERVICE_PASSWORD, lifetime: str = "") -> None:
        self.kdc.kinit(self.ccache, principal, password, lifetime)

    def kinit_keytab(self) -> None:
        """The service account's ticket from its keytab (kinit -k -t), as a server without a person would."""
        self.kdc.kinit(self.ccache, SERVICE, "", keytab=self.kdc.service_keytab)

    def klist(self) -> str:
        done = subprocess.run([program("klist")], env=self.kdc.env(self.ccache), capture_output=True, text=True,
                              timeout=30)
        return done.stdout

    def use_keytab(self, keytab: Path) -> None:
        """The EWS server accepts with this keytab instead (it reads KRB5_KTNAME at each sign-in)."""
        self.monkeypatch.setenv("KRB5_KTNAME", f"FILE:{keytab}")

    def use_config(self, text: str) -> None:
        """A krb5.conf of this test's own (for example one naming a KDC that is not there)."""
        path = self.ccache.parent / "krb5-test.conf"
        path.write_text(text)
        self.monkeypatch.setenv("KRB5_CONFIG", str(path))


def _unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason}: CI must run the Kerberos tests (scripts/test installs what they need)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def _kdc():
    reason = missing()
    if reason:
        _unavailable(reason)
    folder = Path(tempfile.mkdtemp(prefix="mailbox-tui-kdc-"))
    kdc = Kdc(folder)
    try:
        kdc.start()
        yield kdc
    finally:
        kdc.stop()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def kerberos(_kdc, tmp_path, monkeypatch) -> Kerberos:
    """The KDC's environment, with an empty ticket cache of this test's own."""
    folder = tmp_path / "krb5"
    folder.mkdir()
    ccache = folder / "ccache"
    for name, value in _kdc.env(ccache).items():
        if name.startswith("KRB5"):
            monkeypatch.setenv(name, value)
    return Kerberos(_kdc, ccache, monkeypatch)


# ---------------------------------------------------------------- the acceptor side (the test EWS server's)


class KerberosRefused(Exception):
    """A Negotiate token the acceptor refused; the message is MIT's reason (for example "Request is a replay")."""


def accept(token: bytes) -> tuple[str, bytes]:
    """The client principal of a Kerberos AP-REQ (raw or in SPNEGO) and the AP-REP to answer with, accepted by
    pyspnego with the keytab KRB5_KTNAME names and MIT's replay cache; KerberosRefused otherwise."""
    import spnego

    context = spnego.server(protocol="kerberos")
    try:
        answer = context.step(token)
    except Exception as exc:  # noqa: BLE001 - every refusal is a 401; the reason is kept for the test
        raise KerberosRefused(_reason(context, exc)) from None
    if not context.complete:
        raise KerberosRefused("the Kerberos exchange did not complete in one step")
    return context.client_principal, answer or b""


def _reason(context, exc: BaseException) -> str:
    # pyspnego 0.12 reads the context's flags after python-gssapi has put an acceptor's failure aside (to raise
    # at the next call), so it raises AttributeError: MIT's own error is that next call's.
    inner = getattr(context, "_context", None)
    last = getattr(inner, "_last_err", None)
    return " ".join(str(last or exc).split())


def sign_in(handler, token: bytes):
    """Kerberos in the test EWS server's Negotiate (support/ews_server.py): the account of the ticket's client
    principal (``user@REALM``, mapped as NTLM users are), the connection signed in as IIS does, the AP-REP sent
    with the answer (``mutual_header``); a refusal answers 401 afresh, MIT's reason the ``code`` of its request
    (``refusal``)."""
    ews = handler.server.ews
    try:
        principal, handler.kerberos_mutual = accept(token)
        account = ews.accounts.get(principal.lower())
        if account is None:  # a principal of no Active Directory account here
            raise KerberosRefused(f"no account for {principal}")
    except KerberosRefused as exc:
        handler.kerberos_mutual, handler.kerberos_refusal = b"", f"Kerberos: {exc}"
        handler._challenge({})
        return None
    handler.user, handler.kerberos_refusal = account.username, None
    return account


def refusal(handler) -> str | None:
    """Why the Kerberos token of this 401 was refused (for the request's record), once; None for any other 401."""
    reason = getattr(handler, "kerberos_refusal", None)
    handler.kerberos_refusal = None
    return reason


def mutual_header(handler) -> dict[str, str]:
    """The AP-REP of the sign-in just accepted, once, as the header of the answer (mutual authentication)."""
    mutual, handler.kerberos_mutual = getattr(handler, "kerberos_mutual", b""), b""
    return {"WWW-Authenticate": f"Negotiate {base64.b64encode(mutual).decode()}"} if mutual else {}
