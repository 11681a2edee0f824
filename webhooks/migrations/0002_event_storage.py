import django.db.models.deletion
from django.db import migrations, models

# A callback body is a few kB of JSON, written once and read once. PostgreSQL compresses a row over 2 kB by
# default, which costs more CPU on every invoice than the disk it saves; rows up to a page stay as they are.
EVENT_TOAST_TARGET = 8160


def event_rows_uncompressed(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"ALTER TABLE webhooks_event SET (toast_tuple_target = {EVENT_TOAST_TARGET})")


def event_rows_compressed(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE webhooks_event RESET (toast_tuple_target)")


class Migration(migrations.Migration):

    dependencies = [
        ('merchants', '0005_members_are_staff'),
        ('webhooks', '0001_initial'),
    ]

    operations = [
        migrations.AlterField(
            model_name='event',
            name='merchant',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='webhook_events', to='merchants.merchant'),
        ),
        migrations.RunPython(event_rows_uncompressed, event_rows_compressed),
    ]
