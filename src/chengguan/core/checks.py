"""System checks of the core app (registered on import, from CoreConfig.ready())."""

from __future__ import annotations

from django.core import checks
from django.db import DatabaseError, connection
from django.utils.translation import gettext as _


@checks.register("chengguan")
def check_calendar(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """chengguan.W001: a year around today without statutory holiday data nor administrator overrides.

    Silent when the database is unreachable or not migrated yet (e.g. during the first migrate).
    """
    if app_configs is not None and not any(config.label == "core" for config in app_configs):
        return []
    from .calendar import calendar_warnings
    from .models import CalendarOverride

    try:
        # Look before querying: a failed query would break an enclosing transaction on PostgreSQL.
        if CalendarOverride._meta.db_table not in connection.introspection.table_names():
            return []
        messages = calendar_warnings()
    except DatabaseError:
        return []
    hint = _(
        "用 chengguan calendar import 载入国务院公布的该年放假安排（或在“日历调整”中逐日录入），"
        "或升级 chinesecalendar 包。"
    )
    return [checks.Warning(message, hint=hint, id="chengguan.W001") for message in messages]


@checks.register(checks.Tags.security, deploy=True)
def check_data_key(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """chengguan.W002 (deploy): personal data encrypted with a key derived from SECRET_KEY."""
    from django.conf import settings

    from .crypto import key_is_derived

    if not key_is_derived():
        try:  # a malformed key is an error at once, not at the first write
            from .crypto import _key

            _key(settings.DATA_KEY, settings.SECRET_KEY)
        except Exception as exc:
            return [checks.Error(str(exc), id="chengguan.E002")]
        return []
    return [
        checks.Warning(
            _(
                "个人信息加密密钥由 SECRET_KEY 派生 · personal data is encrypted with a key derived from SECRET_KEY"
            ),
            hint=_("生产环境请设置 DATA_KEY（32 字节，base64url 编码）· set DATA_KEY in production"),
            id="chengguan.W002",
        )
    ]
