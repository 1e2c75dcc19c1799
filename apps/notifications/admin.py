from django.contrib import admin

from .models import Notification


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["title", "user", "kind", "target_type", "target_id", "read_at", "created_at"]
    list_filter = ["kind", "read_at"]
    search_fields = ["title", "user__email"]
    raw_id_fields = ["user"]
