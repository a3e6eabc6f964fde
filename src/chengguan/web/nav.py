"""Navigation by role and where each role lands after login.

The links come from the areas in `urls.AREAS` (each module's `NAV`); a link shows only when its
`allowed(user)` says so, and that predicate asks the permission chokepoint (`can()`), never a
hand-written list of usernames or roles.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from django.urls import reverse

from chengguan.org.choices import Role


@dataclass(frozen=True)
class NavItem:
    """One link of the navigation bar.

    url_name: a URL name ("web:workbench"); kwargs: its arguments; allowed: may this person use
    the page; order: position (smaller first); key: what `active_nav` in a template names to
    highlight it (defaults to url_name); kwargs_for: URL arguments computed for the person.
    """

    label: str
    url_name: str
    allowed: Callable[[object], bool]
    order: int = 100
    kwargs: dict = field(default_factory=dict)
    key: str = ""

    def url(self) -> str:
        return reverse(self.url_name, kwargs=self.kwargs or None)


# Where each role lands after login (a URL name and its arguments). A page built later replaces
# its role's entry, e.g. Role.OPERATOR: ("web:operator_queue", {}).
LANDING: dict[str, tuple[str, dict]] = {
    Role.INSPECTOR: ("web:inspector_tasks", {}),
    Role.OPERATOR: ("web:desk", {}),
    Role.SHIFT_LEADER: ("web:desk", {}),
    Role.DISPATCHER: ("web:desk", {}),
    Role.HANDLER: ("web:department", {}),
    Role.LEADER: ("web:command", {}),
    Role.SYSTEM_ADMIN: ("admin:index", {}),
    Role.SECURITY_ADMIN: ("admin:index", {}),
    Role.AUDITOR: ("admin:index", {}),
    Role.ASSESSOR: ("web:assessment_plans", {}),
    Role.RECTIFICATION: ("web:assessment_scores", {}),
}
# A person with several roles lands on the first of these they hold.
ROLE_ORDER = [
    Role.SHIFT_LEADER,
    Role.DISPATCHER,
    Role.OPERATOR,
    Role.INSPECTOR,
    Role.HANDLER,
    Role.LEADER,
    Role.SYSTEM_ADMIN,
    Role.SECURITY_ADMIN,
    Role.AUDITOR,
    Role.ASSESSOR,
    Role.RECTIFICATION,
]


def landing_url(user) -> str | None:
    """The URL this person lands on after login; None when no role gives them a page."""
    roles = user.role_codes()
    for role in ROLE_ORDER:
        if role in roles and role in LANDING:
            name, kwargs = LANDING[role]
            return reverse(name, kwargs=kwargs or None)
    return None


def nav_items(user) -> list[NavItem]:
    """The links this person may follow, in order."""
    from .urls import AREAS

    if not user.is_authenticated:
        return []
    items = [item for area in AREAS for item in getattr(area, "NAV", ())]
    allowed = sorted((i for i in items if i.allowed(user)), key=lambda i: i.order)
    # One link per page: a role's workbench link and the page's own link may lead to the same
    # place (LANDING points at the page); the first in order wins.
    seen: set[str] = set()
    unique = []
    for item in allowed:
        url = item.url()
        if url not in seen:
            seen.add(url)
            unique.append(item)
    return unique
