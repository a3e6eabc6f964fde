"""Template helpers of the pages: navigation, the map configuration, remaining time."""

from __future__ import annotations

from django import template
from django.conf import settings
from django.urls import reverse
from django.utils.html import json_script
from django.utils.translation import gettext as _

from chengguan.cases.choices import CaseStatus

from ..nav import nav_items

register = template.Library()


@register.simple_tag(takes_context=True)
def web_nav(context):
    """The navigation links the current person may follow: [(item, url), …]."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None:
        return []
    return [(item, item.url()) for item in nav_items(user)]


@register.simple_tag
def map_config():
    """The map settings for static/web/map.js, as a JSON <script> (no inline code)."""
    config = {
        "tileUrl": settings.TILE_URL,
        "tileAttribution": settings.TILE_ATTRIBUTION,
        "tileCrs": getattr(settings, "TILE_CRS", "wgs84"),
        "boundariesUrl": reverse("web:map_boundaries"),
        "casesUrl": reverse("web:map_cases"),
        "caseUrl": reverse("web:case_detail", args=[0]).replace("/0/", "/{id}/"),
        "statuses": {value: str(label) for value, label in CaseStatus.choices},
        "overdueLabel": _("已超期"),
    }
    return json_script(config, "cg-map-config")


@register.filter
def remaining_text(remaining) -> str:
    """ "剩余 3 工作时 20 分" / "已超期 1 小时 5 分" for a deadlines.Remaining."""
    if remaining is None:
        return ""
    minutes = int(abs(remaining.left.total_seconds()) // 60)
    hours, minutes = divmod(minutes, 60)
    if remaining.working:
        amount = _("%(h)d 工作时 %(m)d 分") % {"h": hours, "m": minutes}
    else:
        amount = _("%(h)d 小时 %(m)d 分") % {"h": hours, "m": minutes}
    if remaining.overdue:
        return _("已超期 %(t)s") % {"t": amount}
    return _("剩余 %(t)s") % {"t": amount}


@register.filter
def masked_phone(value) -> str:
    """A person's phone as pages show it by default: 138****1234 (core.masking)."""
    from chengguan.core.masking import mask_phone

    return mask_phone(value)
