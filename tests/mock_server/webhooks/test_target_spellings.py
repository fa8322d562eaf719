"""SSRF: an address is judged in every spelling a resolver accepts, and with what it embeds (issue 12).

The property test renders IPv4 addresses from the interesting ranges (metadata, link-local,
loopback, private, public) in the spellings ``inet_aton``/``getaddrinfo`` accept — one integer in
decimal, octal or hex, short forms, per-part octal/hex — and in the IPv6 forms that carry an IPv4
address (mapped, compatible, NAT64, 6to4). Whatever the spelling, the guard must reach the verdict
it reaches on the plain dotted address, and the system resolver must agree with our parse.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mock_server.settings import Settings, binds_loopback
from mock_server.webhooks import targets
from mock_server.webhooks.targets import TargetError, check_url, forbidden_reason, literal_address

from .receiver import running_receiver

INTERESTING = (
    st.sampled_from(["169.254.169.254", "169.254.170.2", "100.100.100.200", "127.0.0.1", "0.0.0.0"]).map(
        ipaddress.IPv4Address
    )
    | st.ip_addresses(v=4, network="169.254.0.0/16")
    | st.ip_addresses(v=4, network="127.0.0.0/8")
    | st.ip_addresses(v=4, network="10.0.0.0/8")
    | st.ip_addresses(v=4, network="192.168.0.0/16")
    | st.ip_addresses(v=4, network="172.16.0.0/12")
    | st.ip_addresses(v=4)
)


def _number(value: int, base: str) -> str:
    if base == "oct":
        return "0" + format(value, "o") if value else "0"
    if base == "hex":
        return "0x" + format(value, "x")
    return str(value)


@st.composite
def ipv4_spellings(draw: st.DrawFn) -> tuple[ipaddress.IPv4Address, str]:
    """An IPv4 address and one of its inet_aton spellings (1 to 4 parts, each in any base)."""
    address = draw(INTERESTING)
    value = int(address)
    octets = list(address.packed)
    parts = draw(st.integers(1, 4))
    if parts == 1:
        numbers = [value]
    elif parts == 2:
        numbers = [octets[0], value & 0xFFFFFF]
    elif parts == 3:
        numbers = [octets[0], octets[1], value & 0xFFFF]
    else:
        numbers = octets
    bases = draw(st.lists(st.sampled_from(["dec", "oct", "hex"]), min_size=parts, max_size=parts))
    return address, ".".join(_number(n, b) for n, b in zip(numbers, bases, strict=True))


@st.composite
def ipv6_embeddings(draw: st.DrawFn) -> tuple[ipaddress.IPv4Address, ipaddress.IPv6Address]:
    """An IPv4 address and an IPv6 address that carries it."""
    address = draw(INTERESTING)
    value = int(address)
    form = draw(st.sampled_from(["mapped", "compatible", "nat64", "6to4"]))
    if form == "mapped":
        embedded = ipaddress.IPv6Address((0xFFFF << 32) | value)
    elif form == "compatible":
        embedded = ipaddress.IPv6Address(value)
    elif form == "nat64":
        embedded = ipaddress.IPv6Address((0x0064FF9B << 96) | value)
    else:
        suffix = draw(st.integers(0, 2**80 - 1))
        embedded = ipaddress.IPv6Address((0x2002 << 112) | (value << 80) | suffix)
    return address, embedded


@settings(max_examples=300)
@given(ipv4_spellings(), st.booleans())
def test_every_ipv4_spelling_gets_the_verdict_of_the_dotted_address(
    case: tuple[ipaddress.IPv4Address, str], allow_private: bool
) -> None:
    address, spelling = case
    assert literal_address(spelling) == address, spelling
    # the system resolver reads the spelling the same way (what a connect by name would reach)
    resolved = {info[4][0] for info in socket.getaddrinfo(spelling, 80, type=socket.SOCK_STREAM)}
    assert resolved == {str(address)}, spelling
    expected = forbidden_reason(address, allow_private=allow_private)
    url = f"http://{spelling}:8080/hooks"
    if expected is None:
        assert check_url(url, allow_private=allow_private).host == spelling
    else:
        with pytest.raises(TargetError) as info:
            check_url(url, allow_private=allow_private)
        assert info.value.reason == expected, (spelling, info.value.reason)


@settings(max_examples=300)
@given(ipv6_embeddings(), st.booleans())
def test_an_ipv6_address_is_refused_when_the_ipv4_it_carries_is(
    case: tuple[ipaddress.IPv4Address, ipaddress.IPv6Address], allow_private: bool
) -> None:
    address, embedded = case
    assert address in targets.embedded_ipv4(embedded) or int(address) <= 1  # ::, ::1 are themselves
    inner = forbidden_reason(address, allow_private=allow_private)
    outer = forbidden_reason(embedded, allow_private=allow_private)
    if inner is not None:
        assert outer is not None, (str(embedded), inner)
        with pytest.raises(TargetError):
            check_url(f"http://[{embedded}]/hooks", allow_private=allow_private)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://2852039166/", "metadata_address"),
        ("http://0251.0376.0251.0376/", "metadata_address"),
        ("http://0xa9fea9fe/", "metadata_address"),
        ("http://169.254.43518/", "metadata_address"),
        ("http://0:8080/", "unspecified_address"),
        ("http://[64:ff9b::a9fe:a9fe]/", "metadata_address"),
        ("http://[2002:a9fe:a9fe::1]/", "metadata_address"),
        ("http://[::ffff:169.254.169.254]/", "metadata_address"),
        ("http://[::169.254.169.254]/", "metadata_address"),
        ("http://169.254.1.1/", "link_local_address"),
        ("http://[fe80::1]/", "link_local_address"),
        ("http://[64:ff9b::a9fe:101]/", "link_local_address"),
    ],
)
@pytest.mark.parametrize("allow_private", [True, False])
def test_the_reported_spellings_are_refused_in_every_mode(url: str, reason: str, allow_private: bool) -> None:
    with pytest.raises(TargetError) as info:
        check_url(url, allow_private=allow_private)
    assert info.value.reason == reason


@pytest.mark.parametrize(
    "url",
    [
        "http://2130706433:8000/",  # 127.0.0.1
        "http://0x7f.1:8000/",
        "http://[::ffff:127.0.0.1]:8000/",
        "http://[64:ff9b::a00:1]/",  # NAT64 of 10.0.0.1
        "http://[2002:c0a8:101::1]/",  # 6to4 of 192.168.1.1
    ],
)
def test_private_embeddings_are_refused_when_private_targets_are(url: str) -> None:
    with pytest.raises(TargetError) as info:
        check_url(url, allow_private=False)
    assert info.value.reason in {"loopback_address", "private_address"}
    assert check_url(url, allow_private=True)


def _fake_resolver(monkeypatch: pytest.MonkeyPatch, answers: Callable[[str, int], list[str]]) -> list[str]:
    """Route ``getaddrinfo`` for ``*.test`` names through ``answers``; returns the names asked."""
    real = socket.getaddrinfo
    asked: list[str] = []

    def fake(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(host, str) and host.endswith(".test"):
            asked.append(host)
            return [
                (socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, int(port or 0)))
                for a in answers(host, len(asked))
            ]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    return asked


def test_names_are_resolved_and_judged_also_when_private_targets_are_allowed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _fake_resolver(monkeypatch, lambda host, _: ["169.254.169.254"] if host == "meta.test" else ["127.0.0.1"])
    with pytest.raises(TargetError) as info:
        check_url("http://meta.test/latest/meta-data", allow_private=True)
    assert info.value.reason == "metadata_address"
    assert check_url("http://local.test:9000/hooks", allow_private=True).host == "local.test"


def _deliver(url: str) -> int:
    """One POST through the dispatcher's routing and transport; the status code."""
    import httpx

    from mock_server.webhooks.attempt import _send
    from mock_server.webhooks.transport import LeanTransport

    async def run() -> int:
        transport = LeanTransport()
        try:
            headers = {"content-type": "application/json"}
            resp = await _send(transport, url, headers, b"{}", allow_private=True)
            return resp.status_code
        except httpx.ConnectError:
            return 0
        finally:
            await transport.aclose()

    return asyncio.run(run())


