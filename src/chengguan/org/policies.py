from axes.models import AccessAttempt, AccessLog
from django.db.models import Q
from django_otp.plugins.otp_totp.models import TOTPDevice

from chengguan.core.permissions import Policy, grant, register

from .choices import Role
from .models import ApiToken, Department, Person, Region, RoleGrant, UserSession

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
# Login sessions are placed like their person; the security administrator lists and ends them,
# unlocks locked-out logins (axes) and removes a lost authenticator (the person enrols again).
register(
    UserSession,
    Policy(
        department_fields=("person__department",),
        m2m_region_fields=("person__regions",),
        extra=lambda user: Q(person=user),
    ),
)
# Login attempts and logs (django-axes) name a username, not a person: city-wide administrators
# only. Authenticator devices are placed like their person.
register(AccessAttempt, Policy(citywide_only=True))
register(AccessLog, Policy(citywide_only=True))
register(
    TOTPDevice,
    Policy(
        department_fields=("user__department",),
        m2m_region_fields=("user__regions",),
        extra=lambda user: Q(user=user),
    ),
)
grant(
    Role.SECURITY_ADMIN,
    {
        "org.view_usersession",
        "org.delete_usersession",
        "axes.view_accessattempt",
        "axes.delete_accessattempt",
        "axes.view_accesslog",
        "otp_totp.view_totpdevice",
        "otp_totp.delete_totpdevice",
    },
)
