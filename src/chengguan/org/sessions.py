"""Sessions of people: who is logged in where, ending sessions, and their lifetime.

* **The index.** Django's session store is keyed by session, not by person; `UserSession` rows,
  written at login and removed at logout, say which sessions a person has, so they can be ended:
  every session of an account that is disabled (`is_active` set to false: a signal here), and
  any session an administrator chooses (admin → 人员 / 登录会话 → "结束会话").
  A small model rather than django-user-sessions: that package replaces the session engine
  (its own backend and middleware, database only), where an index works with whatever engine
  `SESSION_ENGINE` names and stays a few dozen lines.
* **Django's own check.** On every request the session's person is loaded through the auth
  backend (`RoleBackend`, a `ModelBackend`), which refuses an inactive person
  (`user_can_authenticate`): a disabled account is anonymous on its very next request even where
  its session could not be deleted. A password change ends the person's other sessions (the
  session's password hash no longer matches).
* **Lifetime** (`SessionLifetimeMiddleware`): a session ends after `SESSION_IDLE_SECONDS` without
  a request (30 minutes) and `SESSION_ABSOLUTE_SECONDS` after login (12 hours) whatever happens.
  Activity is written into the session at most once a minute (`SEEN_RESOLUTION`), not on every
  request.
"""

from __future__ import annotations

import hashlib
import time
from importlib import import_module

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import SESSION_KEY, logout, user_logged_in, user_logged_out
from django.db.models.signals import post_save
from django.utils.translation import gettext as _

from .models import Person, UserSession

STARTED = "_cg_started"  # time.time() at login
SEEN = "_cg_seen"  # time.time() of the last request (to SEEN_RESOLUTION)
SEEN_RESOLUTION = 60.0


def idle_seconds() -> float:
    return float(getattr(settings, "SESSION_IDLE_SECONDS", 30 * 60))


def absolute_seconds() -> float:
    return float(getattr(settings, "SESSION_ABSOLUTE_SECONDS", 12 * 3600))


def _store():
    return import_module(settings.SESSION_ENGINE).SessionStore


def session_label(session_key: str) -> str:
    """A name for a session that does not reveal it (its key is a credential)."""
    return hashlib.sha256(session_key.encode()).hexdigest()[:10]


# --- the index --------------------------------------------------------------------------------------


def _client_ip(request) -> str | None:
    from chengguan.web.ratelimit import client_ip

    value = client_ip(request) if request is not None else ""
    return value or None


def record_login(request, person: Person) -> None:
    session = getattr(request, "session", None)
    if session is None:
        return
    from . import twofactor
    from .middleware import PASSWORD_STATE
    from .passwords import password_expired

    now = time.time()
    session[STARTED] = now
    session[SEEN] = now
    # What the login still owes, decided now rather than on the first page (no write there).
    session[twofactor.SESSION_STATE] = twofactor.state(person)
    session[twofactor.SESSION_STAMP] = person.access_stamp
    session[PASSWORD_STATE] = password_expired(person)
    if not session.session_key:
        session.save()
    meta = getattr(request, "META", {}) or {}
    UserSession.objects.update_or_create(
        session_key=session.session_key,
        defaults={
            "person": person,
            "ip": _client_ip(request),
            "user_agent": (meta.get("HTTP_USER_AGENT") or "")[:200],
        },
    )


def follow_new_key(old_key: str | None, new_key: str | None) -> None:
    """The session's key changed (login, two-factor step, password change cycle the key)."""
    if old_key and new_key and old_key != new_key:
        UserSession.objects.filter(session_key=old_key).update(session_key=new_key)


def end_session(session_key: str) -> None:
    _store()(session_key=session_key).delete()
    UserSession.objects.filter(session_key=session_key).delete()


def end_sessions(person: Person, *, keep: str | None = None) -> int:
    """End every session of the person (but `keep`); returns how many were ended."""
    keys = list(
        UserSession.objects.filter(person=person)
        .exclude(session_key=keep or "")
        .values_list("session_key", flat=True)
    )
    for key in keys:
        end_session(key)
    return len(keys)


def _logged_in(sender, request, user, **kwargs):
    if isinstance(user, Person):
        record_login(request, user)


def _logged_out(sender, request, user, **kwargs):
    session = getattr(request, "session", None)
    if session is not None and session.session_key:
        UserSession.objects.filter(session_key=session.session_key).delete()


def _person_saved(sender, instance: Person, created, raw=False, **kwargs):
    if raw or created or instance.is_active:
        return
    end_sessions(instance)


def connect() -> None:
    user_logged_in.connect(_logged_in, dispatch_uid="org-sessions-login")
    user_logged_out.connect(_logged_out, dispatch_uid="org-sessions-logout")
    post_save.connect(_person_saved, sender=Person, dispatch_uid="org-sessions-disabled")


# --- lifetime ---------------------------------------------------------------------------------------


class SessionLifetimeMiddleware:
    """Ends a logged-in session after the idle timeout and the absolute lifetime (see above).

    After MessageMiddleware (it leaves a message for the login page) and before the views: an
    ended session is logged out and the request goes on anonymous, so a page redirects to the
    login page and the API answers 401.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        session = request.session
        key_before = session.session_key
        if SESSION_KEY in session:
            now = time.time()
            started = session.get(STARTED)
            seen = session.get(SEEN)
            if started is None or seen is None:  # a session from before this middleware
                session[STARTED] = started = now if started is None else started
                session[SEEN] = seen = now
            if now - seen > idle_seconds() or now - started > absolute_seconds():
                idle = now - seen > idle_seconds()
                logout(request)
                messages.info(
                    request,
                    _("长时间未操作，已自动退出，请重新登录。")
                    if idle
                    else _("登录时间已达上限，请重新登录。"),
                )
            elif now - seen >= SEEN_RESOLUTION:
                session[SEEN] = now
        response = self.get_response(request)
        key_after = getattr(request.session, "session_key", None)
        if key_before and key_after and key_before != key_after and SESSION_KEY in request.session:
            follow_new_key(key_before, key_after)
        return response
