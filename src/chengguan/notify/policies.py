"""Permission policies of the notify app.

A notification belongs to its recipient: outside the city-wide scope a person sees only their
own (and the role table must grant "notify.view_notification"). The inbox API does not go through
`visible()`: `selectors.inbox_for(user)` filters on recipient = the person, which is the whole
jurisdiction rule of an inbox, and needs no role. The periodic schedule is an operations record
for city-wide administrators only.
"""

from django.db.models import Q

from chengguan.core.permissions import Policy, register

from .models import Notification, PeriodicSchedule

register(Notification, Policy(extra=lambda user: Q(recipient=user)))
register(PeriodicSchedule, Policy(citywide_only=True))
