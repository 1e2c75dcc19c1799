"""The reports' delivery figures (apps/reports): deliveries made in a range, failed attempts in a
range, and each delivery's first pick-up."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("delivery", "0003_open_orders"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="delivery",
            index=models.Index(fields=["status", "delivered_at"], name="delivery_status_delivered"),
        ),
        migrations.AddIndex(
            model_name="deliveryevent",
            index=models.Index(
                fields=["status", "created_at"], name="delivery_event_status_created"
            ),
        ),
        migrations.AddIndex(
            model_name="deliveryevent",
            index=models.Index(
                fields=["delivery", "status", "created_at"], name="delivery_event_step"
            ),
        ),
    ]
