"""TLS: always verified with the system's trust store and the host name, or a pinned certificate
compared by its SHA-256 fingerprint after the handshake (rule P13); never switched off."""

from __future__ import annotations

import os
import ssl
from functools import lru_cache

from ...i18n import say
from .results import Endpoint


def bad_pin_message(ep: Endpoint) -> str:
    return say("The certificate pin for {where} in the profile is not a SHA-256 fingerprint: a pin is exactly 64 "
               "hex digits (colons and spaces allowed). Nothing was sent. Fetch the server's certificate and pin it "
               "again, or clear the pin (rule P13).", where=ep.address)


@lru_cache(maxsize=8)
def _verified_context(cafile_env: str | None, capath_env: str | None) -> ssl.SSLContext:
    # Loading the trust store costs ~20 ms; one context serves every thread. The cache key is
    # what OpenSSL reads to find the store, so a changed SSL_CERT_FILE takes effect.
    return ssl.create_default_context()


def verified_context() -> ssl.SSLContext:
    """The system's trust store, host names checked."""
    return _verified_context(os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"))


@lru_cache(maxsize=1)
def unverified_context() -> ssl.SSLContext:
    """For a pinned certificate (compared by fingerprint after the handshake) or for fetching one."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx
