"""Indexes the reports' aggregates read alone (apps/reports): the orders of a range of days, with
what revenue and the orders by status need; and the lines of those orders, with what the best
sellers need."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0005_pays_on_delivery"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="order",
            index=models.Index(
                fields=["created_at", "paid_at", "status", "total", "id"],
                name="order_created_report",
            ),
        ),
        migrations.AddIndex(
            model_name="orderline",
            index=models.Index(
                fields=["order", "kind", "variant", "quantity", "line_total", "product_name"],
                name="order_line_report",
            ),
        ),
    ]
