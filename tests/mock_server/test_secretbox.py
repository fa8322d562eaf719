"""Webhook secrets sealed at rest: round trip, tamper and wrong-key detection, the key file."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mock_server.secretbox import PREFIX, SecretBox, SecretBoxError


@given(st.text(min_size=12, max_size=200))  # secrets are long: a short one may occur by chance
def test_seal_then_open_round_trips_and_hides_the_plaintext(plaintext: str) -> None:
    box = SecretBox("k" * 32)
    sealed = box.seal(plaintext)
    assert sealed.startswith(PREFIX) and plaintext not in sealed
    assert box.open(sealed) == plaintext
    assert box.seal(plaintext) != sealed  # a fresh nonce every time


def test_wrong_key_and_tampering_are_refused() -> None:
    sealed = SecretBox("one key").seal("whsec_abc")
    with pytest.raises(SecretBoxError, match="CARE_SANDBOX_SECRETS_KEY"):
        SecretBox("another key").open(sealed)
    flipped = sealed[:-2] + ("A" if sealed[-2] != "A" else "B") + sealed[-1]
    with pytest.raises(SecretBoxError):
        SecretBox("one key").open(flipped)


def test_values_from_before_encryption_still_open() -> None:
    assert SecretBox("k").open("whsec_legacy") == "whsec_legacy"


def test_key_file_is_created_private_once_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "var" / "care_sandbox.key"
    first = SecretBox.from_settings("", path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = SecretBox.from_settings("", path)
    assert again.open(first.seal("whsec_x")) == "whsec_x"
    configured = SecretBox.from_settings("explicit", path)  # a configured key wins over the file
    with pytest.raises(SecretBoxError):
        configured.open(first.seal("whsec_x"))
