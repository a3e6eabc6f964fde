"""Open311 `api_key`s: issue, find, revoke, authenticate.

A key is `o311_` + 43 URL-safe characters (256 random bits). Only its SHA-256 digest is stored, so
a database dump, a backup or the audit log never holds a usable key; a request is authenticated by
looking the digest up (a unique index).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from .models import Open311Key

KEY_PREFIX = "o311_"
PREFIX_LENGTH = 12
MAX_KEY_LENGTH = 256
MAX_NAME_LENGTH = 100
# last_used_at is written at most once per this interval per key: no write on every request.
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)


class Open311KeyError(ValueError):
    """A key cannot be issued or found; the message is in Chinese and English."""


def key_digest(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode("utf-8")).hexdigest()


def key_create(name: str) -> tuple[Open311Key, str]:
    """Issue a key for the integrating system `name`. Returns the record and the plaintext key,
    which is kept nowhere: hand it over now, it cannot be shown again."""
    name = (name or "").strip()
    if not name:
        raise Open311KeyError("请填写接入系统名称 · the name of the integrating system is required")
    if len(name) > MAX_NAME_LENGTH:
        raise Open311KeyError(
            f"接入系统名称最多 {MAX_NAME_LENGTH} 字 · the name is too long ({MAX_NAME_LENGTH} at most)"
        )
    with transaction.atomic():
        for _attempt in range(10):
            plaintext = KEY_PREFIX + secrets.token_urlsafe(32)
            prefix = plaintext[:PREFIX_LENGTH]
            if not Open311Key.objects.filter(prefix=prefix).exists():
                break
        else:  # pragma: no cover - 2**42 prefixes
            raise Open311KeyError(
                "无法生成唯一的密钥前缀，请重试 · could not pick a unique key prefix, try again"
            )
        key = Open311Key.objects.create(name=name, prefix=prefix, digest=key_digest(plaintext))
    return key, plaintext


def key_find(prefix: str) -> Open311Key:
    """The key named by its prefix (as listed); Open311KeyError when there is none."""
    value = (prefix or "").strip()
    key = Open311Key.objects.filter(prefix=value).first() if len(value) == PREFIX_LENGTH else None
    if key is None:
        raise Open311KeyError(f"没有前缀为 {value[:PREFIX_LENGTH]!r} 的密钥 · no key with that prefix")
    return key


def key_revoke(key: Open311Key) -> Open311Key:
    """Revoke a key (idempotent: the first revocation time is kept). Audited."""
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at", "updated_at"])
    return key


def key_authenticate(plaintext) -> Open311Key | None:
    """The valid (not revoked) key for this plaintext, else None. Marks it used, writing at most
    once per LAST_USED_RESOLUTION."""
    if not isinstance(plaintext, str) or not plaintext or len(plaintext) > MAX_KEY_LENGTH:
        return None
    digest = key_digest(plaintext)
    key = Open311Key.objects.filter(digest=digest).first()
    if key is None or not hmac.compare_digest(key.digest, digest) or key.revoked_at is not None:
        return None
    now = timezone.now()
    if key.last_used_at is None or now - key.last_used_at >= LAST_USED_RESOLUTION:
        # A bare UPDATE: use is not an administrative change, so it is not in the audit log.
        Open311Key.objects.filter(pk=key.pk).filter(
            Q(last_used_at__isnull=True) | Q(last_used_at__lte=now - LAST_USED_RESOLUTION)
        ).update(last_used_at=now)
    return key
