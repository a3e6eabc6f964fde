"""People's phone numbers encrypted at rest (core.fields.EncryptedTextField), with a keyed hash
beside them for an exact lookup (`phone_index`): the column becomes text, then every existing
clear value is written back through the field, encrypted, with its index."""

from django.db import migrations, models

import chengguan.core.fields


def encrypt_existing(apps, schema_editor):
    from chengguan.org.models import phone_index

    Person = apps.get_model("org", "Person")
    db = schema_editor.connection.alias
    rows = Person.objects.using(db).exclude(phone="").values_list("pk", "phone")
    for pk, phone in rows.iterator(chunk_size=2000):
        # A value reads back unchanged while it is not encrypted yet; the update encrypts it.
        Person.objects.using(db).filter(pk=pk).update(phone=phone or "", phone_index=phone_index(phone))


class Migration(migrations.Migration):
    dependencies = [("org", "0006_security_accounts")]

    operations = [
        migrations.AddField(
            model_name="person",
            name="phone_index",
            field=models.CharField(
                blank=True, db_index=True, editable=False, max_length=64, verbose_name="手机号索引"
            ),
        ),
        migrations.AlterField(
            model_name="person",
            name="phone",
            field=chengguan.core.fields.EncryptedTextField(blank=True, max_length=20, verbose_name="手机号"),
        ),
        migrations.RunPython(encrypt_existing, migrations.RunPython.noop),
    ]
