from django.db import migrations


def members_are_staff(apps, schema_editor):
    # A membership is what lets a merchant's people into the admin (scoped to their merchants).
    User = apps.get_model("merchants", "User")
    User.objects.filter(memberships__isnull=False, is_staff=False).update(is_staff=True)


class Migration(migrations.Migration):
    dependencies = [("merchants", "0004_merchant_invoice_expiry_seconds")]

    operations = [migrations.RunPython(members_are_staff, migrations.RunPython.noop)]
