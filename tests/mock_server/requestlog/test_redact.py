"""Redaction of the request log: no secret survives, whatever shape the body has; the rest is kept."""

from __future__ import annotations

import json
import string
from typing import Any

import orjson
from hypothesis import example, given
from hypothesis import strategies as st

from mock_server.requestlog.redact import (
    REDACTED,
    REQUEST_FIELDS,
    cut,
    redact_body,
    redact_headers,
    redact_query,
)

SECRET = st.text(string.ascii_letters + string.digits + "_-", min_size=24, max_size=48)
FIELD = st.sampled_from(["client_secret", "refresh_token", "access_token", "secret", "code", "password"])
PLAIN = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(string.ascii_lowercase + " ", max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.text(string.ascii_lowercase, min_size=1, max_size=8).filter(lambda k: k not in REQUEST_FIELDS),
            inner,
            max_size=4,
        )
    ),
    max_leaves=20,
)


def _plant(value: Any, field: str, secret: str, depth: int) -> Any:
    """``value`` with ``{field: secret}`` planted ``depth`` levels down."""
    planted: Any = {field: secret}
    for _ in range(depth):
        planted = {"wrapper": [planted, value]}
    return {"payload": value, "nested": planted}


@given(PLAIN, FIELD, SECRET, st.integers(0, 4))
@example(2**70 + 1, "secret", "s" * 24, 0)  # beyond 64 bits: orjson alone would log it as a float
@example([-(2**65) - 3, "12345678901234567890"], "code", "c" * 24, 1)
def test_named_fields_are_replaced_at_any_depth(value: Any, field: str, secret: str, depth: int) -> None:
    body = json.dumps(_plant(value, field, secret, depth)).encode()  # any integer, as JSON allows
    stored = redact_body(body, "application/json", (), request=True)
    assert stored is not None and secret not in stored
    assert json.loads(stored)["payload"] == value  # everything else is kept as sent


@given(SECRET, st.text(string.ascii_letters + " ", max_size=30))
def test_the_requests_own_credential_is_replaced_wherever_it_is_echoed(secret: str, around: str) -> None:
    body = orjson.dumps({"message": f"{around}{secret}{around}"})
    stored = redact_body(body, "application/json", (secret,), request=True)
    assert stored is not None and secret not in stored


@given(SECRET)
def test_secrets_are_recognised_by_shape_in_any_text(tail: str) -> None:
    for secret in (f"whsec_{tail}", f"p2c_test_{tail}", f"cs_test_{tail}", f"Bearer at_{tail}{tail}"):
        for media in ("text/plain", "application/json", ""):
            stored = redact_body(f"see {secret} here".encode(), media, (), request=False)
            assert stored is not None and secret not in stored and "see" in stored


def test_the_error_code_of_a_response_is_kept_but_a_requests_code_is_not() -> None:
    envelope = b'{"error":{"code":"not_found","message":"no such token","request_id":"r1"}}'
    assert (
        orjson.loads(redact_body(envelope, "application/json", (), request=False) or "")["error"]["code"]
        == "not_found"
    )
    form = b"grant_type=authorization_code&code=ac_abcdefghijklmnopqrstuvwxyz0123456789&client_id=cli_1"
    stored = redact_body(form, "application/x-www-form-urlencoded", (), request=True) or ""
    assert (
        "ac_abc" not in stored and "client_id=cli_1" in stored and "grant_type=authorization_code" in stored
    )


def test_headers_with_credentials_are_replaced_whole() -> None:
    headers = [(b"X-API-Key", b"p2c_test_secret"), (b"Authorization", b"Bearer at_x"), (b"Accept", b"*/*")]
    assert redact_headers(headers) == {"x-api-key": REDACTED, "authorization": REDACTED, "accept": "*/*"}
    assert redact_query("refresh_token=rt_1&page=2", ()) == f"refresh_token={REDACTED}&page=2"


def test_binary_bodies_are_described_not_stored() -> None:
    assert (
        redact_body(b"%PDF-1.7 ...", "application/pdf", (), request=False) == "[12 bytes of application/pdf]"
    )
    assert redact_body(b"", "application/json", (), request=False) is None


@given(st.text(max_size=200), st.integers(1, 64))
def test_cut_never_exceeds_the_limit_nor_splits_a_character(text: str, limit: int) -> None:
    kept, was_cut = cut(text, limit)
    assert kept is not None and len(kept.encode()) <= limit
    assert text.startswith(kept) and was_cut == (len(text.encode()) > limit)
