"""Webhook signatures (both schemes), freshness, and cross-checks with the standardwebhooks package."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from standardwebhooks.webhooks import Webhook

from conformance.checks.webhooks import (
    new_secret,
    p2c_signature,
    signed_headers,
    verify_fresh,
    verify_signatures,
)
from conformance.errors import ConformanceFailure

SECRET = new_secret()


def test_p2c_signature_is_hmac_of_the_secret_string_as_issued() -> None:
    import hashlib
    import hmac

    body = b'{"event":"webhook.test"}'
    expected = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert p2c_signature(body, SECRET) == f"sha256={expected}"


@settings(max_examples=30)
@given(payload=st.dictionaries(st.text(max_size=8), st.integers() | st.text(max_size=20), max_size=5))
def test_signed_headers_verify_with_the_kit_and_with_standardwebhooks(payload: dict[str, object]) -> None:
    body = json.dumps(payload).encode()
    headers = signed_headers(body, SECRET, "msg_1", int(time.time()))
    verify_signatures(body, headers, [SECRET])
    assert Webhook(SECRET).verify(body, headers) == payload


def test_tampered_body_and_wrong_secret_fail() -> None:
    body = b'{"a":1}'
    headers = signed_headers(body, SECRET, "msg_1", int(time.time()))
    with pytest.raises(ConformanceFailure, match="X-P2C-Signature") as info:
        verify_signatures(b'{"a":2}', headers, [SECRET])
    assert info.value.check == "webhook_signature"
    with pytest.raises(ConformanceFailure):
        verify_signatures(body, headers, [new_secret()])


def test_standard_signature_checked_separately() -> None:
    body = b'{"a":1}'
    headers = signed_headers(body, SECRET, "msg_1", int(time.time()))
    headers["webhook-signature"] = "v1,AAAA"
    with pytest.raises(ConformanceFailure, match="webhook-signature"):
        verify_signatures(body, headers, [SECRET])
    del headers["webhook-id"]
    with pytest.raises(ConformanceFailure, match="Standard Webhooks headers"):
        verify_signatures(body, headers, [SECRET])


def test_rotation_several_signatures_one_match_is_enough() -> None:
    old, new = new_secret(), new_secret()
    body = b"{}"
    stamp = int(time.time())
    headers = signed_headers(body, new, "msg_2", stamp)
    old_sig = signed_headers(body, old, "msg_2", stamp)["webhook-signature"]
    headers["webhook-signature"] = f"{old_sig} {headers['webhook-signature']}"
    with pytest.raises(ConformanceFailure, match="X-P2C-Signature"):
        verify_signatures(body, headers, [old])  # X-P2C-Signature is keyed with the new secret only
    verify_signatures(body, headers, [old, new])


def test_freshness() -> None:
    now = datetime.now(UTC)
    verify_fresh({"webhook-timestamp": str(int(now.timestamp()) - 299)}, now)
    for stale in (str(int(now.timestamp()) - 301), str(int(now.timestamp()) + 400), "", "soon"):
        with pytest.raises(ConformanceFailure) as info:
            verify_fresh({"webhook-timestamp": stale}, now)
        assert info.value.check == "webhook_timestamp_fresh"
