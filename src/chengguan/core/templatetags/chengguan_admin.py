from django import template

register = template.Library()


@register.simple_tag(takes_context=True)
def calendar_warnings(context) -> list[str]:
    """Warnings about the working-time calendar, for people who maintain it."""
    request = context.get("request")
    if request is None or not request.user.has_perm("core.change_calendaroverride"):
        return []
    from chengguan.core.calendar import calendar_warnings as warnings

    return warnings()
