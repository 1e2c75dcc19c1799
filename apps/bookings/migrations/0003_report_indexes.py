"""The reports' utilisation: the bookings that end after the start of a range (apps/reports)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("bookings", "0002_booking_manager_group"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="booking",
            index=models.Index(fields=["end"], name="booking_end"),
        ),
    ]
