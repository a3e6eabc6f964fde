"""Logging in and the account's security: password (axes counts failures), the second factor,
enrolling an authenticator app, changing the password (forced when it has expired), logout.

The order of a login: `/login/` (username and password; 5 failures of one username from one
address lock that pair for 15 minutes) → `/login/otp/` for whoever needs a second factor (or
`/account/two-factor/` to enrol one first) → `/account/password/` when the password has expired →
the page asked for, or the person's landing page. `org.middleware.AccountStepsMiddleware` keeps a
session that still owes a step away from everything else.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import PasswordChangeForm
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters

from chengguan.org import twofactor
from chengguan.org.middleware import PASSWORD_STATE, STEP_URLS, pending_step
from chengguan.org.sessions import end_sessions

from ..forms import LoginForm


def _next(request) -> str:
    """The page asked for before the login steps, if it is on this site; else the landing page."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse("web:landing")


def _continue(request):
    """On to the next step the session owes, or to where the person was going."""
    step = pending_step(request)
    target = _next(request)
    if step is not None:
        return redirect(_step_url(step, target))
    return redirect(target)


def _step_url(step: str, target: str) -> str:
    return f"{reverse(STEP_URLS[step])}?{urlencode({'next': target})}"


class LoginView(auth_views.LoginView):
    template_name = "web/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True

    def get_success_url(self):
        step = pending_step(self.request)
        target = super().get_success_url()
        return _step_url(step, target) if step is not None else target


class TokenForm(forms.Form):
    token = forms.CharField(
        label=_("动态验证码"),
        max_length=8,
        help_text=_("身份验证器应用中显示的 6 位数字"),
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "inputmode": "numeric",
                "pattern": "[0-9]*",
                "autofocus": True,
            }
        ),
    )


@never_cache
@login_required
@sensitive_post_parameters("token")
def login_otp(request):
    """The second step of a login: a code from the person's authenticator app."""
    if twofactor.pending(request) != "otp":
        return _continue(request)
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if twofactor.verify(request, form.cleaned_data["token"]):
            return _continue(request)
        form.add_error("token", _("验证码不正确、已使用或尝试过于频繁，请等待新的验证码后重试。"))
    return render(request, "web/auth/otp.html", {"form": form, "next": _next(request)})


class ReauthForm(forms.Form):
    """The password again (and a code, once enrolled) before devices change (ASVS 7.5.1)."""

    password = forms.CharField(
        label=_("登录密码"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password", "autofocus": True}),
    )
    token = forms.CharField(
        label=_("动态验证码"),
        max_length=8,
        required=False,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "pattern": "[0-9]*"}
        ),
    )


@never_cache
@login_required
@sensitive_post_parameters("token", "password")
def two_factor(request):
    """Enrol an authenticator app (QR code and secret), or see and remove the person's devices;
    either needs a recent password check (the login, or the password again here)."""
    step = twofactor.pending(request)
    if step == "otp":  # a device exists: it must be used before anything about devices changes
        return _continue(request)
    first_login = step == "enrol"
    if first_login and not getattr(settings, "OTP_ENROL_AT_FIRST_LOGIN", True):
        return render(request, "web/auth/no_device.html", status=403)
    required = twofactor.is_required(request.user)
    enrolled = list(twofactor.devices(request.user))
    action = request.POST.get("action") if request.method == "POST" else None
    adding = bool(request.GET.get("add") or request.POST.get("add"))
    reauth_form = ReauthForm(request.POST if action == "reauth" else None)
    if action == "reauth":
        if reauth_form.is_valid() and twofactor.reauthenticate(
            request, reauth_form.cleaned_data["password"], reauth_form.cleaned_data["token"]
        ):
            query = {k: v for k, v in (("add", "1" if adding else ""), ("next", _next(request))) if v}
            return redirect(f"{reverse('web:two_factor')}?{urlencode(query)}")
        if not reauth_form.errors:
            reauth_form.add_error(None, _("密码或动态验证码不正确。"))
    fresh = twofactor.reauth_fresh(request)
    if action == "remove":
        if required or not enrolled:
            return redirect("web:two_factor")
        if not fresh:
            messages.error(request, _("请先输入密码验证身份，再停用两步验证。"))
            return redirect("web:two_factor")
        twofactor.remove_devices(request)
        messages.success(request, _("已停用两步验证"))
        return redirect("web:two_factor")
    form = TokenForm(request.POST if action is None and request.method == "POST" else None)
    device = None
    if fresh and (not enrolled or adding or form.is_bound):
        device = twofactor.enrolment_device(request.user)
        if form.is_bound and form.is_valid():
            if twofactor.confirm(request, device, form.cleaned_data["token"]):
                messages.success(request, _("两步验证已启用：以后登录时需要输入动态验证码"))
                return _continue(request)
            form.add_error("token", _("验证码不正确，请核对手机时间后输入应用中当前显示的验证码。"))
    context = {
        "form": form,
        "reauth_form": reauth_form,
        "reauth_needed": not fresh,
        "reauth_code": bool(enrolled),
        "adding": adding or not enrolled,
        "required": required,
        "first_login": first_login,
        "enrolled": enrolled,
        "device": device,
        "qr_svg": twofactor.qr_svg(device) if device else "",
        "secret": twofactor.secret_base32(device) if device else "",
        "next": _next(request),
    }
    return render(request, "web/auth/two_factor.html", context)


class NewPasswordForm(PasswordChangeForm):
    def clean(self):
        cleaned = super().clean()
        new = cleaned.get("new_password1")
        if new and self.user.check_password(new):
            self.add_error("new_password1", _("新密码不能与当前密码相同"))
        return cleaned


@never_cache
@login_required
@sensitive_post_parameters("old_password", "new_password1", "new_password2")
def password_change(request):
    """Change the password; after login, the only page open to a person whose password expired."""
    if twofactor.pending(request) is not None:
        return _continue(request)
    expired = bool(request.session.get(PASSWORD_STATE))
    form = NewPasswordForm(request.user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        form.save()
        # The others end (audited as such); this one stays.
        end_sessions(form.user, keep=request.session.session_key, reason="password_changed")
        update_session_auth_hash(request, form.user)
        request.session[PASSWORD_STATE] = False
        messages.success(request, _("密码已修改"))
        return _continue(request)
    return render(
        request, "web/auth/password.html", {"form": form, "expired": expired, "next": _next(request)}
    )


urlpatterns = [
    path("login/", LoginView.as_view(), name="login"),
    path("login/otp/", login_otp, name="login_otp"),
    path("account/two-factor/", two_factor, name="two_factor"),
    path("account/password/", password_change, name="password_change"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
]


def lockout_response(request, original_response=None, credentials=None):
    """django-axes' answer once a username is locked from an address (AXES_LOCKOUT_CALLABLE): a
    page saying so, 429, the same whether or not the username exists."""
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    return render(request, "web/auth/locked.html", {"lock_minutes": minutes}, status=429)
