from django.db import migrations


def origins_fill(apps, schema_editor):
    # Deliveries written by a sweep's batch were stored without their endpoint's origin, which the in-flight
    # limit groups them by.
    from webhooks.safe_http import origin

    Delivery = apps.get_model("webhooks", "Delivery")
    for delivery in Delivery.objects.filter(origin="").only("id", "url").iterator(chunk_size=2000):
        Delivery.objects.filter(pk=delivery.pk).update(origin=origin(delivery.url))


class Migration(migrations.Migration):
    dependencies = [("webhooks", "0003_delivery_lease_token")]

    operations = [migrations.RunPython(origins_fill, migrations.RunPython.noop)]
