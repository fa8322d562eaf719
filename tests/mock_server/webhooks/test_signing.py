"""Signatures verify with what partners will actually use: ``standardwebhooks`` and plain ``hmac``."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from mock_server.webhooks import signing

# A fixed vector: key bytes 0..31, so anyone can recompute it from this file alone.
VECTOR_SECRET = "whsec_" + base64.b64encode(bytes(range(32))).decode()
VECTOR_ID = "evt_0123456789abcdef01234567"
VECTOR_TS = 1_780_000_000
VECTOR_BODY = b'{"id":"evt_0123456789abcdef01234567","event":"webhook.test","data":{"message":"hi"}}'


def test_secret_format() -> None:
    secret = signing.new_secret()
    assert secret.startswith("whsec_")
    raw = base64.b64decode(secret.removeprefix("whsec_"), validate=True)
    assert len(raw) == 32
    assert signing.secret_key(secret) == raw
    assert signing.new_secret() != secret


@pytest.mark.parametrize(
    "bad", ["", "secret", "whsec_", "whsec_!!!!", "whsec_" + base64.b64encode(b"short").decode()]
)
def test_secret_key_rejects_what_was_never_issued(bad: str) -> None:
    with pytest.raises(ValueError):
        signing.secret_key(bad)


def test_known_vector_standard_webhooks() -> None:
    expected = (
        "v1,"
        + base64.b64encode(
            hmac.new(
                bytes(range(32)), f"{VECTOR_ID}.{VECTOR_TS}.".encode() + VECTOR_BODY, hashlib.sha256
            ).digest()
        ).decode()
    )
    ours = signing.standard_signature(VECTOR_SECRET, VECTOR_ID, VECTOR_TS, VECTOR_BODY)
    assert ours == expected
    library = Webhook(VECTOR_SECRET).sign(
        VECTOR_ID, datetime.fromtimestamp(VECTOR_TS, UTC), VECTOR_BODY.decode()
    )
    assert ours == library


def test_known_vector_p2c_signature_is_plain_hmac_keyed_with_the_whole_secret() -> None:
    expected = hmac.new(VECTOR_SECRET.encode(), VECTOR_BODY, hashlib.sha256).hexdigest()
    assert signing.p2c_signature(VECTOR_SECRET, VECTOR_BODY) == f"sha256={expected}"


def _now() -> int:
    return int(datetime.now(UTC).timestamp())


@given(
    body=st.binary(max_size=300).map(lambda b: base64.b64encode(b)),
    msg=st.from_regex(r"evt_[a-f0-9]{24}", fullmatch=True),
)
def test_headers_verify_with_the_standardwebhooks_library(body: bytes, msg: str) -> None:
    secret = VECTOR_SECRET
    headers = signing.delivery_headers(msg_id=msg, timestamp=_now(), body=body, secret=secret)
    Webhook(secret).verify(body, headers, json_parse=False)
    assert signing.verify_p2c([secret], body, headers["X-P2C-Signature"])
    assert headers["Content-Type"] == "application/json"
    assert headers["User-Agent"] == "care-sandbox-webhooks/1"
    assert headers["webhook-id"] == msg


def test_rotation_signs_with_both_secrets() -> None:
    old, new = signing.new_secret(), signing.new_secret()
    body = b'{"event":"consent.revoked"}'
    headers = signing.delivery_headers(
        msg_id="evt_1", timestamp=_now(), body=body, secret=new, previous_secret=old
    )
    signatures = headers["webhook-signature"].split(" ")
    assert len(signatures) == 2 and all(s.startswith("v1,") for s in signatures)
    Webhook(new).verify(body, headers, json_parse=False)
    Webhook(old).verify(body, headers, json_parse=False)
    assert signing.verify_p2c([new], body, headers["X-P2C-Signature"])
    assert not signing.verify_p2c([old], body, headers["X-P2C-Signature"])
    with pytest.raises(WebhookVerificationError):
        Webhook(signing.new_secret()).verify(body, headers, json_parse=False)


def test_tampered_body_fails_both_schemes() -> None:
    secret = signing.new_secret()
    headers = signing.delivery_headers(msg_id="evt_1", timestamp=_now(), body=b'{"a":1}', secret=secret)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(b'{"a":2}', headers, json_parse=False)
    assert not signing.verify_p2c([secret], b'{"a":2}', headers["X-P2C-Signature"])


def test_stale_timestamp_is_rejected_by_the_library() -> None:
    secret = signing.new_secret()
    headers = signing.delivery_headers(msg_id="evt_1", timestamp=_now() - 600, body=b"{}", secret=secret)
    with pytest.raises(WebhookVerificationError, match="too old"):
        Webhook(secret).verify(b"{}", headers, json_parse=False)
