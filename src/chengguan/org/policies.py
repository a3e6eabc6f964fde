from django.db.models import Q

from chengguan.core.permissions import Policy, register

from .models import ApiToken, Department, Person, Region, RoleGrant

register(Region, Policy(region_fields=("self",)))
# Every member of staff may read the department directory: work is dispatched across departments.
register(Department, Policy(global_read=True))
register(RoleGrant, Policy(global_read=True))
# People: those of the departments you act for, those working in your regions, and yourself.
register(
    Person,
    Policy(
        department_fields=("department",),
        m2m_region_fields=("regions",),
        extra=lambda user: Q(pk=user.pk),
    ),
)
# API tokens are placed like their person: the security administrator who manages a person manages
# that person's tokens; and anyone granted the view permission sees their own.
register(
    ApiToken,
    Policy(
        department_fields=("person__department",),
        m2m_region_fields=("person__regions",),
        extra=lambda user: Q(person=user),
    ),
)
