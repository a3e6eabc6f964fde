"""Two-factor authentication (等保 2.0 身份鉴别 d: two factors, one cryptographic): TOTP codes
from an authenticator app (django-otp's TOTP device: RFC 6238, 30-second steps, one step of
tolerance, a code used once, exponential back-off after wrong codes).

* **Who.** Required for the system, security and audit administrators (`OTP_REQUIRED_ROLES`) and
  for superusers; optional for everyone else, and once a person has enrolled a device it is
  required for them too.
* **When.** After the password: a session whose person needs the second factor and has not given
  it yet reaches nothing but the code page (or, with no device yet, the enrolment page) and
  logout — pages, the admin site and the session API alike (`AccountStepsMiddleware`).
* **Enrolment.** On the account page (`web:two_factor`): a QR code drawn on the server as SVG (no
  image library, no network) and the secret for manual entry; the device counts once a code from
  it has been checked. An administrator who has no device yet enrols at their first login
  (`OTP_ENROL_AT_FIRST_LOGIN`, on by default; switch it off to hand out devices only with
  `chengguan otp enrol USERNAME`); once a person has a device, adding or removing one needs a
  session that passed the code.
* **Re-authentication** (ASVS 7.5.1). Showing a new device's secret, confirming it and removing
  devices also need a recent password check (`REAUTH_SECONDS`, 5 minutes: the login itself, or
  `reauthenticate()` with the password and, for an enrolled person, a code). Wrong passwords count
  towards the login lockout like any other.
* **Audit.** A code accepted or refused (`otp_verified`, `otp_failed`), a device confirmed
  (`otp_enrol`) or removed (`otp_removed`, by the person or by an administrator: the admin site,
  `chengguan otp reset`) and a re-authentication (`reauth`) are in the audit log (the signals at
  the end of this module see devices however they change).
"""

from __future__ import annotations

import time
from base64 import b32encode

import qrcode
import qrcode.image.svg
from django.conf import settings
from django.contrib.auth import authenticate
from django.db import transaction
from django.db.models.signals import post_delete, post_save, pre_save
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp import login as otp_login
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from chengguan.core import audit, context
from chengguan.core.models import AuditAction

from .choices import Role

DEVICE_NAME = "authenticator"
SESSION_STATE = "_cg_2fa"  # "required" | "enrolled" | "none", decided at login
SESSION_STAMP = "_cg_2fa_stamp"  # the person's access_stamp then: new roles decide it again

DEFAULT_REQUIRED_ROLES = (Role.SYSTEM_ADMIN, Role.SECURITY_ADMIN, Role.AUDITOR)


def required_roles() -> tuple[str, ...]:
    return tuple(getattr(settings, "OTP_REQUIRED_ROLES", DEFAULT_REQUIRED_ROLES))


def is_required(person) -> bool:
    """Must this person give a second factor (their roles, or superuser)?"""
    return bool(person.is_superuser or person.has_role(*required_roles()))


def devices(person):
    return TOTPDevice.objects.filter(user=person, confirmed=True)


def is_enrolled(person) -> bool:
    return devices(person).exists()


def state(person) -> str:
    if is_required(person):
        return "required"
    return "enrolled" if is_enrolled(person) else "none"


def session_state(request) -> str:
    """The session's two-factor state, decided at login (no query on every request) and again
    whenever the person's roles change (their access_stamp moves): a role that requires the
    second factor, granted during a session, asks for it at the next request."""
    value = request.session.get(SESSION_STATE)
    stamp = request.user.access_stamp
    if value not in {"required", "enrolled", "none"} or request.session.get(SESSION_STAMP) != stamp:
        value = request.session[SESSION_STATE] = state(request.user)
        request.session[SESSION_STAMP] = stamp
    return value


def pending(request) -> str | None:
    """The step owed: "otp" (enter a code), "enrol" (no device yet, but one is required) or None (nothing owed)."""
    user = request.user
    if not user.is_authenticated or session_state(request) == "none":
        return None
    if getattr(user, "is_verified", lambda: False)():
        return None
    return "otp" if is_enrolled(user) else "enrol"


def enrolment_device(person) -> TOTPDevice:
    """The person's device being enrolled (unconfirmed), made on first use and kept while the
    person types its first code, so the QR code does not change between tries."""
    with transaction.atomic():
        device = TOTPDevice.objects.filter(user=person, confirmed=False).order_by("pk").first()
        if device is None:
            device = TOTPDevice.objects.create(user=person, name=DEVICE_NAME, confirmed=False)
    return device


def secret_base32(device: TOTPDevice) -> str:
    return b32encode(device.bin_key).decode("ascii")


def qr_svg(device: TOTPDevice) -> str:
    """The device's otpauth:// URL as an SVG QR code (markup, drawn on the server)."""
    image = qrcode.make(device.config_url, image_factory=qrcode.image.svg.SvgPathFillImage, box_size=8)
    return image.to_string(encoding="unicode")


