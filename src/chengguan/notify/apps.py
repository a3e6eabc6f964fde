from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotifyConfig(AppConfig):
    name = "chengguan.notify"
    label = "notify"
    verbose_name = _("消息通知")

    def ready(self) -> None:
        from . import policies  # noqa: F401  (registers the permission policies on import)
        from .conf import setting
        from .jobs import deliver_notifications
        from .periodic import register_periodic

        # The sweep: retries that fell due, and rows whose delivery task was lost.
        register_periodic("notify.deliver", setting("NOTIFY_SWEEP_SECONDS"), deliver_notifications)
