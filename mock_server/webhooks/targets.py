"""Which URLs the sandbox may POST webhooks to.

Why: a webhook URL is an address the *partner* chooses and the *server* connects to — the classic
server-side request forgery hole. The rule:

- Link-local addresses (``169.254.0.0/16``, ``fe80::/10``) and cloud metadata services are refused in
  every mode, as are the unspecified and multicast addresses: no receiver lives there.
- Private, loopback, shared and reserved addresses are refused unless private targets are allowed.
  ``Settings.private_webhook_targets_allowed`` decides: by default only while the server binds a
  loopback address (an integrator's laptop, whose receivers run on ``localhost``); a public bind
  refuses them unless ``--allow-private-webhook-targets`` says otherwise.
- An address is judged in every spelling a resolver accepts — ``http://2852039166/``,
  ``0251.0376.0251.0376``, ``0xa9fea9fe``, ``169.254.43518`` and ``0`` are all parsed as ``inet_aton``
  does — and *with every IPv4 address embedded in it*: IPv4-mapped (``::ffff:0:0/96``) and
  -compatible (``::/96``) IPv6, NAT64 (``64:ff9b::/96``), 6to4 (``2002::/16``) and Teredo; a
  metadata address reached through NAT64 is still the metadata address.
- Host names are resolved (``getaddrinfo``) and *every* address is judged: one bad record is enough to
  be sent to it. At delivery the name is resolved and judged again and the connection is pinned to
  the judged address (the original ``Host`` header and TLS SNI are kept), so DNS that changes between
  the check and the connect (rebinding) cannot redirect the request.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",  # AWS, GCP, Azure, OpenStack, DigitalOcean
        "169.254.170.2",  # AWS ECS task metadata
        "fd00:ec2::254",  # AWS over IPv6
        "100.100.100.200",  # Alibaba Cloud
    )
)


class TargetError(ValueError):
    """A URL the sandbox will not deliver to; ``reason`` is a stable machine-readable word."""

    def __init__(self, reason: str, message: str, address: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.address = address


@dataclass(frozen=True)
class Target:
    url: str
    scheme: str
    host: str  # without brackets for IPv6
    port: int


def parse_target(url: str) -> Target:
    """Check the URL's form: absolute http(s) with a host, no credentials, a valid port."""
    if not isinstance(url, str) or not url or any(ch.isspace() or ord(ch) < 32 for ch in url):
        raise TargetError("invalid_url", "the webhook URL must be a non-empty URL without spaces")
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in {"http", "https"}:
        raise TargetError("invalid_scheme", "the webhook URL must use http or https")
    if not parts.hostname:
        raise TargetError("missing_host", "the webhook URL must name a host")
    if parts.username is not None or parts.password is not None:
        raise TargetError("credentials_in_url", "put no credentials in the webhook URL; verify signatures")
    try:
        port = parts.port
    except ValueError as exc:
        raise TargetError("invalid_port", "the webhook URL has an invalid port") from exc
    return Target(
        url=url, scheme=scheme, host=parts.hostname, port=port or (443 if scheme == "https" else 80)
    )


_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")
_NUMERIC_HOST = frozenset("0123456789abcdefABCDEFxX.")