def confirm(request, device: TOTPDevice, token: str) -> bool:
    """Check the first code of a device being enrolled; on success it counts, and this session
    has passed the second factor."""
    if device.confirmed or device.user_id != request.user.pk:
        return False
    if not device.verify_token((token or "").strip()):
        audit.person_event(AuditAction.OTP_FAILED, request.user, {"step": "enrol", "device": device.name})
        return False
    device.confirmed = True
    device.save(update_fields=["confirmed"])  # audited as otp_enrol (the signal below)
    mark_verified(request, device)
    return True


def check_code(person, token: str) -> TOTPDevice | None:
    """The person's device that accepts this code (each code once), or None; every device's
    back-off counts a malformed code as a wrong one."""
    token = (token or "").strip()
    if not token.isdigit():
        for device in devices(person):
            device.throttle_increment()
        return None
    for device in devices(person):
        with transaction.atomic():
            locked = TOTPDevice.objects.select_for_update().get(pk=device.pk)
            if locked.verify_token(token):
                return locked
    return None


def verify(request, token: str, *, step: str = "login") -> bool:
    """Check a code against the person's devices; on success this session has passed."""
    device = check_code(request.user, token)
    if device is None:
        audit.person_event(AuditAction.OTP_FAILED, request.user, {"step": step})
        return False
    audit.person_event(AuditAction.OTP_VERIFIED, request.user, {"step": step, "device": device.name})
    mark_verified(request, device)
    return True


# --- re-authentication before device changes ----------------------------------------------------------


def reauth_seconds() -> float:
    return float(getattr(settings, "REAUTH_SECONDS", 300))


def reauth_fresh(request) -> bool:
    """Did this session check the password (at login or again) within REAUTH_SECONDS?"""
    from .sessions import REAUTH

    checked = request.session.get(REAUTH)
    return checked is not None and 0 <= time.time() - checked <= reauth_seconds()


def reauthenticate(request, password: str, token: str = "") -> bool:
    """The person proves it is them again: the password (through the auth backends, so a wrong one
    counts towards the lockout and is audited as a failed login) and, once enrolled, a code."""
    from .sessions import REAUTH

    person = request.user
    checked = authenticate(request, username=person.get_username(), password=password or "")
    if checked is None or checked.pk != person.pk:
        return False
    if is_enrolled(person) and check_code(person, token) is None:
        audit.person_event(AuditAction.OTP_FAILED, person, {"step": "reauth"})
        return False
    request.session[REAUTH] = time.time()
    audit.person_event(AuditAction.REAUTH, person, {"code": is_enrolled(person)})
    return True


def mark_verified(request, device: TOTPDevice) -> None:
    """Record the device in the session, under a new session key (the session's privilege rose)."""
    otp_login(request, device)
    request.session[SESSION_STATE] = "required" if is_required(request.user) else "enrolled"
    old_key = request.session.session_key
    request.session.cycle_key()
    from .sessions import follow_new_key

    follow_new_key(old_key, request.session.session_key)


def remove_devices(request) -> int:
    """Remove the person's devices (only when two-factor is optional for them); each audited."""
    count = 0
    for device in TOTPDevice.objects.filter(user=request.user):
        device.delete()
        count += 1
    request.session.pop(DEVICE_ID_SESSION_KEY, None)
    request.session[SESSION_STATE] = "none"
    return count


def current_code(device: TOTPDevice, *, at: float | None = None) -> str:
    """The code the device's app shows now (for the demo's command line and for tests)."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() if at is None else at
    return f"{totp.token():0{device.digits}d}"


def provision(person, *, name: str = DEVICE_NAME) -> TOTPDevice:
    """A confirmed device for the person, made by an administrator on the command line (the
    secret is then handed over as a QR code or text)."""
    return TOTPDevice.objects.create(user=person, name=name, confirmed=True)


# --- audit of device changes, however they happen -------------------------------------------------------


def _device_event(action: str, device: TOTPDevice) -> None:
    person = device.user
    actor = context.current().user_id
    audit.person_event(
        action,
        person,
        {
            "device": device.name,
            "confirmed": device.confirmed,
            "by": "self" if actor == person.pk else ("administrator" if actor else "system"),
        },
    )


def _device_pre_save(sender, instance: TOTPDevice, raw=False, update_fields=None, **kwargs):
    if raw or instance.pk is None or (update_fields is not None and "confirmed" not in update_fields):
        instance._audit_was_confirmed = None
        return
    instance._audit_was_confirmed = (
        TOTPDevice.objects.filter(pk=instance.pk).values_list("confirmed", flat=True).first()
    )


def _device_saved(sender, instance: TOTPDevice, created, raw=False, **kwargs):
    if raw or not instance.confirmed:
        return
    if created or getattr(instance, "_audit_was_confirmed", None) is False:
        _device_event(AuditAction.OTP_ENROL, instance)


def _device_deleted(sender, instance: TOTPDevice, **kwargs):
    _device_event(AuditAction.OTP_REMOVED, instance)


def connect() -> None:
    pre_save.connect(_device_pre_save, sender=TOTPDevice, dispatch_uid="org-2fa-audit-pre")
    post_save.connect(_device_saved, sender=TOTPDevice, dispatch_uid="org-2fa-audit-save")
    post_delete.connect(_device_deleted, sender=TOTPDevice, dispatch_uid="org-2fa-audit-delete")
