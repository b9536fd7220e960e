"""Test Connection for a server profile, and pinning a self-signed certificate after seeing it."""

from __future__ import annotations

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from ...domain.findings import RuleViolation
from ...mailtest.connection import certificate_of, test_connection
from ...store import services
from ...store.database import StoreError
from ..input_queue import GuardsTypeahead


class ConnectionDialog(GuardsTypeahead, ModalScreen[None]):
    """`y` pins only a certificate the admin has seen: keys typed before it was shown are ignored."""

    DEFAULT_CSS = """
    ConnectionDialog { align: center middle; }
    ConnectionDialog > Vertical { width: 100%; max-width: 100; height: 80%; border: thick $primary;
                                  background: $surface; padding: 0 1; }
    ConnectionDialog #connection { height: 1fr; }
    """
    BINDINGS = [
        Binding("escape,q", "dismiss", "Close", id="close"),
        Binding("p", "show_certificate", "Show certificate to pin", id="show_certificate"),
        Binding("y", "pin", "Pin it", show=False, id="pin"),
    ]

    def __init__(self, profile_id: int) -> None:
        super().__init__()
        self.profile_id = profile_id
        self.checks = []
        self.certificate = None  # (direction, ProbeResult) offered for pinning

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static("[b]Test Connection[/b]", markup=True)
            with VerticalScroll(id="connection"):
                yield Static("Connecting… (each server's test is bounded by the profile's timeout)", id="connection-text")
            yield Static("Escape: close", id="connection-keys")

    def on_mount(self) -> None:
        self.run_checks()

    @work(thread=True, exclusive=True, group="connection", exit_on_error=False)
    def run_checks(self) -> None:
        store = self.app.store
        try:
            checks = test_connection(store, self.profile_id)
        finally:
            store.db.close()
        self.app.call_from_thread(self._show, checks)

    def _show(self, checks) -> None:
        self.checks = checks
        lines = []
        for c in checks:
            where = c.endpoint.label if c.endpoint else c.direction.title()
            if c.result is None:
                lines.append(f"{where}: {c.note}")
                continue
            r = c.result
            mark = "✓" if r.ok else "✗"
            lines.append(f"{mark} {where}: {r.message} ({r.elapsed:.2f} s)")
            if r.tls_version:
                lines.append(f"    TLS {r.tls_version}"
                             + (f", certificate {r.certificate.subject}, valid until {r.certificate.not_after:%Y-%m-%d}"
                                if r.certificate else ""))
        self.query_one("#connection-text", Static).update("\n".join(lines))
        keys = "Escape: close"
        if any(c.untrusted_certificate for c in checks):
            keys = "p: show the server's certificate, to compare and pin it · " + keys
        self.query_one("#connection-keys", Static).update(keys)

    def action_show_certificate(self) -> None:
        check = next((c for c in self.checks if c.untrusted_certificate), None)
        if check is not None:
            self.fetch(check.direction, check.endpoint)

    @work(thread=True, exclusive=True, group="connection", exit_on_error=False)
    def fetch(self, direction: str, endpoint) -> None:
        result = certificate_of(endpoint)
        self.app.call_from_thread(self._offer, direction, result)

    def _offer(self, direction: str, result) -> None:
        if not result.ok or result.certificate is None:
            self.notify(result.message, severity="error", timeout=10)
            return
        cert = result.certificate
        self.certificate = (direction, cert)
        self.query_one("#connection-text", Static).update(
            f"The {direction} server presents:\n  subject {cert.subject}\n  issuer  {cert.issuer}\n"
            f"  valid   {cert.not_before:%Y-%m-%d} to {cert.not_after:%Y-%m-%d}\n"
            f"  SHA-256 {cert.sha256_colons}\n\n"
            "Compare the SHA-256 with one you got from the server's owner. Pinning trusts exactly this "
            "certificate for this profile; verification stays on for everything else.")
        self.query_one("#connection-keys", Static).update("y: pin this certificate · Escape: close")
        self.mark_shown()

    def action_pin(self) -> None:
        if self.certificate is None:
            return
        direction, cert = self.certificate
        store = self.app.store
        base = services.get_profile(store, self.profile_id)
        draft = base.copy(**{f"{direction}_cert_sha256": cert.sha256})
        try:
            services.update_profile(store, base, draft)
        except (StoreError, RuleViolation) as exc:  # another admin saved the profile meanwhile, or a rule
            self.notify(f"Not pinned: {exc}", severity="error", timeout=10)
            return
        self.notify(f"Pinned the {direction} server's certificate (SHA-256 {cert.sha256[:16]}…).")
        self.certificate = None
        self.query_one("#connection-text", Static).update("Testing again…")
        self.run_checks()
