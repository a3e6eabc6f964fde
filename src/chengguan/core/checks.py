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
    hint = _("在“日历调整”中录入该年的法定节假日和调休工作日，或升级 chinesecalendar 包。")
    return [checks.Warning(message, hint=hint, id="chengguan.W001") for message in messages]
