from django.db import migrations

ROLES = [
    "inspector",
    "operator",
    "shift_leader",
    "dispatcher",
    "handler",
    "leader",
    "system_admin",
    "security_admin",
    "auditor",
]


def create_roles(apps, schema_editor):
    RoleGrant = apps.get_model("org", "RoleGrant")
    for role in ROLES:
        RoleGrant.objects.get_or_create(role=role)


class Migration(migrations.Migration):
    dependencies = [("org", "0001_initial")]
    operations = [migrations.RunPython(create_roles, migrations.RunPython.noop)]
