"""Encryption at rest for the one kind of secret the sandbox must be able to read back.

API keys, client secrets and tokens are only ever compared, so they are stored as hashes. A webhook
signing secret is different: every delivery is signed with it (HMAC needs the secret itself), so it is
stored encrypted with AES-256-GCM under the server's key, and a copy of the database alone reveals no
secret. The key comes from ``Settings.secrets_key``; when that is empty, from ``secrets_key_file``,
created with a random key on first use (a hosted deployment with several machines sets the key).

Values issued before encryption existed (plaintext ``whsec_…``) still decrypt to themselves, so an
upgraded database keeps delivering; they are encrypted on the next rotation.
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
import tempfile
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

PREFIX = "enc1:"
_NONCE_BYTES = 12
_CONTEXT = b"care-sandbox webhook secret v1"


class SecretBoxError(ValueError):
    """A stored value cannot be decrypted (another server key?) or the key file is unusable."""


class SecretBox:
    def __init__(self, key_material: str) -> None:
        if not key_material:
            raise SecretBoxError("the secrets key is empty")
        self._aead = AESGCM(hashlib.sha256(_CONTEXT + key_material.encode("utf-8")).digest())

    @classmethod
    def from_settings(cls, secrets_key: str, key_file: Path) -> SecretBox:
        """The configured key, else the key file's (written with a random key, mode 0600, if absent)."""
        if secrets_key:
            return cls(secrets_key)
        try:
            return cls(key_file.read_text("utf-8").strip())
        except FileNotFoundError:
            pass
        key_file.parent.mkdir(parents=True, exist_ok=True)
        fresh = secrets.token_urlsafe(32)
        # written whole to a private temporary file, then linked into place: a process starting at the
        # same moment sees either no key file or a complete one, never an empty one
        fd, staged = tempfile.mkstemp(dir=key_file.parent, prefix=".secrets-", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:  # mkstemp makes it mode 0600
                out.write(fresh + "\n")
            os.link(staged, key_file)
        except FileExistsError:  # another process created it first: use theirs
            return cls(key_file.read_text("utf-8").strip())
        finally:
            os.unlink(staged)
        return cls(fresh)

    def seal(self, plaintext: str) -> str:
        nonce = secrets.token_bytes(_NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, plaintext.encode("utf-8"), _CONTEXT)
        return PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode("ascii")

    def open(self, stored: str) -> str:
        if not stored.startswith(PREFIX):
            return stored  # issued before encryption at rest
        raw = base64.urlsafe_b64decode(stored[len(PREFIX) :])
        try:
            opened: bytes = self._aead.decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], _CONTEXT)
            return opened.decode("utf-8")
        except InvalidTag as exc:
            raise SecretBoxError(
                "a stored webhook secret does not decrypt with this server's key "
                "(set the same CARE_SANDBOX_SECRETS_KEY on every process)"
            ) from exc
