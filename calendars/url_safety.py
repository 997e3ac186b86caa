"""The calendar-address rule of :mod:`cases.calendar_urls`, enforced where connections are opened.

A URL that passed the check when it was entered can still lead inside: its name may resolve to
``10.0.0.5`` (today, or only after the check: DNS rebinding), or the server may redirect to
``http://169.254.169.254/``. So, unless the host is on the allow-list:

- ICS feeds (``httpx``): :class:`GuardedTransport` resolves the host of *every* request, redirects
  included, refuses it if any address it resolves to is forbidden, and connects to the address it
  checked (the URL is rewritten to it; ``Host`` and the TLS server name stay the original name, so
  the certificate is verified for the name). Redirects are followed by the client, at most
  :data:`MAX_REDIRECTS`, each through this transport.
- CalDAV (``caldav`` opens its own ``niquests`` session): :func:`guard_niquests_session` adds a
  ``pre_send`` hook that checks the address of the connection actually opened, before the request
  (and its credentials) is written to it, and turns redirects off (a redirect is an error). The
  host is also resolved and checked before the client is built, for a clear early message.

Residual risks, accepted: name resolution itself (``getaddrinfo``) cannot be given a timeout;
proxies from the environment are not used for calendars (they would hide the peer); on the
CalDAV side the peer is checked after the TCP connection (and, for https, the TLS handshake) is
made, so a forbidden address receives a connection attempt but never a request or credentials.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any

import httpx

from calendars.base import CalendarSourceError
from cases.calendar_urls import AllowedHosts, forbidden_reason

#: Redirect hops an ICS feed may take (Google and Outlook use at most one or two).
MAX_REDIRECTS = 5


class UnsafeAddress(CalendarSourceError):
    """A calendar host resolved, or a connection went, to an address that may not be read."""


class UnresolvedHost(CalendarSourceError):
    """A calendar host name does not resolve."""


def check_address(host: str, address: str) -> None:
    """:raises UnsafeAddress: ``address`` (what ``host`` resolved to) is forbidden."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError as exc:
        raise UnsafeAddress(f"{host} resolved to {address!r}, which is not an IP address") \
            from exc
    reason = forbidden_reason(ip)
    if reason is not None:
        shown = host if host == address else f"{host} resolves to {address}, which"
        raise UnsafeAddress(f"{shown} is {reason}; calendars are read only from public "
                            f"addresses (or hosts in CMP_CALENDAR_ALLOWED_HOSTS)")


def resolve_checked(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to, in resolver order, all of them allowed.

    :raises UnsafeAddress: one of them is forbidden (even if another is not).
    :raises UnresolvedHost: the name does not resolve.
    """
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise UnresolvedHost(f"calendar host {host} could not be resolved") from exc
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if not addresses:
        raise UnresolvedHost(f"calendar host {host} could not be resolved")
    for address in addresses:
        check_address(host, address)
    return addresses


def pinned_request(request: httpx.Request, address: str) -> httpx.Request:
    """``request`` sent to ``address`` (the one checked) instead of a new look-up of its host:
    the ``Host`` header stays the name, and so does the TLS server name, so the certificate is
    verified for the name (the ``sni_hostname`` request extension of ``httpx``)."""
    extensions = dict(request.extensions)
    if request.url.scheme == "https":
        extensions["sni_hostname"] = request.url.host
    return httpx.Request(request.method, request.url.copy_with(host=address),
                         headers=request.headers, stream=request.stream, extensions=extensions)


class GuardedTransport(httpx.BaseTransport):
    """An ``httpx`` transport that only connects to allowed addresses (see the module doc).

    Wraps ``inner`` (a fresh ``httpx.HTTPTransport`` by default) and closes it with itself.
    """

    def __init__(self, allowed: AllowedHosts, inner: httpx.BaseTransport | None = None) -> None:
        self._allowed = allowed
        self._inner = inner or httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        if url.scheme not in ("http", "https") or not url.host:
            raise UnsafeAddress(f"calendar request to {url.scheme}:// without a host refused")
        port = url.port or (443 if url.scheme == "https" else 80)
        if self._allowed.allows(url.host, port):
            return self._inner.handle_request(request)
        return self._inner.handle_request(pinned_request(request, resolve_checked(url.host,
                                                                                  port)[0]))

    def close(self) -> None:
        self._inner.close()


def guarded_client(allowed: AllowedHosts, *, timeout: float,
                   transport: httpx.BaseTransport | None = None) -> httpx.Client:
    """An ``httpx.Client`` whose every request (redirects included) goes through the guard."""
    return httpx.Client(transport=GuardedTransport(allowed, transport), timeout=timeout,
                        follow_redirects=True, max_redirects=MAX_REDIRECTS, trust_env=False)


def guard_niquests_session(session: Any, allowed: AllowedHosts) -> None:
    """Make a ``niquests.Session`` refuse forbidden peers and redirects (see the module doc).

    :raises TypeError: ``session`` is not a ``niquests.Session`` (the hook needs its
        ``pre_send`` event and connection information).
    """
    import niquests

    if not isinstance(session, niquests.Session):
        raise TypeError(f"cannot guard a {type(session).__name__}: niquests.Session expected")

    def check_peer(request: Any, **_: Any) -> None:
        target = httpx.URL(str(request.url))
        port = target.port or (443 if target.scheme == "https" else 80)
        if allowed.allows(target.host, port):
            return
        info = request.conn_info
        peer = info.destination_address if info is not None else None
        if peer is None:
            raise UnsafeAddress(f"the address {target.host} connected to is unknown: refused")
        check_address(target.host, str(peer[0]))

    session.hooks["pre_send"].append(check_peer)
    session.max_redirects = 0
    session.trust_env = False
