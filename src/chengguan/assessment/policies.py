"""Grid assessment in the permission chokepoint.

* The assessment team member (考核员) reads the checklists and the plans of their teams, starts
  and submits records on those plans, and turns a finding into a case (`assessment.report_finding`).
  A team member sees the plans, records and findings of their teams whatever their jurisdiction.
* The rectification office (整治办) reads everything of the assessment in its jurisdiction
  (records by the grid's community, street and district) and the scores (`assessment.view_score_assessmentrecord`),
  and makes plans. Leaders read the scores too.
* The system administrator maintains the configuration (teams, checklists, weights, plans).
"""

from django.db.models import Q

from chengguan.core.permissions import ACTIONS, Policy, grant, register
from chengguan.org.choices import Role

from .models import (
    AssessmentPlan,
    AssessmentRecord,
    AssessmentTeam,
    AssessmentWeight,
    Checklist,
    ChecklistItem,
    Finding,
    FindingPhoto,
)

CONFIG = (Checklist, ChecklistItem, AssessmentWeight)
for model in CONFIG:
    register(model, Policy(global_read=True))


def _teams(user):
    """The ids of the person's teams (a subquery: no join that could repeat a record)."""
    return AssessmentTeam.objects.filter(Q(members=user) | Q(leader=user)).values("pk")


register(AssessmentTeam, Policy(region_fields=("region",), extra=lambda user: Q(pk__in=_teams(user))))
register(
    AssessmentPlan,
    Policy(m2m_region_fields=("regions", "grids__community"), extra=lambda user: Q(team__in=_teams(user))),
)
register(
    AssessmentRecord,
    Policy(
        region_fields=("community", "street", "district"),
        extra=lambda user: Q(assessor=user) | Q(plan__team__in=_teams(user)),
    ),
)
register(
    Finding,
    Policy(
        region_fields=("record__community", "record__street", "record__district"),
        extra=lambda user: Q(record__assessor=user) | Q(record__plan__team__in=_teams(user)),
    ),
)
register(
    FindingPhoto,
    Policy(
        region_fields=("finding__record__community", "finding__record__street", "finding__record__district"),
        extra=lambda user: (
            Q(finding__record__assessor=user) | Q(finding__record__plan__team__in=_teams(user))
        ),
    ),
)


def _perms(action: str, *models) -> set[str]:
    return {f"assessment.{action}_{m._meta.model_name}" for m in models}


_PLACES = {"org.view_region", "org.view_department", "grid.view_unitgrid"}
_READ = _perms("view", *CONFIG, AssessmentTeam, AssessmentPlan, AssessmentRecord, Finding, FindingPhoto)

grant(
    Role.ASSESSOR,
    _PLACES
    | _READ
    | _perms("add", AssessmentRecord, Finding, FindingPhoto)
    | _perms("change", AssessmentRecord, Finding)
    | _perms("delete", Finding)
    | {"assessment.report_finding"},
)
grant(
    Role.RECTIFICATION,
    _PLACES | _READ | _perms("add", AssessmentPlan) | {"assessment.view_score_assessmentrecord"},
)
grant(Role.LEADER, _READ | {"assessment.view_score_assessmentrecord"})
grant(
    Role.SYSTEM_ADMIN,
    _READ
    | {
        f"assessment.{a}_{m._meta.model_name}"
        for m in (*CONFIG, AssessmentTeam, AssessmentPlan)
        for a in ACTIONS
    },
)
