"""Personal data encrypted at rest: AES-256-GCM with a key from the environment.

`encrypt()` gives `v1:` + base64url(12-byte random nonce + ciphertext + tag); `decrypt()` reverses
it, and hands back any value without the `v1:` prefix unchanged (rows written before a field was
encrypted, read once by the migration that encrypts them). A tampered or foreign ciphertext raises
`DecryptionError` rather than returning garbage.

The key is `settings.DATA_KEY` (env `DATA_KEY`): 32 random bytes, base64url-encoded — make one with
`python -c "import base64, os; print(base64.urlsafe_b64encode(os.urandom(32)).decode())"`. Without
it the key is derived from SECRET_KEY (HKDF-SHA256), which is fine for the demo and the tests and
is reported by `chengguan check --deploy` (chengguan.W002): a production database must not share
its protection with the session signing key. Keep the key out of backups of the database.
"""

from __future__ import annotations

import base64
import binascii
import functools
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

PREFIX = "v1:"
_NONCE = 12
_INFO = b"chengguan personal data v1"


class DecryptionError(ValueError):
    """A stored value that this key cannot decrypt (another key, or tampered)."""


def key_is_derived() -> bool:
    return not getattr(settings, "DATA_KEY", "")


@functools.lru_cache(maxsize=4)
def _key(configured: str, secret: str) -> bytes:
    if configured:
        try:
            key = base64.urlsafe_b64decode(configured + "=" * (-len(configured) % 4))
        except (binascii.Error, ValueError):
            key = b""
        if len(key) != 32:
            raise ImproperlyConfigured(
                "DATA_KEY must be 32 bytes, base64url-encoded (see chengguan.core.crypto)"
            )
        return key
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(secret.encode())


def _aead() -> AESGCM:
    return AESGCM(_key(getattr(settings, "DATA_KEY", ""), settings.SECRET_KEY))


def encrypt(plaintext: str) -> str:
    nonce = os.urandom(_NONCE)
    sealed = _aead().encrypt(nonce, plaintext.encode("utf-8"), None)
    return PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode("ascii")


def decrypt(stored: str | None) -> str | None:
    if not stored or not stored.startswith(PREFIX):
        return stored
    try:
        raw = base64.urlsafe_b64decode(stored[len(PREFIX) :])
        return _aead().decrypt(raw[:_NONCE], raw[_NONCE:], None).decode("utf-8")
    except (InvalidTag, binascii.Error, ValueError) as exc:
        raise DecryptionError("stored personal data cannot be decrypted with this DATA_KEY") from exc


_SEAL_INFO = b"chengguan audit seal v1"


@functools.lru_cache(maxsize=4)
def _seal_key(configured: str, secret: str) -> bytes:
    base = _key(configured, secret)
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_SEAL_INFO).derive(base)


def seal_mac(message: str) -> str:
    """HMAC-SHA256 of an audit seal, with a key derived from DATA_KEY (never stored in the database)."""
    import hmac

    key = _seal_key(getattr(settings, "DATA_KEY", ""), settings.SECRET_KEY)
    return hmac.new(key, message.encode("utf-8"), "sha256").hexdigest()


_LOOKUP_INFO = b"chengguan lookup index v1"


@functools.lru_cache(maxsize=4)
def _lookup_key(configured: str, secret: str) -> bytes:
    base = _key(configured, secret)
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_LOOKUP_INFO).derive(base)


def lookup_hash(purpose: str, value: str) -> str:
    """A keyed hash (HMAC-SHA256, key derived from DATA_KEY) of an encrypted field's normalised
    value, stored beside it so that an exact match can be found without decrypting every row (a
    "blind index"). `purpose` names the field ("org.Person.phone"): equal values of different
    fields hash differently. Empty values give ""."""
    import hmac

    if not value:
        return ""
    key = _lookup_key(getattr(settings, "DATA_KEY", ""), settings.SECRET_KEY)
    return hmac.new(key, f"{purpose}:{value}".encode(), "sha256").hexdigest()
