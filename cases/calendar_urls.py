"""Which calendar addresses the service may read: public http(s) hosts, never its own network.

A mediator's calendar URL is typed by staff (CLI, API, CSV import), and the service then fetches
it from inside the agency's network. Without a rule, a URL to ``127.0.0.1``, ``10.0.0.5`` or the
cloud metadata address ``169.254.169.254`` makes the service read (and show, in an error) what
only the inside can see. The rule, applied when a URL is entered (here, without any network
look-up) and again when a connection is opened (``calendars.url_safety``, after DNS and for every
redirect):

- only ``http``/``https`` URLs with a host (``webcal://`` feeds are read as ``https://``);
- no address that is loopback, private, link-local, unspecified, multicast, reserved or otherwise
  not publicly routable (IPv4-mapped IPv6 addresses are judged by the IPv4 address they carry;
  the legacy IPv4 spellings ``127.1`` and ``2130706433`` count as the address they mean);
- unless the host is on the allow-list (``CMP_CALENDAR_ALLOWED_HOSTS``): entries ``host`` (any
  port) or ``host:port`` (``[v6]:port`` for IPv6), for a CalDAV server on the agency's own
  network. An allowed host is trusted as named, on any address.

Pure and stdlib-only, so that the domain can refuse a bad URL where it is entered. A host *name*
(``localhost``, ``intranet.example.org``) is judged when it is resolved, at connect time.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import SplitResult, unquote, urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_DEFAULT_PORTS = {"http": 80, "https": 443}


class UnsafeCalendarUrl(ValueError):
    """The URL may not be read: the message says why, naming the host but never the path."""


def forbidden_reason(address: IPAddress) -> str | None:
    """Why a calendar may not be read from ``address`` ("a loopback address"), or None."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour or (
            address.teredo[1] if address.teredo else None)
        if embedded is not None:
            reason = forbidden_reason(embedded)
            return f"{reason[:-len(' address')]} IPv4 address in IPv6" if reason else None
    for test, name in ((address.is_unspecified, "an unspecified"),
                       (address.is_loopback, "a loopback"),
                       (address.is_link_local, "a link-local"),
                       (address.is_multicast, "a multicast"),
                       (address.is_private, "a private"),
                       (address.is_reserved, "a reserved")):
        if test:
            return f"{name} address"
    if not address.is_global:
        return "a non-public address"
    return None


def literal_address(host: str) -> IPAddress | None:
    """The IP address ``host`` spells (with the legacy IPv4 forms), or None for a name."""
    bare = unquote(host).strip("[]").split("%", 1)[0]
    try:
        return ipaddress.ip_address(bare)
    except ValueError:
        pass
    if bare and all(c in "0123456789abcdefx." for c in bare.lower()):
        try:  # 127.1, 0x7f.1, 2130706433: what the C resolver would connect to
            return ipaddress.IPv4Address(socket.inet_aton(bare))
        except OSError:
            return None
    return None


@dataclass(frozen=True, slots=True)
class AllowedHosts:
    """The allow-list: ``(host, port or None)`` pairs, hosts lower-case without a trailing dot."""

    entries: frozenset[tuple[str, int | None]] = frozenset()

    @classmethod
    def parse(cls, entries: Iterable[str]) -> AllowedHosts:
        """:raises ValueError: an entry is not ``host`` or ``host:port``."""
        parsed: set[tuple[str, int | None]] = set()
        for raw in entries:
            entry = raw.strip().lower()
            if any(c in entry for c in "/@?# "):
                raise ValueError(f"allowed calendar host {raw!r} is not a host or host:port")
            host, port_text = entry, ""
            if entry.startswith("["):
                host, _, rest = entry[1:].partition("]")
                if rest and not rest.startswith(":"):
                    raise ValueError(f"allowed calendar host {raw!r} is not like [::1]:5232")
                port_text = rest[1:]
            elif entry.count(":") == 1:
                host, port_text = entry.split(":")
            host = host.rstrip(".")
            if not host:
                raise ValueError(f"allowed calendar host {raw!r} is not a host or host:port")
            if port_text and not (port_text.isdigit() and 0 < int(port_text) < 65536):
                raise ValueError(f"allowed calendar host {raw!r} has a bad port")
            parsed.add((host, int(port_text) if port_text else None))
        return cls(frozenset(parsed))

    def allows(self, host: str, port: int) -> bool:
        name = unquote(host).strip("[]").lower().rstrip(".")
        return (name, None) in self.entries or (name, port) in self.entries


#: The default: no host is allowed on a non-public address.
NO_ALLOWED_HOSTS = AllowedHosts()


def _parts(url: str) -> SplitResult:
    parts = urlsplit(url.strip())
    if parts.scheme.lower() == "webcal":
        parts = urlsplit("https://" + url.strip()[len("webcal://"):])
    return parts


def url_port(parts: SplitResult) -> int:
    """The port a URL connects to. :raises UnsafeCalendarUrl: the port is not a number."""
    try:
        port = parts.port
    except ValueError as exc:
        raise UnsafeCalendarUrl(f"the port of {parts.hostname or '?'} is not a number") from exc
    return port if port is not None else _DEFAULT_PORTS.get(parts.scheme.lower(), 0)


def check_calendar_url(url: str, allowed: AllowedHosts = NO_ALLOWED_HOSTS, *,
                       webcal: bool = False) -> str:
    """``url`` if it may be read (``webcal://`` allowed when ``webcal``), without network I/O.

    :raises UnsafeCalendarUrl: with a message for staff naming the host, never the path (a
        feed's path is its secret).
    """
    text = url.strip()
    scheme = urlsplit(text).scheme.lower()
    allowed_schemes = ("http", "https", "webcal") if webcal else ("http", "https")
    if scheme not in allowed_schemes:
        shown = " or ".join(f"{s}://" for s in allowed_schemes)
        raise UnsafeCalendarUrl(f"must start with {shown} (got {scheme + '://' if scheme else text[:12]!r})")
    parts = _parts(text)
    host = parts.hostname
    if not host:
        raise UnsafeCalendarUrl("has no host name (like https://calendar.example.org/...)")
    port = url_port(parts)
    if allowed.allows(host, port):
        return text
    address = literal_address(host)
    reason = forbidden_reason(address) if address is not None else None
    if reason is not None:
        raise UnsafeCalendarUrl(f"{host} is {reason}; calendars are read only from public "
                                f"addresses (or hosts in CMP_CALENDAR_ALLOWED_HOSTS)")
    return text
