"""Personal API tokens: issue, revoke, authenticate, and the Ninja auth class for `Authorization: Bearer`.

A token is `cg_` + 43 URL-safe characters (256 random bits). Only its SHA-256 digest is stored, so
a database dump, a backup or the audit log never holds a usable token; a request is authenticated
by looking the digest up (a unique index), which takes the same time whatever the token.

Mount both kinds of authentication on an API with `API_AUTH` (bearer first, then the session):

    api = NinjaAPI(..., auth=API_AUTH)

The order matters. Ninja's session auth checks CSRF on unsafe methods and *answers* 403 when
the check fails instead of passing on to the next auth, so with `[django_auth, BearerAuth()]` a
POST from a script (bearer token, no cookie, no CSRF token) is refused before its token is read.
With the bearer first, a request that presents a token is judged by the token alone (a wrong,
revoked or expired token is a 401, never a fall-back to a session cookie), and a request without
one goes on to the session auth, CSRF check included. A bearer token cannot be sent by a browser
on its own (it is not a cookie), so it needs no CSRF protection.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import hmac
import secrets

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from ninja.errors import AuthenticationError
from ninja.security import HttpBearer, django_auth

from chengguan.core import context

from .models import ApiToken, Person

TOKEN_PREFIX = "cg_"
PREFIX_LENGTH = 8
MAX_TOKEN_LENGTH = 256
# last_used_at is written at most once per this interval per token: no write on every request.
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)
MAX_DAYS = 3650


class TokenError(ValueError):
    """A token cannot be issued or found; the message is in Chinese and English."""


def token_digest(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode("utf-8")).hexdigest()


def token_create(person: Person, name: str = "", *, days: int | None = None) -> tuple[ApiToken, str]:
    """Issue a token for `person`, valid for `days` days (None: until revoked).

    Returns the record and the plaintext token; the plaintext is not kept anywhere, so hand it to
    the person now: it cannot be shown again.
    """
    if person.pk is None or not person.is_active:
        raise TokenError(f"账号已停用，不能签发令牌 · account {person.get_username()} is inactive")
    if days is not None and (
        isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_DAYS
    ):
        raise TokenError(
            f"有效天数应为 1–{MAX_DAYS} 的整数 · days must be a whole number from 1 to {MAX_DAYS}"
        )
    name = (name or "").strip()
    if len(name) > ApiToken._meta.get_field("name").max_length:
        raise TokenError("令牌名称过长（最多 100 字）· token name too long (100 characters at most)")
    with transaction.atomic():
        for _attempt in range(10):
            plaintext = TOKEN_PREFIX + secrets.token_urlsafe(32)
            prefix = plaintext[:PREFIX_LENGTH]
            if not ApiToken.objects.filter(prefix=prefix).exists():
                break
        else:  # pragma: no cover - 2**30 prefixes
            raise TokenError(
                "无法生成唯一的令牌前缀，请重试 · could not pick a unique token prefix, try again"
            )
        token = ApiToken.objects.create(
            person=person,
            name=name,
            prefix=prefix,
            digest=token_digest(plaintext),
            expires_at=timezone.now() + dt.timedelta(days=days) if days is not None else None,
        )
    return token, plaintext


def token_revoke(token: ApiToken) -> ApiToken:
    """Revoke a token (idempotent: revoking it again keeps the first revocation time). Audited."""
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at", "updated_at"])
    return token


def token_find(prefix_or_token: str) -> ApiToken:
    """The token named by its prefix (as listed) or by the full token; TokenError when there is none."""
    value = (prefix_or_token or "").strip()
    token = None
    if len(value) == PREFIX_LENGTH:
        token = ApiToken.objects.select_related("person").filter(prefix=value).first()
    elif PREFIX_LENGTH < len(value) <= MAX_TOKEN_LENGTH:
        token = ApiToken.objects.select_related("person").filter(digest=token_digest(value)).first()
    if token is None:
        raise TokenError(f"没有前缀为 {value[:PREFIX_LENGTH]!r} 的令牌 · no token with that prefix")
    return token


def token_is_valid(token: ApiToken, now: dt.datetime | None = None) -> bool:
    now = now or timezone.now()
    return token.revoked_at is None and (token.expires_at is None or token.expires_at > now)


def token_authenticate(plaintext: str) -> Person | None:
    """The active person a valid token belongs to, else None (unknown, revoked or expired token,
    inactive person). Marks the token used, writing at most once per LAST_USED_RESOLUTION."""
    if not isinstance(plaintext, str) or not plaintext or len(plaintext) > MAX_TOKEN_LENGTH:
        return None
    digest = token_digest(plaintext)
    token = ApiToken.objects.select_related("person").filter(digest=digest).first()
    if token is None or not hmac.compare_digest(token.digest, digest):
        return None
    now = timezone.now()
    if not token_is_valid(token, now) or not token.person.is_active:
        return None
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        # A bare UPDATE: usage is not an administrative change, so it is not in the audit log, and
        # the condition keeps concurrent requests from writing it twice.
        ApiToken.objects.filter(pk=token.pk).filter(
            Q(last_used_at__isnull=True) | Q(last_used_at__lte=now - LAST_USED_RESOLUTION)
        ).update(last_used_at=now)
    person = token.person
    person._api_token = token
    return person


class BearerAuth(HttpBearer):
    """`Authorization: Bearer cg_…` for Django Ninja: the token's person becomes `request.user`.

    A request that presents a bearer token that is not valid is refused (401) rather than passed
    on to the next auth: a client that sends a wrong token should learn so, not be served as
    whoever its cookies say.
    """

    def authenticate(self, request, token: str) -> Person:
        person = token_authenticate(token)
        if person is None:
            raise AuthenticationError()
        request.user = person
        # The audit log names the token's person (the middleware saw an anonymous request), and
        # which token acted. The middleware resets the context when the request ends.
        context.set_actor(
            dataclasses.replace(
                context.current(),
                user_id=person.pk,
                username=person.get_username(),
                via=f"api-token:{person._api_token.prefix}",
            )
        )
        return person


# The project's API authentication: a bearer token, else the session (with its CSRF check).
API_AUTH = [BearerAuth(), django_auth]
