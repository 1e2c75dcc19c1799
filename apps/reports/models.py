"""The reports' permission. The reports have no table of their own: they read the orders,
bookings and deliveries. An unmanaged model without a table carries the permission, so that it
is granted like any other (to a group, in the admin)."""

from django.db import models


class Report(models.Model):
    class Meta:
        managed = False
        default_permissions = ()
        permissions = [("view_reports", "Can view the sales reports and the dashboard")]

    def __str__(self) -> str:
        return "Report"
