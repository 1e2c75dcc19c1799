"""Who does what with deliveries, as groups: a `Delivery agent` may carry out the deliveries
assigned to them (and reach nothing of the back office); an `Order manager` dispatches them and
takes the cash in; `Store admin` holds every delivery permission."""

from django.db import migrations

from apps.core.migration_operations import grant_app_permissions


class Migration(migrations.Migration):
    dependencies = [
        ("delivery", "0001_initial"),
        ("accounts", "0002_roles"),
    ]

    operations = [
        grant_app_permissions("Delivery agent", [], permissions=["delivery.deliver"]),
        grant_app_permissions(
            "Order manager",
            [],
            permissions=[
                "delivery.view_delivery",
                "delivery.change_delivery",
                "delivery.view_deliveryagent",
                "delivery.view_cashhandin",
                "delivery.add_cashhandin",
            ],
        ),
        grant_app_permissions("Store admin", ["delivery"]),
    ]
