"""The grid assessment roles: the assessment team member (考核员) and the rectification office (整治办)."""

from django.db import migrations, models

ROLES = ["assessor", "rectification"]


def create_roles(apps, schema_editor):
    RoleGrant = apps.get_model("org", "RoleGrant")
    for role in ROLES:
        RoleGrant.objects.get_or_create(role=role)


class Migration(migrations.Migration):
    dependencies = [("org", "0004_person_access_stamp")]

    operations = [
        migrations.AlterField(
            model_name="rolegrant",
            name="role",
            field=models.CharField(
                choices=[
                    ("inspector", "监督员"),
                    ("operator", "受理员"),
                    ("shift_leader", "值班长"),
                    ("dispatcher", "派遣员"),
                    ("handler", "处置人员"),
                    ("leader", "领导"),
                    ("system_admin", "系统管理员"),
                    ("security_admin", "安全管理员"),
                    ("auditor", "审计员"),
                    ("assessor", "考核员"),
                    ("rectification", "整治办"),
                ],
                max_length=32,
                unique=True,
                verbose_name="角色",
            ),
        ),
        migrations.RunPython(create_roles, migrations.RunPython.noop),
    ]
