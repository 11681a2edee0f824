from django.db import migrations


def origins_fill(apps, schema_editor):
    # Deliveries written by a sweep's batch were stored without their endpoint's origin, which the in-flight
    # limit groups them by.
    from webhooks.safe_http import origin

    Delivery = apps.get_model("webhooks", "Delivery")
    urls = Delivery.objects.filter(origin="").values_list("url", flat=True).distinct()
    for url in list(urls):
        Delivery.objects.filter(origin="", url=url).update(origin=origin(url))


class Migration(migrations.Migration):
    dependencies = [("webhooks", "0003_delivery_lease_token")]

    operations = [migrations.RunPython(origins_fill, migrations.RunPython.noop)]
