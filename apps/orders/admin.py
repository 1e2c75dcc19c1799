from django.contrib import admin, messages
from django.core.exceptions import ValidationError

from apps.payments.models import Payment

from . import services
from .models import Order, OrderEvent, OrderLine, OrderStatus

SNAPSHOT_FIELDS = [
    "product_name",
    "variant_name",
    "sku",
    "quantity",
    "unit_price",
    "line_total",
    "variant",
]


class OrderLineInline(admin.TabularInline):
    model = OrderLine
    extra = 0
    fields = SNAPSHOT_FIELDS
    readonly_fields = SNAPSHOT_FIELDS
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class OrderEventInline(admin.TabularInline):
    model = OrderEvent
    extra = 0
    fields = ["created_at", "type", "from_status", "to_status", "note", "actor"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class PaymentInline(admin.StackedInline):
    model = Payment
    extra = 0
    fields = ["method", "status", "amount", "currency", "reference"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


def _transition_action(status: str):
    def action(modeladmin, request, queryset):
        done = 0
        for order in queryset:
            try:
                services.order_transition(
                    order=order, status=status, actor=request.user, note="Changed in the admin."
                )
                done += 1
            except ValidationError as error:
                modeladmin.message_user(
                    request, f"{order.number}: {error.messages[0]}", messages.ERROR
                )
        if done:
            modeladmin.message_user(request, f"{done} order(s) marked {status}.", messages.SUCCESS)

    action.__name__ = f"mark_{status.lower()}"
    action.short_description = f"Mark selected orders {status}"
    action.allowed_permissions = ("change",)
    return action


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ["number", "email", "status", "total", "currency", "created_at"]
    list_filter = ["status", "created_at"]
    search_fields = ["number", "email", "user__email", "user__last_name"]
    date_hierarchy = "created_at"
    list_select_related = ["user"]
    inlines = [OrderLineInline, PaymentInline, OrderEventInline]
    readonly_fields = [
        "number",
        "token",
        "status",
        "user",
        "email",
        "currency",
        "subtotal",
        "shipping_total",
        "total",
        "shipping_address",
        "billing_address",
        "note",
        "cart",
        "buyer_key",
        "idempotency_key",
        "paid_at",
        "created_at",
        "updated_at",
    ]
    actions = [_transition_action(status) for status in OrderStatus if status != "PENDING"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
