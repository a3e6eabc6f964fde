"""Open311 keys in the permission chokepoint: they belong to no region or department, so only people
acting for the whole city see them; the security administrator lists, renames and revokes them
(keys are issued on the command line, which shows the key once)."""

from chengguan.core.permissions import Policy, grant, register
from chengguan.org.choices import Role

from .models import Open311Key, Open311Submission

register(Open311Key, Policy(citywide_only=True))
register(Open311Submission, Policy(citywide_only=True))

grant(Role.SECURITY_ADMIN, {"open311.view_open311key", "open311.change_open311key"})
