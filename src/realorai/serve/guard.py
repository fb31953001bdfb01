"""Who may talk to the server: Host names (against DNS rebinding) and cross-site posts.

A keyless server bound to loopback trusts everything on this machine, and a web page in the
user's browser is on this machine too: a page whose host name is made to resolve to 127.0.0.1
(DNS rebinding) could read the API, and any page could post a form to it. So, without a key,
only loopback host names are answered (or ``REALORAI_ALLOWED_HOSTS``), and a POST that a
browser marks cross-site, or whose ``Origin`` is another host, is refused. With a key, a
browser cannot send the ``X-API-Key`` header cross-origin without a CORS preflight that this
server never grants.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from realorai.serve.settings import LOOPBACK, ServeSettings

LOOPBACK_NAMES = {*LOOPBACK, "[::1]"}


def host_name(host_header: str) -> str:
    """``example.com:8000`` -> ``example.com``; ``[::1]:8000`` -> ``[::1]``."""
    h = host_header.strip().lower()
    if h.startswith("["):
        return h[: h.find("]") + 1] if "]" in h else h
    return h.rsplit(":", 1)[0] if h.count(":") == 1 else h


def host_allowed(settings: ServeSettings, host_header: str) -> bool:
    name = host_name(host_header)
    if settings.allowed_hosts:
        allowed = {h.strip().lower() for h in settings.allowed_hosts}
        return "*" in allowed or name in allowed
    if settings.api_key is None and settings.host in LOOPBACK:
        return name in LOOPBACK_NAMES
    return True


def cross_site(headers, settings: ServeSettings) -> bool:
    """A keyless POST that a browser sent from another site (or another host's page)."""
    if settings.api_key is not None:
        return False
    if headers.get("sec-fetch-site", "") == "cross-site":
        return True
    origin = headers.get("origin")
    if not origin or origin == "null":
        return origin == "null"  # sandboxed frames and file:// pages send "null"
    return host_name(urlsplit(origin).netloc) != host_name(headers.get("host", ""))
