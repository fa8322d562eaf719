"""Target safety: which addresses a webhook may be delivered to, in both modes."""

from __future__ import annotations

import asyncio
import ipaddress
import socket

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mock_server.webhooks import targets
from mock_server.webhooks.targets import TargetError, check_url, forbidden_reason, parse_target

any_ip = st.one_of(st.ip_addresses(v=4), st.ip_addresses(v=6))


def _judged(address: targets.IPAddress) -> list[targets.IPAddress]:
    """The address and every IPv4 address embedded in it: what the guard must judge."""
    return [address, *targets.embedded_ipv4(address)]


@given(any_ip)
def test_strict_mode_allows_exactly_the_global_unicast_addresses(address: targets.IPAddress) -> None:
    reason = forbidden_reason(address, allow_private=False)
    allowed = all(
        a.is_global and not a.is_multicast and not a.is_link_local and a not in targets.METADATA_ADDRESSES
        for a in _judged(address)
    )
    assert (reason is None) == allowed


@given(any_ip)
def test_permissive_mode_refuses_only_metadata_link_local_unspecified_and_multicast(
    address: targets.IPAddress,
) -> None:
    reason = forbidden_reason(address, allow_private=True)
    expected_refusal = any(
        a in targets.METADATA_ADDRESSES or a.is_unspecified or a.is_multicast or a.is_link_local
        for a in _judged(address)
    )
    assert (reason is not None) == expected_refusal


@given(
    st.ip_addresses(v=4, network="10.0.0.0/8")
    | st.ip_addresses(v=4, network="192.168.0.0/16")
    | st.ip_addresses(v=4, network="172.16.0.0/12")
    | st.ip_addresses(v=4, network="127.0.0.0/8")
    | st.ip_addresses(v=4, network="169.254.0.0/16")
    | st.ip_addresses(v=6, network="fc00::/7")
    | st.ip_addresses(v=6, network="fe80::/10")
)
def test_private_ranges_are_refused_in_strict_mode_also_when_ipv4_mapped(address: targets.IPAddress) -> None:
    assert forbidden_reason(address, allow_private=False) is not None
    if isinstance(address, ipaddress.IPv4Address):
        mapped = ipaddress.IPv6Address(f"::ffff:{address}")
        assert forbidden_reason(mapped, allow_private=False) is not None


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback_address"),
        ("::1", "loopback_address"),
        ("10.1.2.3", "private_address"),
        ("169.254.1.1", "link_local_address"),
        ("169.254.169.254", "metadata_address"),
        ("fd00:ec2::254", "metadata_address"),
        ("100.64.0.1", "non_global_address"),
        ("0.0.0.0", "unspecified_address"),
        ("224.0.0.1", "multicast_address"),
    ],
)
def test_reasons_are_specific(address: str, reason: str) -> None:
    assert forbidden_reason(ipaddress.ip_address(address), allow_private=False) == reason


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://example.com/hook", "invalid_scheme"),
        ("example.com/hook", "invalid_scheme"),
        ("http:///hook", "missing_host"),
        ("https://user:pw@example.com/", "credentials_in_url"),
        ("http://example.com:99999/", "invalid_port"),
        ("http://exa mple.com/", "invalid_url"),
        ("", "invalid_url"),
    ],
)
def test_malformed_urls(url: str, reason: str) -> None:
    with pytest.raises(TargetError) as info:
        parse_target(url)
    assert info.value.reason == reason


def test_default_mode_accepts_localhost_without_dns() -> None:
    assert check_url("http://localhost:9000/hooks", allow_private=True).port == 9000
    assert check_url("http://127.0.0.1/hooks", allow_private=True).host == "127.0.0.1"
    assert check_url("https://[::1]/hooks", allow_private=True).port == 443
    with pytest.raises(TargetError, match="metadata"):
        check_url("http://169.254.169.254/latest/meta-data", allow_private=True)


def test_strict_mode_resolves_names(monkeypatch: pytest.MonkeyPatch) -> None:
    answers = {"public.example": ["93.184.215.14"], "sneaky.example": ["93.184.215.14", "10.0.0.7"]}

    def fake_getaddrinfo(host: str, port: int, *args: object, **kwargs: object) -> list[tuple[object, ...]]:
        if host not in answers:
            raise socket.gaierror("no such host")
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port)) for a in answers[host]]

    monkeypatch.setattr(socket, "getaddrinfo", fake_getaddrinfo)
    assert check_url("https://public.example/hook", allow_private=False).host == "public.example"
    with pytest.raises(TargetError) as info:
        check_url("https://sneaky.example/hook", allow_private=False)
    assert (info.value.reason, info.value.address) == ("private_address", "10.0.0.7")
    with pytest.raises(TargetError) as info:
        check_url("https://nowhere.example/hook", allow_private=False)
    assert info.value.reason == "unresolvable_host"
    with pytest.raises(TargetError, match="loopback"):
        check_url("http://127.0.0.1:8000/", allow_private=False)


def test_delivery_time_check_pins_the_checked_address() -> None:
    target = parse_target("http://127.0.0.1:1/hook")
    assert str(asyncio.run(targets.pinned_address(target, allow_private=True))) == "127.0.0.1"
    with pytest.raises(TargetError):
        asyncio.run(targets.pinned_address(target, allow_private=False))
    public = parse_target("http://93.184.215.14/hook")
    assert str(asyncio.run(targets.pinned_address(public, allow_private=False))) == "93.184.215.14"
