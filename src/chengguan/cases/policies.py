"""Cases in the permission chokepoint: placed by their region and by the departments handling them;
each role is granted exactly the transitions the workflow table gives it."""

from django.db.models import Q

from chengguan.core.permissions import Policy, grant, register
from chengguan.org.choices import Role

from .choices import TRANSITIONS
from .models import Case, CaseEvent, CasePhoto, CaseRequest, CaseStage, CaseTask, RoutingRule

register(
    Case,
    Policy(
        region_fields=("community", "street", "district"),
        related_department_fields=("tasks__department",),
        extra=lambda user: Q(reporter=user),  # a reporter follows their own report
    ),
)
for model in (CaseEvent, CaseStage, CaseTask, CaseRequest, CasePhoto):
    register(
        model,
        Policy(
            region_fields=("case__community", "case__street", "case__district"),
            related_department_fields=("case__tasks__department",),
        ),
    )
register(RoutingRule, Policy(global_read=True))

_CASE_ROLES = (Role.INSPECTOR, Role.OPERATOR, Role.SHIFT_LEADER, Role.DISPATCHER, Role.HANDLER, Role.LEADER)
for role in _CASE_ROLES:
    grant(
        role,
        {
            f"cases.view_{m._meta.model_name}"
            for m in (Case, CaseEvent, CaseStage, CaseTask, CaseRequest, CasePhoto)
        },
    )
for role in (Role.INSPECTOR, Role.OPERATOR, Role.SHIFT_LEADER, Role.LEADER):
    grant(role, {"cases.report_case"})
for transition in TRANSITIONS.values():
    for role in transition.roles:
        grant(role, {f"cases.{transition.action}_case"})
grant(Role.DISPATCHER, {"cases.view_routingrule"})
grant(Role.SYSTEM_ADMIN, {f"cases.{a}_routingrule" for a in ("view", "add", "change", "delete")})
# Who may see a member of the public's full name and phone (to call them back), each time audited.
for role in (Role.OPERATOR, Role.SHIFT_LEADER):
    grant(role, {"cases.reveal_reporter_case"})
