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
* **Audit.** Every end of a session but a logout (itself audited as one) is in the audit log as
  `session_end` with its reason: `idle`, `expired` (the absolute lifetime), `admin` (ended by the
  security administrator), `disabled` (the account was disabled), `password_changed` (the person's
  other sessions), `cleared` (gone from the session store: found by `clear_sessions`).
* **Cleanup** (`clear_sessions`: the worker every 5 minutes, `chengguan sessions clear`): the
  store's expired sessions are deleted (as Django's `clearsessions`), and so are the index rows of
  sessions that are gone, idle or past their lifetime — a person who never comes back is logged
  out there, not only at their next request.
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

from chengguan.core import audit
from chengguan.core.models import AuditAction

from .models import Person, UserSession

STARTED = "_cg_started"  # time.time() at login
REAUTH = "_cg_reauth"  # time.time() of the last password check (login or re-authentication)
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
    session[REAUTH] = now
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


REASONS = ("idle", "expired", "admin", "disabled", "password_changed", "cleared", "ended")


def _audit_end(person, session_key: str, reason: str) -> None:
    audit.person_event(
        AuditAction.SESSION_END, person, {"reason": reason, "session": session_label(session_key)}
    )


def end_session(session_key: str, *, reason: str = "ended") -> None:
    """End one session (its store entry and its index row); audited with the reason."""
    row = UserSession.objects.select_related("person").filter(session_key=session_key).first()
    _store()(session_key=session_key).delete()
    UserSession.objects.filter(session_key=session_key).delete()
    if row is not None:
        _audit_end(row.person, session_key, reason)


def end_sessions(person: Person, *, keep: str | None = None, reason: str = "ended") -> int:
    """End every session of the person (but `keep`); returns how many were ended."""
    keys = list(
        UserSession.objects.filter(person=person)
        .exclude(session_key=keep or "")
        .values_list("session_key", flat=True)
    )
    for key in keys:
        end_session(key, reason=reason)
    return len(keys)


def _expired(data: dict, now: float) -> str | None:
    """Why a session's data says it is over ("idle", "expired"), or None."""
    started, seen = data.get(STARTED), data.get(SEEN)
    if seen is not None and now - seen > idle_seconds():
        return "idle"
    if started is not None and now - started > absolute_seconds():
        return "expired"
    return None


def clear_sessions() -> dict[str, int]:
    """Delete the store's expired sessions, and end the indexed sessions that are gone, idle or
    past their lifetime (each audited); returns counts by reason."""
    store = _store()
    try:
        store.clear_expired()
    except NotImplementedError:  # pragma: no cover - an engine that expires by itself (cookies)
        pass
    counts = {"idle": 0, "expired": 0, "cleared": 0}
    now = time.time()
    for row in UserSession.objects.select_related("person").order_by("pk").iterator(chunk_size=500):
        data = store(session_key=row.session_key).load()  # {} once the store no longer has it
        reason = _expired(data, now) if data else "cleared"
        if reason is None:
            continue
        if reason == "cleared":
            UserSession.objects.filter(pk=row.pk).delete()
            _audit_end(row.person, row.session_key, reason)
        else:
            end_session(row.session_key, reason=reason)
        counts[reason] += 1
    return counts


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
    end_sessions(instance, reason="disabled")


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
            reason = _expired({STARTED: started, SEEN: seen}, now)
            if reason is not None:
                idle = reason == "idle"
                _audit_end(request.user, key_before or "", reason)
                request._audit_session_end = True  # the logout below is this end, not a logout
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
