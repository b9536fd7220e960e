"""Test Connection for a server profile, and pinning a self-signed certificate after seeing it.

Almost everything here is text from outside: a server's answers, a token endpoint's scopes and
identity, a certificate's subject and issuer. Each is shown on its own line, as written (ui/plain.py):
a subject holding a line break, a fake `SHA-256 …` line and `[black on black]` shows as one line
with ␊ in it, and the only SHA-256 line is the real fingerprint."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen

from ...i18n import N_, _, said, shown
from ...domain.findings import RuleViolation
from ...domain.fields import PROFILE_FIELDS, short_labels
from ...store import services
from ...store.database import ConflictError, StoreError
from ..terminal.input_queue import GuardsTypeahead
from ..messages import CertificateFetched, ConnectionChecked
from ..plain import Plain, plain, plain_lines
from ..db_trouble import GuardsDatabase


class ConnectionDialog(GuardsDatabase, GuardsTypeahead, ModalScreen[None]):
    """`y` pins only a certificate the admin has seen: keys typed before it was shown are ignored.
    The pin is saved onto the profile as it was tested: if another admin changed it meanwhile, the
    certificate may belong to another server, so nothing is pinned and the dialog says so."""

    DEFAULT_CSS = """
    ConnectionDialog { align: center middle; }
    ConnectionDialog > Vertical { width: 100%; max-width: 100; height: 80%; border: thick $primary;
                                  background: $surface; padding: 0 1; }
    ConnectionDialog #connection { height: 1fr; }
    """
    BINDINGS = [
        Binding("escape,q", "dismiss", N_("Close"), id="close"),
        Binding("p", "show_certificate", N_("Show certificate to pin"), id="show_certificate"),
        Binding("y", "pin", N_("Pin it"), show=False, id="pin"),
    ]

    def __init__(self, profile_id: int) -> None:
        super().__init__()
        self.profile_id = profile_id
        self.profile = None  # the profile as it was read for the last test
        self.checks = []
        self.certificate = None  # (direction, ProbeResult) offered for pinning

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Plain(plain("Test Connection", style="bold"))
            with VerticalScroll(id="connection"):
                yield Plain(_("Connecting… (each server's test is bounded by the profile's timeout)"), id="connection-text")
            yield Plain("Escape: close", id="connection-keys")

    def on_mount(self) -> None:
        self.run_checks()

    def run_checks(self) -> None:
        self.app.test_connection(self, self.profile_id)

    def on_connection_checked(self, message: ConnectionChecked) -> None:
        self.profile, self.checks = message.profile, message.checks
        lines = []
        for c in self.checks:
            # The explanations are English (as --json has them): said() shows them in the admin's language, the
            # servers' answers and names inside them as they came.
            where = c.endpoint.label if c.endpoint else shown(c.direction).capitalize()
            if c.result is None:
                lines.append(f"{where}: {said(c.note)}")
                continue
            r = c.result
            mark = "✓" if r.ok else "✗"
            lines.append(f"{mark} {where}: {said(r.message)} ({r.elapsed:.2f} s)")
            if r.token or c.note:  # OAuth (P14): the token's expiry, scopes and identity, never the token
                lines.append(f"    {said(r.token or c.note)}")
            if r.tls_version and r.certificate:
                lines.append("    " + _("TLS {version}, certificate {subject}, valid until {date}").format(
                    version=r.tls_version, subject=r.certificate.subject, date=f"{r.certificate.not_after:%Y-%m-%d}"))
            elif r.tls_version:
                lines.append(f"    TLS {r.tls_version}")
        self.query_one("#connection-text", Plain).update(plain_lines(lines))
        keys = _("Escape: close")
        if any(c.untrusted_certificate for c in self.checks):
            keys = _("p: show the server's certificate, to compare and pin it · {keys}").format(keys=keys)
        self.query_one("#connection-keys", Plain).update(keys)

    def action_show_certificate(self) -> None:
        check = next((c for c in self.checks if c.untrusted_certificate), None)
        if check is not None:
            self.app.fetch_certificate(self, check.direction, check.endpoint)

    def on_certificate_fetched(self, message: CertificateFetched) -> None:
        direction, result = message.direction, message.result
        if not result.ok or result.certificate is None:
            self.notify(said(result.message), severity="error", timeout=10)
            return
        cert = result.certificate
        self.certificate = (direction, cert)
        self.query_one("#connection-text", Plain).update(plain_lines([
            _("The {direction} server presents:").format(direction=shown(direction)),
            "  " + _("subject {subject}").format(subject=cert.subject),
            "  " + _("issuer  {issuer}").format(issuer=cert.issuer),
            "  " + _("valid   {start} to {end}").format(start=f"{cert.not_before:%Y-%m-%d}",
                                                      end=f"{cert.not_after:%Y-%m-%d}"),
            f"  SHA-256 {cert.sha256_colons}", "",
            _("Compare the SHA-256 with one you got from the server's owner. Pinning trusts exactly this "
              "certificate for this profile; verification stays on for everything else.")]))
        self.query_one("#connection-keys", Plain).update(_("y: pin this certificate · Escape: close"))
        self.mark_shown()

    def action_pin(self) -> None:
        if self.certificate is None or self.profile is None:
            return
        direction, cert = self.certificate
        base = self.profile
        draft = base.copy(**{f"{direction}_cert_sha256": cert.sha256})
        try:
            services.update_profile(self.app.store, base, draft)
        except ConflictError as exc:
            labels = short_labels(PROFILE_FIELDS)
            changed = ", ".join(labels.get(f, f) for f in exc.changed) or _("its state")
            self.notify(_("Not pinned: another admin changed this profile while you tested it ({fields}), so the "
                          "certificate may belong to another server; compare it again after the new test.").format(
                fields=changed), severity="error", timeout=15)
            self._test_again()
            return
        except (StoreError, RuleViolation) as exc:
            self.notify(_("Not pinned: {error}").format(error=said(str(exc))), severity="error", timeout=10)
            return
        self.notify(_("Pinned the {direction} server's certificate (SHA-256 {fingerprint}…).").format(
            direction=shown(direction), fingerprint=cert.sha256[:16]))
        self._test_again()

    def _test_again(self) -> None:
        self.certificate = None
        self.query_one("#connection-text", Plain).update(_("Testing again…"))
        self.query_one("#connection-keys", Plain).update("Escape: close")
        self.run_checks()
