"""Which URLs the sandbox may POST webhooks to.

Why: a webhook URL is an address the *partner* chooses and the *server* connects to — the classic
server-side request forgery hole. A sandbox on a laptop must reach ``localhost`` (integrators run
receivers locally), so that is the default; a shared or hosted sandbox sets
``webhook_allow_private_targets = False`` and then every address that is not globally routable
(private, loopback, link-local, shared, reserved, …) is refused. Cloud metadata services and the
unspecified/multicast addresses are refused in every mode: no receiver lives there.

Checks run twice: when an endpoint is created or changed (a clear 400 for the integrator), and again
at delivery time on freshly resolved addresses, with the connection pinned to the checked address,
because DNS can change between the two (DNS rebinding).
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


def forbidden_reason(address: IPAddress, *, allow_private: bool) -> str | None:
    """Why ``address`` may not receive webhooks, or None when it may."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address in METADATA_ADDRESSES:
        return "metadata_address"
    if address.is_unspecified:
        return "unspecified_address"
    if address.is_multicast:
        return "multicast_address"
    if allow_private:
        return None
    if address.is_loopback:
        return "loopback_address"
    if address.is_link_local:
        return "link_local_address"
    if address.is_private:
        return "private_address"
    if not address.is_global:
        return "non_global_address"
    return None


def literal_address(host: str) -> IPAddress | None:
    """The IP address when ``host`` is an IP literal, else None."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
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
    """Subscription-time check: the URL's form, then (in strict mode) every resolved address.

    In the permissive default mode only IP literals are checked, so creating an endpoint never waits on
    DNS; delivery re-checks in both modes.
    """
    target = parse_target(url)
    if allow_private:
        literal = literal_address(target.host)
        if literal is not None:
            check_addresses([literal], allow_private=True)
        return target
    check_addresses(resolve(target.host, target.port), allow_private=False)
    return target


async def pinned_address(target: Target, *, allow_private: bool) -> IPAddress | None:
    """Delivery-time check. Returns the address to connect to, or None to connect by name.

    Strict mode resolves, checks every address and pins the connection to the first one, so a DNS
    answer that changes between this check and the connect cannot redirect the request. Permissive
    mode connects by name and checks IP literals only (metadata and unspecified addresses).
    """
    if allow_private:
        literal = literal_address(target.host)
        if literal is not None:
            check_addresses([literal], allow_private=True)
        return None
    addresses = await resolve_async(target.host, target.port)
    check_addresses(addresses, allow_private=False)
    return addresses[0]
