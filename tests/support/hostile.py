"""Mail servers that misbehave on purpose, on 127.0.0.1, for the hostile-server tests.

Each `HostileServer` runs a small script per connection (a thread each) and records every
byte each client sent, so a test can assert on the server side what arrived (a password, an
injected command) or that nothing did. Every loop is bounded: a script stops when the client
leaves, when the server is stopped, or at the server's `lifetime`, whichever comes first; a
flood stops at `FLOOD_MAX` bytes.

The scripts speak just enough IMAP, POP3 or SMTP to lead a client to the point where it
misbehaves: a one-byte drip, a flood of untagged lines, a server that echoes the login line,
a recorder of CR/LF injection, an impostor TLS certificate, STARTTLS not offered, a line too long.
"""

from __future__ import annotations

import base64
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

LINE_MAX = 64 * 1024  # a client line longer than this ends the session
FLOOD_MAX = 48 * 1024 * 1024  # bytes a flood sends at most


@dataclass
class Session:
    """One client connection as a script sees it."""

    conn: socket.socket
    server: HostileServer
    received: bytearray = field(default_factory=bytearray)
    sent: int = 0
    _buffer: bytes = b""

    @property
    def alive(self) -> bool:
        return not self.server.stopping.is_set() and time.monotonic() < self.server.ends_at

    def send(self, data: bytes) -> bool:
        """False when the client has gone (or has not read for 5 s)."""
        try:
            self.conn.settimeout(5)  # poll() leaves a tiny timeout behind: a full buffer is not a client gone
            self.conn.sendall(data)
        except OSError:
            return False
        self.sent += len(data)
        return True

    def poll(self, wait: float = 0.0) -> bool:
        """Take what the client sent within `wait` seconds (recorded); False when it has gone."""
        self.conn.settimeout(max(wait, 0.001))
        try:
            data = self.conn.recv(65536)
        except (TimeoutError, ssl.SSLWantReadError):
            return True
        except OSError:
            return False
        if not data:
            return False
        self.received += data
        self._buffer += data
        return True

    def readline(self) -> bytes | None:
        """The client's next line (CRLF stripped), or None when it left or the server stops."""
        while b"\n" not in self._buffer:
            if not self.alive or len(self._buffer) > LINE_MAX or not self.poll(0.1):
                return None
        line, self._buffer = self._buffer.split(b"\n", 1)
        return line.rstrip(b"\r")

    def sleep(self, seconds: float) -> bool:
        """Wait while recording; False when the client has gone or the server stops."""
        until = time.monotonic() + seconds
        while self.alive and time.monotonic() < until:
            if not self.poll(min(0.05, until - time.monotonic())):
                return False
        return self.alive


Script = Callable[[Session], None]


