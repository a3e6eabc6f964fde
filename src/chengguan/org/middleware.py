"""The steps a logged-in person owes before anything else: the second factor (org/twofactor.py)
and, when their password has expired, a new password (org/passwords.py).

Until then every request is turned to that step's page, whatever it asked for: pages and the
admin site are redirected (htmx requests get `HX-Redirect`), the session API answers 401. Logout,
the language switch and static files stay open. Place it after AuthenticationMiddleware,
django-otp's OTPMiddleware and MessageMiddleware.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpResponseRedirect, JsonResponse
from django.urls import NoReverseMatch, reverse
from django_htmx.http import HttpResponseClientRedirect

from . import twofactor
from .passwords import password_expired

PASSWORD_STATE = "_cg_pw_expired"

STEP_URLS = {"otp": "web:login_otp", "enrol": "web:two_factor", "password": "web:password_change"}
OPEN_URLS = ("web:logout", "admin:logout", "set_language")


def password_step_due(request) -> bool:
    value = request.session.get(PASSWORD_STATE)
    if value is None:
        value = request.session[PASSWORD_STATE] = password_expired(request.user)
    return bool(value)


def pending_step(request) -> str | None:
    if not request.user.is_authenticated:
        return None
    step = twofactor.pending(request)
    if step is not None:
        return step
    return "password" if password_step_due(request) else None


def _open_paths() -> set[str]:
    paths = set()
    for name in OPEN_URLS:
        try:
            paths.add(reverse(name))
        except NoReverseMatch:  # pragma: no cover - an URL map without that page
            continue
    return paths


class AccountStepsMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self._open: set[str] | None = None

    def __call__(self, request):
        step = pending_step(request)
        if step is not None and not self._is_open(request.path_info, step):
            return self._to_step(request, step)
        return self.get_response(request)

    def _is_open(self, path: str, step: str) -> bool:
        """Logout, the language switch, static files and the page of the step owed (only that one)."""
        if self._open is None:
            self._open = _open_paths()
        static = "/" + settings.STATIC_URL.lstrip("/")
        return path in self._open or path == reverse(STEP_URLS[step]) or path.startswith(static)

    @staticmethod
    def _to_step(request, step: str):
        if request.path_info.startswith("/api/"):
            return JsonResponse(
                {
                    "code": "two_factor_required" if step != "password" else "password_expired",
                    "message": "请先在网页上完成登录（动态验证码或修改过期密码）· "
                    "finish logging in on the web first (one-time code, or change the expired password)",
                    "detail": None,
                },
                status=401,
            )
        url = reverse(STEP_URLS[step])
        if request.method == "GET":
            url += "?" + urlencode({"next": request.get_full_path()})
        if request.headers.get("HX-Request") == "true":  # (HtmxMiddleware runs after this one)
            return HttpResponseClientRedirect(url)
        return HttpResponseRedirect(url)
