from .models import AuditLog, AuditSeal, CalendarOverride, WorkPeriod
from .permissions import Policy, register

# The audit log belongs to no region: only an auditor acting for the whole city reads it.
register(AuditLog, Policy(citywide_only=True))
register(AuditSeal, Policy(citywide_only=True))
register(CalendarOverride, Policy(global_read=True))
register(WorkPeriod, Policy(global_read=True))
