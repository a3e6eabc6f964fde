"""The notify app's settings, each with its default; a deployment overrides any of them in settings.py.

Read them through `setting(name)` (never at import time) so tests can change them with
`override_settings` / pytest-django's `settings` fixture.

NOTIFY_CHANNELS            channels a notification goes out on when the caller names none:
                           ["inbox", "log"]. Add "sms" and/or "email" where a provider is set up.
NOTIFY_CHANNEL_CLASSES     extra channels, {name: "dotted.path.ToChannelClass"}, on top of the
                           built-ins (inbox, log, sms, email); a class here replaces a built-in
                           of the same name: {}.
NOTIFY_SMS_BACKEND         the SMS provider adapter (a subclass of `channels.SmsBackend`):
                           "chengguan.notify.channels.ConsoleSmsBackend" (logs, sends nothing).
NOTIFY_EMAIL_FROM          sender address of notification e-mail; None: DEFAULT_FROM_EMAIL.
NOTIFY_BASE_URL            prefix of links in SMS and e-mail ("https://cg.example.gov.cn");
                           "": links stay site-relative paths.
NOTIFY_MAX_ATTEMPTS        delivery attempts before a notification is marked failed: 8.
NOTIFY_RETRY_BASE_SECONDS  the first retry waits this long, each later one twice the previous: 30.
NOTIFY_RETRY_MAX_SECONDS   ... but never longer than this: 6 h (21600).
NOTIFY_SWEEP_SECONDS       how often `chengguan worker` enqueues a delivery sweep (retries that
                           fell due, and rows whose enqueue was lost to a crash): 60.
NOTIFY_BATCH               notifications one `deliver_pending()` call handles at most: 100.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

DEFAULTS: dict[str, Any] = {
    "NOTIFY_CHANNELS": ["inbox", "log"],
    "NOTIFY_CHANNEL_CLASSES": {},
    "NOTIFY_SMS_BACKEND": "chengguan.notify.channels.ConsoleSmsBackend",
    "NOTIFY_EMAIL_FROM": None,
    "NOTIFY_BASE_URL": "",
    "NOTIFY_MAX_ATTEMPTS": 8,
    "NOTIFY_RETRY_BASE_SECONDS": 30,
    "NOTIFY_RETRY_MAX_SECONDS": 6 * 3600,
    "NOTIFY_SWEEP_SECONDS": 60,
    "NOTIFY_BATCH": 100,
}


def setting(name: str) -> Any:
    """The current value of one NOTIFY_* setting (settings.py first, then the default above)."""
    return getattr(settings, name, DEFAULTS[name])