def test_delivery_connects_to_the_judged_address_not_to_a_second_answer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """DNS rebinding: the first answer is judged, later answers point at the metadata service. The
    delivery must reach the judged address (the receiver) with the original Host header."""
    asked = _fake_resolver(monkeypatch, lambda _, n: ["127.0.0.1"] if n == 1 else ["169.254.169.254"])
    with running_receiver() as rx:
        port = rx.url.split(":")[-1].split("/")[0]
        assert _deliver(f"http://rebind.test:{port}/hooks") == 200
        (got,) = rx.wait_for(1)
    assert asked == ["rebind.test"]  # judged once; the connection did not resolve again
    assert got.headers["host"] == f"rebind.test:{port}"


def test_delivery_falls_back_over_the_judged_addresses_like_a_connect_by_name(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``localhost`` may resolve to ``::1`` first while the receiver listens on 127.0.0.1 only."""
    _fake_resolver(monkeypatch, lambda *_: ["::1", "127.0.0.1"])
    with running_receiver() as rx:
        port = rx.url.split(":")[-1].split("/")[0]
        assert _deliver(f"http://both.test:{port}/hooks") == 200
        (got,) = rx.wait_for(1)
    assert got.headers["host"] == f"both.test:{port}"


def test_delivery_refuses_a_name_that_now_resolves_to_metadata(monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_resolver(monkeypatch, lambda *_: ["169.254.169.254"])
    target = targets.parse_target("http://later.test/hooks")
    with pytest.raises(TargetError) as info:
        asyncio.run(targets.pinned_address(target, allow_private=True))
    assert info.value.reason == "metadata_address"


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("localhost", True),
        ("::1", True),
        ("[::1]", True),
        ("127.3.2.1", True),
        ("0.0.0.0", False),
        ("::", False),
        ("10.0.0.5", False),
        ("sandbox.example", False),
    ],
)
def test_private_targets_default_to_allowed_only_on_a_loopback_bind(host: str, loopback: bool) -> None:
    assert binds_loopback(host) is loopback
    assert Settings(host=host).private_webhook_targets_allowed is loopback
    assert Settings(host=host, webhook_allow_private_targets=True).private_webhook_targets_allowed
    assert not Settings(host=host, webhook_allow_private_targets=False).private_webhook_targets_allowed


def test_the_setting_reads_auto_true_and_false_from_the_environment() -> None:
    read = Settings.from_env
    assert read({"CARE_SANDBOX_WEBHOOK_ALLOW_PRIVATE_TARGETS": "auto"}).webhook_allow_private_targets is None
    assert read({"CARE_SANDBOX_WEBHOOK_ALLOW_PRIVATE_TARGETS": "true"}).webhook_allow_private_targets is True
    assert read({"CARE_SANDBOX_WEBHOOK_ALLOW_PRIVATE_TARGETS": "0"}).webhook_allow_private_targets is False
