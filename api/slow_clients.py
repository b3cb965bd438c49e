"""Slow clients are cut off (slowloris): uvicorn's HTTP protocol with a deadline for the headers.

uvicorn (httptools) has no deadline for a request's line and headers: its keep-alive timer is
cancelled by any byte received, so a client that sends one header byte every few seconds holds a
connection (and its memory) for ever, and an opened connection that sends nothing is never timed
out at all. This protocol gives every request `header_timeout` seconds, counted from the
connection (or from the previous response), for its line and headers, and at most
`max_header_bytes` of them: otherwise it answers 408 or 431 and closes the connection. The body
has its own deadline in api/middleware.py (TRIAGE_BODY_TIMEOUT_SECONDS).
"""

from __future__ import annotations

import functools
import logging

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

log = logging.getLogger("triage.api")

_408 = b"HTTP/1.1 408 Request Timeout\r\ncontent-type: text/plain\r\ncontent-length: 27\r\nconnection: close\r\n\r\n" \
       b"request headers too slow.\r\n"
_431 = b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-type: text/plain\r\ncontent-length: 26\r\n" \
       b"connection: close\r\n\r\nrequest headers too large\n"


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    def __init__(self, *args, header_timeout: float, max_header_bytes: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.header_timeout = header_timeout
        self.max_header_bytes = max_header_bytes
        self._header_timer = None
        self._header_bytes = 0
        self._awaiting_headers = False

    def _await_headers(self) -> None:
        self._stop_header_timer()
        self._awaiting_headers = True
        self._header_bytes = 0
        self._header_timer = self.loop.call_later(self.header_timeout, self._headers_too_slow)

    def _stop_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _reject(self, response: bytes, why: str) -> None:
        self._stop_header_timer()
        self._awaiting_headers = False
        if not self.transport.is_closing():
            log.warning("connection closed: %s", why)
            self.transport.write(response)
            self.transport.close()

    def _headers_too_slow(self) -> None:
        self._header_timer = None
        if self._awaiting_headers:
            self._reject(_408, f"request headers did not arrive within {self.header_timeout:g} s")

    def connection_made(self, transport) -> None:
        super().connection_made(transport)
        self._await_headers()

    def connection_lost(self, exc) -> None:
        self._stop_header_timer()
        self._awaiting_headers = False
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._awaiting_headers:
            end = data.find(b"\r\n\r\n")  # the bytes up to the end of the headers, if they end here
            self._header_bytes += len(data) if end < 0 else end + 4
            if self._header_bytes > self.max_header_bytes:
                self._reject(_431, f"request headers larger than {self.max_header_bytes} bytes")
                return
        super().data_received(data)

    def on_headers_complete(self) -> None:
        self._stop_header_timer()
        self._awaiting_headers = False
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._await_headers()  # the next request on this keep-alive connection


def protocol(settings) -> functools.partial:
    """uvicorn's `http` option for these settings (a picklable factory, also for workers)."""
    return functools.partial(GuardedHttpToolsProtocol, header_timeout=settings.header_timeout_seconds,
                             max_header_bytes=settings.max_header_bytes)
