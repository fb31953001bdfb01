"""Connections before a request exists: a deadline for the request's headers, a cap on open
connections with a clean refusal, and one log line per cause instead of one per event.

uvicorn closes a connection that idles between requests (keep-alive) but not one that sends its
headers a byte a second: 300 such clients held 300 sockets until the process ran out of file
descriptors, and every refused ``accept`` logged a traceback (50 MB of log in 20 s). The
protocol here closes a connection whose request line and headers have not all arrived within
``header_timeout_s`` (408), and answers 503 with ``Retry-After`` to any connection beyond
``max_connections`` (never more than the process's file-descriptor limit allows) as soon as it
opens, before reading anything from it.
"""

from __future__ import annotations

import logging
import resource
import time

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

FD_MARGIN = 64  # descriptors kept for files, the model and logs


def _reply(status: str, retry_after: int | None = None) -> bytes:
    extra = f"Retry-After: {retry_after}\r\n" if retry_after else ""
    return (f"HTTP/1.1 {status}\r\n{extra}Content-Length: 0\r\nConnection: close\r\n\r\n").encode()


def connection_cap(wanted: int) -> int:
    """At most ``wanted`` connections, and never more than the descriptors left to the process."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return wanted
    return max(1, min(wanted, soft - FD_MARGIN))


def guarded_protocol(header_timeout_s: float, max_connections: int, retry_after_s: int) -> type:
    """An H11 protocol class with these limits (uvicorn's ``http`` option takes a class)."""

    class GuardedH11(H11Protocol):
        def connection_made(self, transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._header_timer = None
            if len(self.connections) > max_connections:
                logging.getLogger("uvicorn.error").warning(
                    "refused a connection: %d open, the cap is %d (REALORAI_MAX_CONNECTIONS)",
                    len(self.connections) - 1, max_connections,
                )  # fmt: skip
                transport.write(_reply("503 Service Unavailable", retry_after_s))
                transport.close()
                return
            self._arm()

        def _arm(self) -> None:
            self._disarm()
            self._header_timer = self.loop.call_later(header_timeout_s, self._headers_too_slow)

        def _disarm(self) -> None:
            timer = getattr(self, "_header_timer", None)
            if timer is not None:
                timer.cancel()
                self._header_timer = None

        def _headers_too_slow(self) -> None:
            self._header_timer = None
            if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
                logging.getLogger("uvicorn.error").warning(
                    "closed a connection whose request headers did not arrive within %g s "
                    "(REALORAI_HEADER_TIMEOUT_S)", header_timeout_s,
                )  # fmt: skip
                self.transport.write(_reply("408 Request Timeout"))
                self.transport.close()

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            if self.conn.their_state is not h11.IDLE:  # the request's headers are in
                self._disarm()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            self._arm()  # the next request on this connection has the same deadline

        def connection_lost(self, exc) -> None:
            self._disarm()
            super().connection_lost(exc)

    return GuardedH11


class OncePerCause(logging.Filter):
    """Lets the first record of each message template through per ``window_s`` seconds and
    counts the others; the next one let through says how many were held back. Tracebacks of the
    same cause (a refused ``accept`` when descriptors run out) are shown once, not per event."""

    def __init__(self, window_s: float = 60.0) -> None:
        super().__init__()
        self.window_s = window_s
        self._last: dict[tuple[str, str], float] = {}
        self._held: dict[tuple[str, str], int] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        key = (record.name, str(record.msg))
        now = time.monotonic()
        if now - self._last.get(key, -1e9) < self.window_s:
            self._held[key] = self._held.get(key, 0) + 1
            return False
        self._last[key] = now
        held = self._held.pop(key, 0)
        if held:
            record.msg = f"{record.msg} (and {held} more like it in the last {self.window_s:g} s)"
        return True


def install_log_filter(window_s: float = 60.0) -> OncePerCause:
    """One line per cause on the loggers that repeat per event (uvicorn's, asyncio's accept errors)."""
    f = OncePerCause(window_s)
    for name in ("uvicorn.error", "asyncio"):
        logger = logging.getLogger(name)
        if not any(isinstance(x, OncePerCause) for x in logger.filters):
            logger.addFilter(f)
    return f


def uvicorn_options(settings) -> dict:
    """How ``realorai serve`` runs uvicorn with these settings."""
    cap = connection_cap(settings.max_connections)
    return {
        "host": settings.host,
        "port": settings.port,
        "log_level": "info",
        "http": guarded_protocol(settings.header_timeout_s, cap, settings.retry_after_s),
        "timeout_keep_alive": 5,
    }
