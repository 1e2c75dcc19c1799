"""Orders placed before deliveries existed, with goods not yet shipped, get their delivery
(UNASSIGNED), so that couriers can take them; orders already shipped went another way."""

from django.db import migrations


def create_deliveries(apps, schema_editor):
    Order = apps.get_model("orders", "Order")
    Delivery = apps.get_model("delivery", "Delivery")
    waiting = Order.objects.filter(
        requires_shipping=True, status__in=["PENDING", "PAID", "PROCESSING"], delivery=None
    )
    Delivery.objects.bulk_create(
        [
            Delivery(order=order, cash_to_collect=order.total if order.pays_on_delivery else 0)
            for order in waiting.iterator()
        ],
        batch_size=500,
    )


class Migration(migrations.Migration):
    dependencies = [("delivery", "0002_roles")]

    operations = [migrations.RunPython(create_deliveries, migrations.RunPython.noop)]