class HostileServer:
    """Runs `script` for each connection; with `tls`, the connection is implicit TLS."""

    def __init__(self, script: Script, tls: ssl.SSLContext | None = None, lifetime: float = 20.0):
        self.script = script
        self.tls = tls
        self.lifetime = lifetime
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.sessions: list[Session] = []
        self.stopping = threading.Event()
        self.ends_at = time.monotonic() + lifetime
        self._threads: list[threading.Thread] = []
        self._markers: set[int] = set()  # the local ports of settle()'s marker connections
        self._marker_seen = threading.Event()
        self._accept = threading.Thread(target=self._serve, name=f"hostile-{self.port}", daemon=True)

    def start(self) -> HostileServer:
        self._accept.start()
        return self

    def __enter__(self) -> HostileServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def received(self) -> bytes:
        """Everything every client sent, in order of connection."""
        return b"".join(bytes(s.received) for s in self.sessions)

    @property
    def connections(self) -> int:
        return len(self.sessions)

    def _serve(self) -> None:
        self.sock.settimeout(0.1)
        while not self.stopping.is_set() and time.monotonic() < self.ends_at:
            try:
                conn, peer = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            if peer[1] in self._markers:  # settle()'s marker: every connection before it is accepted
                conn.close()
                self._marker_seen.set()
                continue
            session = Session(conn, self)
            self.sessions.append(session)
            thread = threading.Thread(target=self._run, args=(session,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _run(self, session: Session) -> None:
        try:
            if self.tls is not None:
                session.conn.settimeout(5)
                session.conn = self.tls.wrap_socket(session.conn, server_side=True)
            self.script(session)
        except (OSError, ssl.SSLError):
            pass  # the client left, or refused our certificate: what it sent is recorded
        finally:
            try:
                session.conn.close()
            except OSError:
                pass

    def settle(self, timeout: float = 5.0) -> None:
        """Wait until the server has taken in everything clients that are done with it sent: a condition,
        not a sleep. A marker connection is accepted after every earlier one (the listen queue is first in,
        first out), so once it is seen every client's session exists; then each session's thread is waited
        for (it ends when its client has gone). After this, `received` and `connections` are final."""
        marker = socket.socket()
        marker.bind(("127.0.0.1", 0))
        self._markers.add(marker.getsockname()[1])
        self._marker_seen.clear()
        try:
            marker.connect(("127.0.0.1", self.port))
            if not self._marker_seen.wait(timeout):
                raise AssertionError(f"the server on port {self.port} accepted nothing for {timeout} s")
        finally:
            marker.close()
        deadline = time.monotonic() + timeout
        for thread in list(self._threads):
            thread.join(max(0.0, deadline - time.monotonic()))
            if thread.is_alive():
                raise AssertionError(f"a session of the server on port {self.port} is still running")

    def stop(self) -> None:
        self.stopping.set()
        self._accept.join(timeout=2)
        for thread in self._threads:
            thread.join(timeout=2)
        self.sock.close()


def server_tls(certificate) -> ssl.SSLContext:
    """A server-side TLS context presenting `certificate` (support.mailservers.TestCertificate)."""
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(certificate.cert, certificate.key)
    return ctx


# ---------------------------------------------------------------- misbehaviour, protocol by protocol


def drip(text: bytes, interval: float = 1.0) -> Script:
    """Sends `text` one byte every `interval` seconds, over and over till the lifetime (without a line
    end in `text`, a line that never ends)."""

    def script(s: Session) -> None:
        i = 0
        while s.alive:
            if not s.send(text[i % len(text):i % len(text) + 1]) or not s.sleep(interval):
                return
            i += 1

    return script


def flood(greeting: bytes, line: bytes, after: bytes = b"", reply: bytes = b"") -> Script:
    """Sends the greeting; with `after`, waits for the client's command of that name and sends `reply`;
    then floods `line` (up to FLOOD_MAX bytes)."""

    def script(s: Session) -> None:
        if not s.send(greeting):
            return
        while after:
            line_in = s.readline()
            if line_in is None:
                return
            if line_in.upper().startswith(after):
                s.send(reply)
                break
            s.send(b"+OK\r\n")
        chunk = line * max(1, 65536 // len(line))
        while s.alive and s.sent < FLOOD_MAX:
            if not s.send(chunk):
                return
            s.poll()

    return script


def imap(capabilities: str = "IMAP4rev1 AUTH=PLAIN", login: Callable[[bytes, bytes], bytes] | None = None) -> Script:
    """Just enough IMAP: CAPABILITY, LOGIN / AUTHENTICATE (answered by `login(tag, what)`; by default
    OK), SELECT/EXAMINE, STARTTLS refused, LOGOUT."""

    def script(s: Session) -> None:
        s.send(f"* OK [CAPABILITY {capabilities}] hostile IMAP ready\r\n".encode())
        while (line := s.readline()) is not None:
            tag, _, rest = line.partition(b" ")
            command = rest.split(b" ", 1)[0].upper()
            if command == b"CAPABILITY":
                s.send(f"* CAPABILITY {capabilities}\r\n".encode() + tag + b" OK done\r\n")
            elif command == b"LOGIN":
                s.send(login(tag, line) if login else tag + b" OK logged in\r\n")
            elif command == b"AUTHENTICATE":
                s.send(b"+ \r\n")
                blob = s.readline()
                if blob is None:
                    return
                s.send(login(tag, blob) if login else tag + b" OK logged in\r\n")
            elif command in (b"SELECT", b"EXAMINE"):
                s.send(b"* 0 EXISTS\r\n" + tag + b" OK [READ-ONLY] done\r\n")
            elif command == b"STARTTLS":
                s.send(tag + b" NO not today\r\n")
            elif command == b"LOGOUT":
                s.send(b"* BYE\r\n" + tag + b" OK bye\r\n")
                return
            else:
                s.send(tag + b" BAD unknown command\r\n")

    return script


def pop3(capabilities: tuple[str, ...] = ("USER",), password: Callable[[bytes], bytes] | None = None) -> Script:
    """Just enough POP3: CAPA, USER, PASS (answered by `password(line)`; by default +OK), STAT, QUIT."""

    def script(s: Session) -> None:
        s.send(b"+OK hostile POP3 ready\r\n")
        while (line := s.readline()) is not None:
            command = line.split(b" ", 1)[0].upper()
            if command == b"CAPA":
                s.send(b"+OK\r\n" + b"".join(c.encode() + b"\r\n" for c in capabilities) + b".\r\n")
            elif command == b"USER":
                s.send(b"+OK\r\n")
            elif command == b"PASS":
                s.send(password(line) if password else b"+OK signed in\r\n")
            elif command == b"STAT":
                s.send(b"+OK 0 0\r\n")
            elif command == b"QUIT":
                s.send(b"+OK bye\r\n")
                return
            else:
                s.send(b"-ERR unknown command\r\n")

    return script


def smtp(extensions: tuple[str, ...] = ("AUTH PLAIN LOGIN",), auth: Callable[[bytes], bytes] | None = None,
         greeting: bytes = b"220 hostile SMTP ready\r\n") -> Script:
    """Just enough SMTP: EHLO with `extensions`, AUTH (answered by `auth(what the client sent)`; by
    default 235), STARTTLS refused, QUIT."""

    def script(s: Session) -> None:
        s.send(greeting)
        while (line := s.readline()) is not None:
            command = line.split(b" ", 1)[0].upper()
            if command in (b"EHLO", b"HELO"):
                lines = ["hostile.example", *extensions]
                s.send("".join(f"250{'-' if i < len(lines) - 1 else ' '}{text}\r\n"
                               for i, text in enumerate(lines)).encode())
            elif command == b"AUTH":
                what = line
                parts = line.split()
                if len(parts) == 2 and parts[1].upper() == b"LOGIN":  # user, then password, each base64
                    s.send(b"334 VXNlcm5hbWU6\r\n")
                    user = s.readline()
                    s.send(b"334 UGFzc3dvcmQ6\r\n")
                    password = s.readline()
                    if user is None or password is None:
                        return
                    what = line + b" " + user + b" " + password
                elif len(parts) == 2:  # PLAIN without an initial response
                    s.send(b"334 \r\n")
                    blob = s.readline()
                    if blob is None:
                        return
                    what = line + b" " + blob
                s.send(auth(what) if auth else b"235 2.7.0 accepted\r\n")
            elif command == b"STARTTLS":
                s.send(b"454 4.7.0 not today\r\n")
            elif command == b"QUIT":
                s.send(b"221 bye\r\n")
                return
            else:
                s.send(b"502 5.5.2 unknown command\r\n")

    return script


def with_base64_decoded(received: bytes) -> bytes:
    """What a client sent, followed by every base64 word in it decoded: AUTH PLAIN and AUTH LOGIN
    (SMTP, IMAP AUTHENTICATE) carry user names and passwords that way."""
    out = [received]
    for word in received.split():
        try:
            out.append(base64.b64decode(word, validate=True))
        except ValueError:
            continue
    return b" ".join(out)
