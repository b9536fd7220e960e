"""OAuth Test & Enable benchmark (P14): mailboxes per second and token requests, against the real
dovecot (`passdb oauth2`), aiosmtpd (XOAUTH2) and the test token endpoint. Prints its figures.

    .venv/bin/python benchmarks/oauth_bench.py [--mailboxes 500] [--concurrency 32] [--addresses 4]

Three runs over the same number of mailboxes, each IMAP over implicit TLS (token step, AUTHENTICATE,
EXAMINE INBOX) plus SMTP over implicit TLS (EHLO, AUTH), results written to SQLite:
- password: the profile authenticates with the mailbox's password (the baseline);
- Microsoft: OAuth (7), client credentials with a client secret: an app-only token names no mailbox,
  so the run should ask for one token in all;
- Google: Gmail OAuth (5), a service account acting for each address: one token per address.
"Token requests" is what the endpoint received; the per-run cache is what keeps it small.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # tests/support starts the servers and the token endpoint


def start_world(folder: Path):
    """The OAuth test world of tests/support/oauth.py, outside pytest."""
    from support.mailservers import MAIL_USERS, make_certificate
    from support.oauth import (APP_CLIENT_ID, APP_MAILBOXES, APP_SECRET, SERVICE_ACCOUNT_EMAIL, TENANT_DOMAIN,
                               TENANT_ID)
    from support.oauth_endpoint import AppRegistration, Registry, ServiceAccount, TokenEndpoint
    from support.oauth_mail import MailboxPermissions, OAuthDovecot, OAuthSmtpServers
    from support.oauth_tokens import TokenAuthority, make_ca, make_server_certificate

    mail_certificate = make_certificate(folder)
    authority = TokenAuthority()
    ca = make_ca(folder, "bench OAuth CA")
    bundle = folder / "bundle.pem"
    bundle.write_text(ca.cert.read_text() + mail_certificate.cert.read_text())
    os.environ["SSL_CERT_FILE"] = str(bundle)
    registry = Registry()
    registry.add_app(AppRegistration(APP_CLIENT_ID, TENANT_ID, TENANT_DOMAIN, secret=APP_SECRET))
    account = registry.add_service_account(ServiceAccount(SERVICE_ACCOUNT_EMAIL, "104729318655201234567",
                                                          "mailbox-tui-bench", TENANT_DOMAIN))
    endpoint = TokenEndpoint(authority, make_server_certificate(folder, ca, "token-endpoint"), registry).start()
    permissions = MailboxPermissions(folder / "app-mailboxes", APP_MAILBOXES)
    dovecot = OAuthDovecot(MAIL_USERS, mail_certificate, authority, permissions, tenant_id=TENANT_ID).start()
    smtp = OAuthSmtpServers(MAIL_USERS, mail_certificate, authority, permissions, tenant_id=TENANT_ID).start()
    return endpoint, account, dovecot, smtp


def seed(store, profile_values: dict, count: int, addresses: list[str], passwords: dict[str, str]) -> list[int]:
    from support import builders

    from mailbox_tui.domain.options import IncomingMethod, OutgoingMethod
    from mailbox_tui.domain.records import PasswordEdit
    from mailbox_tui.store import services

    profile = builders.imap_profile(store, profile_values.pop("name"), **profile_values)
    password_login = profile.auth_method == 0
    ids = []
    for i in range(count):
        _, box = builders.user(store, f"{profile.name} {i:04d}", f"{profile.name.split()[0].lower()}{i}@example.com")
        address = addresses[i % len(addresses)]
        saved = services.update_mailbox(store, box, box.copy(
            profile_id=profile.id, incoming=IncomingMethod.SERVER_SIDE_SYNC, outgoing=OutgoingMethod.SERVER_SIDE_SYNC,
            allow_credentials=password_login, username=address,
            password=PasswordEdit(new=passwords[address]) if password_login else PasswordEdit()))
        ids.append(saved.id)
    services.set_approval(store, ids, True)
    return ids


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mailboxes", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--addresses", type=int, default=4, help="distinct addresses the mailboxes sign in as (1-4)")
    args = parser.parse_args(argv)

    from cryptography.fernet import Fernet
    from support.mailservers import MAIL_USERS, _shared_dir, dovecot_available
    from support.oauth import APP_CLIENT_ID, APP_SECRET, TENANT_ID

    from mailbox_tui.domain.options import AuthMethod, TlsMode
    from mailbox_tui.domain.records import PasswordEdit
    from mailbox_tui.mailtest.runner import run_tests
    from mailbox_tui.store.database import Store

    reason = dovecot_available()
    if reason:
        raise SystemExit(f"benchmark needs dovecot: {reason}")
    os.environ.setdefault("MAILBOX_TUI_KEY", Fernet.generate_key().decode())
    folder = _shared_dir("mailbox-tui-oauth-bench-")
    endpoint, account, dovecot, smtp = start_world(folder)
    addresses = ["alice@example.com", "bob@example.com", "forward@example.com", "zoe@example.com"][:args.addresses]
    common = dict(incoming_location="127.0.0.1", outgoing_location="127.0.0.1", incoming_tls=TlsMode.IMPLICIT,
                  outgoing_tls=TlsMode.IMPLICIT, incoming_port=dovecot.imaps, outgoing_port=smtp.implicit,
                  max_concurrent_connections=300, timeout_seconds=30)
    kinds = {
        "password": dict(name="Password IMAP", **common),
        "Microsoft (7, secret)": dict(name="Microsoft 365", auth_method=AuthMethod.OAUTH, oauth_client_id=APP_CLIENT_ID,
                                      oauth_client_secret=PasswordEdit(new=APP_SECRET), oauth_tenant_id=TENANT_ID,
                                      oauth_token_endpoint=endpoint.token_url(TENANT_ID), **common),
        "Google (5, service account)": dict(
            name="Google Workspace", auth_method=AuthMethod.GMAIL_OAUTH,
            oauth_service_account_key=PasswordEdit(new=account.key_json(endpoint.google_token_url)), **common),
    }
    print(f"{args.mailboxes} mailboxes per run, {len(addresses)} address(es), concurrency {args.concurrency}, "
          f"IMAP + SMTP over implicit TLS on 127.0.0.1")
    try:
        for label, values in kinds.items():
            with tempfile.TemporaryDirectory() as tmp:
                store = Store(f"sqlite:///{Path(tmp) / 'bench.db'}")
                ids = seed(store, dict(values), args.mailboxes, addresses, MAIL_USERS)
                endpoint.reset()
                started = time.perf_counter()
                report = run_tests(store, ids, concurrency=args.concurrency)
                elapsed = time.perf_counter() - started
                requests = sum(endpoint.request_counts().values())
                store.close()
            print(f"  {label:28} {args.mailboxes / elapsed:7.1f} mailboxes/s  ({elapsed:5.1f} s; "
                  f"{report.successes} succeeded, {report.failures} failed)  token requests: {requests}")
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"  peak RSS of this process: {peak:.0f} MB")
    finally:
        smtp.stop()
        dovecot.stop()
        endpoint.stop()


if __name__ == "__main__":
    main()
