"""Reporters' names and phones encrypted at rest (core.fields.EncryptedTextField): the columns
become text, then every existing clear value is written back through the field, encrypted."""

from django.db import migrations

import chengguan.core.fields


def encrypt_existing(apps, schema_editor):
    Case = apps.get_model("cases", "Case")
    rows = (
        Case.objects.using(schema_editor.connection.alias)
        .exclude(reporter_name="", reporter_phone="")
        .values_list("pk", "reporter_name", "reporter_phone")
    )
    for pk, name, phone in rows.iterator(chunk_size=2000):
        # Values read back unchanged when they are not encrypted yet; the update encrypts them.
        Case.objects.using(schema_editor.connection.alias).filter(pk=pk).update(
            reporter_name=name or "", reporter_phone=phone or ""
        )


class Migration(migrations.Migration):
    dependencies = [("cases", "0001_initial")]

    operations = [
        migrations.AlterField(
            model_name="case",
            name="reporter_name",
            field=chengguan.core.fields.EncryptedTextField(
                blank=True, max_length=50, verbose_name="举报人姓名"
            ),
        ),
        migrations.AlterField(
            model_name="case",
            name="reporter_phone",
            field=chengguan.core.fields.EncryptedTextField(
                blank=True, max_length=20, verbose_name="举报人电话"
            ),
        ),
        migrations.RunPython(encrypt_existing, migrations.RunPython.noop),
    ]
