"""Delivery channels: how one notification reaches a person.

A channel is an object with a `name` and `send(notification)`. `send` returns when the message
has been handed over and raises to signal failure: any exception means "try again later" (with
backoff), `PermanentFailure` means "never going to work" (no phone number…) and gives up at once.

Built-ins: `inbox` (the row itself is the in-app message), `log` (a line on the
"chengguan.notify" logger), `sms` (through the NOTIFY_SMS_BACKEND adapter) and `email` (Django's
mail framework and its EMAIL_* settings). A deployment adds or replaces channels with
NOTIFY_CHANNEL_CLASSES = {name: dotted path}; code and tests may `register()` an instance.

**Idempotency towards providers.** `send` runs inside the transaction that claimed the row and is
followed by stamping `sent_at`; if the worker dies after the provider accepted a message but before
that commit, the row is delivered again later. Our outbox is exactly-once, the hand-over to an
external provider is at-least-once. Each external send therefore carries `notification.reference`
("cg-notify-<id>", the same on every retry): the SMS adapter gets it as `reference=` (pass it as
the provider's client-side message id / out-id where the provider deduplicates on it), e-mail
carries it as a fixed `Message-ID` and an `X-Chengguan-Notification` header (mail clients and
archives collapse duplicates by Message-ID).
"""

from __future__ import annotations

import abc
import logging
from functools import cache

from django.core.mail import EmailMessage
from django.utils.module_loading import import_string

from .conf import setting

logger = logging.getLogger("chengguan.notify")


class PermanentFailure(Exception):
    """Raised by a channel when retrying cannot help (no address, rejected number…)."""


class Channel(abc.ABC):
    """One way of delivering a notification. Subclass, set `name`, implement `send`."""

    name: str = ""
    external: bool = False  # reaches outside the system (needs the idempotency reference)

    @abc.abstractmethod
    def send(self, notification) -> None:
        """Deliver, or raise (PermanentFailure when retrying cannot help)."""


class InboxChannel(Channel):
    """The row is the in-app message: delivery only records that it is in the inbox."""

    name = "inbox"

    def send(self, notification) -> None:
        return None


class LogChannel(Channel):
    """One line on the "chengguan.notify" logger (the default for development and audit trails)."""

    name = "log"

    def send(self, notification) -> None:
        logger.info(
            "notification id=%s kind=%s to=%s title=%s link=%s",
            notification.pk,
            notification.kind,
            notification.recipient_id,
            notification.title,
            notification.link,
        )


def absolute_link(link: str) -> str:
    base = (setting("NOTIFY_BASE_URL") or "").rstrip("/")
    if not link or not base or "://" in link:
        return link
    return base + (link if link.startswith("/") else "/" + link)


def message_text(notification) -> str:
    """Title, body and link as one plain text."""
    parts = [notification.title]
    if notification.body:
        parts.append(notification.body)
    if notification.link:
        parts.append(absolute_link(notification.link))
    return "\n".join(parts)


# --- SMS -----------------------------------------------------------------------------------------


class SmsBackend(abc.ABC):
    """An SMS provider adapter (NOTIFY_SMS_BACKEND names a subclass).

    `send_sms` returns once the provider accepted the message and raises on failure
    (`PermanentFailure` for a rejected number). `reference` is stable across retries of one
    notification: pass it to the provider as its idempotency / client message id so a retry after a
    crash is not delivered twice. Set a network timeout well below a minute: the worker holds the
    notification's row lock while it waits.
    """

    @abc.abstractmethod
    def send_sms(self, phone: str, text: str, *, reference: str) -> None:
        """Hand the message to the provider; raise on failure."""


class ConsoleSmsBackend(SmsBackend):
    """Development: logs the message on "chengguan.notify.sms" instead of sending it."""

    def send_sms(self, phone: str, text: str, *, reference: str) -> None:
        logging.getLogger("chengguan.notify.sms").info("SMS ref=%s to=%s: %s", reference, phone, text)


@cache
def _sms_backend(path: str) -> SmsBackend:
    return import_string(path)()


def sms_backend() -> SmsBackend:
    return _sms_backend(setting("NOTIFY_SMS_BACKEND"))


class SmsChannel(Channel):
    name = "sms"
    external = True

    def send(self, notification) -> None:
        phone = (getattr(notification.recipient, "phone", "") or "").strip()
        if not phone:
            raise PermanentFailure("recipient has no phone number")
        sms_backend().send_sms(phone, message_text(notification), reference=notification.reference)


# --- e-mail --------------------------------------------------------------------------------------


class EmailChannel(Channel):
    """Django's mail framework (EMAIL_BACKEND, EMAIL_HOST… settings), one message per row."""

    name = "email"
    external = True

    def send(self, notification) -> None:
        address = (notification.recipient.email or "").strip()
        if not address:
            raise PermanentFailure("recipient has no e-mail address")
        domain = (setting("NOTIFY_BASE_URL") or "").split("://")[-1].split("/")[0] or "chengguan.local"
        message = EmailMessage(
            subject=notification.title,
            body=message_text(notification),
            from_email=setting("NOTIFY_EMAIL_FROM"),  # None: DEFAULT_FROM_EMAIL
            to=[address],
            headers={
                "Message-ID": f"<{notification.reference}@{domain}>",
                "X-Chengguan-Notification": notification.reference,
            },
        )
        message.send(fail_silently=False)


# --- registry ------------------------------------------------------------------------------------

_BUILTIN: dict[str, type[Channel]] = {c.name: c for c in (InboxChannel, LogChannel, SmsChannel, EmailChannel)}
_REGISTERED: dict[str, Channel] = {}


def register(channel: Channel) -> Channel:
    """Make `channel` available under `channel.name` (replacing any channel of that name)."""
    if not channel.name:
        raise ValueError("a channel needs a name")
    _REGISTERED[channel.name] = channel
    return channel


def unregister(name: str) -> None:
    _REGISTERED.pop(name, None)


def get_channel(name: str) -> Channel:
    """The channel called `name`: registered instances first, then NOTIFY_CHANNEL_CLASSES, then the
    built-ins. KeyError when there is none."""
    if name in _REGISTERED:
        return _REGISTERED[name]
    configured = setting("NOTIFY_CHANNEL_CLASSES") or {}
    if name in configured:
        return import_string(configured[name])()
    if name in _BUILTIN:
        return _BUILTIN[name]()
    raise KeyError(name)


def known(name: str) -> bool:
    try:
        get_channel(name)
    except KeyError:
        return False
    return True


def active_channels() -> list[str]:
    """The channels a notification goes out on when its sender names none (NOTIFY_CHANNELS)."""
    return list(setting("NOTIFY_CHANNELS"))
