from django.contrib import admin

from .models import Payment


@admin.register(Payment)
class PaymentAdmin(admin.ModelAdmin):
    list_display = ["order", "method", "status", "amount", "currency", "reference", "created_at"]
    list_filter = ["method", "status"]
    search_fields = ["order__number", "reference", "order__email"]
    readonly_fields = [
        "order",
        "method",
        "status",
        "amount",
        "currency",
        "reference",
        "created_at",
        "updated_at",
    ]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