def embedded_ipv4(address: IPAddress) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address carries (mapped, compatible, NAT64, 6to4, Teredo)."""
    if not isinstance(address, ipaddress.IPv6Address):
        return []
    found: list[ipaddress.IPv4Address] = []
    low32 = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address.ipv4_mapped is not None:
        found.append(address.ipv4_mapped)
    if address in _IPV4_COMPATIBLE and int(address) > 1:  # not :: or ::1, which are themselves
        found.append(low32)
    if address in _NAT64:
        found.append(low32)
    if address.sixtofour is not None:
        found.append(address.sixtofour)
    if address.teredo is not None:
        found.extend(address.teredo)
    return found


_SEVERITY = (
    "metadata_address",
    "link_local_address",
    "unspecified_address",
    "multicast_address",
    "loopback_address",
    "private_address",
    "non_global_address",
)


def _own_reason(address: IPAddress, *, allow_private: bool) -> str | None:
    if address in METADATA_ADDRESSES:
        return "metadata_address"
    if address.is_unspecified:
        return "unspecified_address"
    if address.is_multicast:
        return "multicast_address"
    if address.is_link_local:
        return "link_local_address"
    if allow_private:
        return None
    if address.is_loopback:
        return "loopback_address"
    if address.is_private:
        return "private_address"
    if not address.is_global:
        return "non_global_address"
    return None


def forbidden_reason(address: IPAddress, *, allow_private: bool) -> str | None:
    """Why ``address`` may not receive webhooks, or None when it may.

    The address itself and every IPv4 address embedded in it are judged; the most specific refusal
    is reported (``::ffff:169.254.169.254`` is the metadata address, not just "private").
    """
    reasons = {_own_reason(c, allow_private=allow_private) for c in (address, *embedded_ipv4(address))}
    return next((r for r in _SEVERITY if r in reasons), None)


def literal_address(host: str) -> IPAddress | None:
    """The IP address when ``host`` is an IP literal in any spelling, else None.

    Besides the canonical forms, IPv4 in the spellings ``inet_aton`` (and so ``getaddrinfo``) accepts:
    one to four parts, each decimal, octal (leading 0) or hex (0x) — ``2852039166``, ``0xa9fea9fe``,
    ``0251.0376.0251.0376``, ``169.254.43518``, ``0``.
    """
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if host and set(host) <= _NUMERIC_HOST and host[0].isdigit():
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


def check_addresses(addresses: list[IPAddress], *, allow_private: bool) -> None:
    """Refuse unless *every* address is allowed: one bad record is enough to be redirected to it."""
    if not addresses:
        raise TargetError("unresolvable_host", "the webhook host did not resolve to any address")
    for address in addresses:
        reason = forbidden_reason(address, allow_private=allow_private)
        if reason is not None:
            label = reason.replace("_", " ")
            raise TargetError(
                reason,
                f"the webhook URL points at a {label} ({address}), which this sandbox refuses",
                str(address),
            )


def _addresses(infos: list[tuple[object, ...]]) -> list[IPAddress]:
    found: list[IPAddress] = []
    for info in infos:
        sockaddr = info[4]
        assert isinstance(sockaddr, tuple)
        address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if address not in found:
            found.append(address)
    return found


def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address ``host`` resolves to (blocking; subscription time)."""
    literal = literal_address(host)
    if literal is not None:
        return [literal]
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise TargetError("unresolvable_host", f"the webhook host {host!r} does not resolve") from exc
    return _addresses(list(infos))


async def resolve_async(host: str, port: int) -> list[IPAddress]:
    """Every address ``host`` resolves to, without blocking the event loop (delivery time)."""
    literal = literal_address(host)
    if literal is not None:
        return [literal]
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise TargetError("unresolvable_host", f"the webhook host {host!r} does not resolve") from exc
    return _addresses(list(infos))


def check_url(url: str, *, allow_private: bool) -> Target:
    """Subscription-time check: the URL's form, then every address the host stands for.

    IP literals (in any spelling) are judged directly. Names are resolved and every address judged;
    a name that does not resolve is refused when private targets are refused, and accepted otherwise
    (an integrator may register a receiver before starting it): delivery resolves and judges again.
    """
    target = parse_target(url)
    literal = literal_address(target.host)
    if literal is not None:
        check_addresses([literal], allow_private=allow_private)
        return target
    try:
        addresses = resolve(target.host, target.port)
    except TargetError:
        if allow_private:
            return target
        raise
    check_addresses(addresses, allow_private=allow_private)
    return target


async def pinned_addresses(target: Target, *, allow_private: bool) -> list[IPAddress]:
    """Delivery-time check: resolve, judge every address, and return them in the resolver's order.

    The caller connects to these addresses (not to the name), so a DNS answer that changes between
    this check and the connect cannot redirect the request to an address that was never judged. All
    are returned so the caller can fall back as a connect by name would (``localhost`` may resolve to
    ``::1`` first while the receiver listens on ``127.0.0.1`` only).
    """
    addresses = await resolve_async(target.host, target.port)
    check_addresses(addresses, allow_private=allow_private)
    return addresses


async def pinned_address(target: Target, *, allow_private: bool) -> IPAddress:
    """The first of :func:`pinned_addresses`."""
    return (await pinned_addresses(target, allow_private=allow_private))[0]
