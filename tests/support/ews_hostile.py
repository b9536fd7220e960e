"""The test EWS server's hostile answers (issue 23): a drip, a flood, and an XML bomb (docs/testing-ews.md)."""

from __future__ import annotations

import threading

SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
FLOOD_MAX = 8 * 1024 * 1024
BILLION_LAUGHS = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
                  + b"".join(b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10)
                             for i in range(1, 10))
                  + b']><s:Envelope xmlns:s="' + SOAP.encode() + b'"><s:Body>&lol9;</s:Body></s:Envelope>')


def drip(handler, status: int, payload: bytes, interval: float, release: threading.Event) -> None:
    """The answer one byte at a time, `interval` apart, until the test ends."""
    data = (f"HTTP/1.1 {status} OK\r\nContent-Type: text/xml\r\nContent-Length: {len(payload)}\r\n\r\n"
            .encode() + payload)
    for index in range(len(data)):
        if release.is_set():
            break
        try:
            handler.wfile.write(data[index:index + 1])
            handler.wfile.flush()
        except OSError:
            break
        release.wait(interval)
    handler.close_connection = True


def flood(handler, release: threading.Event) -> None:
    """An endless SOAP answer (at most FLOOD_MAX bytes), its Content-Length a lie."""
    try:
        handler.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: 999999999\r\n\r\n"
                            b'<s:Envelope xmlns:s="' + SOAP.encode() + b'"><s:Body>')
        chunk = b"<t:Folder>" + b"A" * 1000 + b"</t:Folder>"
        sent = 0
        while sent < FLOOD_MAX and not release.is_set():
            handler.wfile.write(chunk * 64)
            sent += len(chunk) * 64
    except OSError:
        pass
    handler.close_connection = True
