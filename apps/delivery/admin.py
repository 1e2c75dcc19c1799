"""Deliveries in the Django admin: read as they are, changed only through their services
(assigning runs ``delivery_assign``, returning ``delivery_return``), so that every change has
its event, moves its order and tells whom it concerns."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError

from . import services
from .models import (
    REASSIGNABLE,
    CashHandIn,
    Delivery,
    DeliveryAgent,
    DeliveryEvent,
    DeliveryStatus,
)


@admin.register(DeliveryAgent)
class DeliveryAgentAdmin(admin.ModelAdmin):
    list_display = ["__str__", "phone", "vehicle", "is_active", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["user__email", "user__first_name", "user__last_name", "phone"]
    list_select_related = ["user"]
    autocomplete_fields = ["user"]

    def get_readonly_fields(self, request, obj=None):
        return ["user"] if obj else []

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        try:
            created = services.agent_create(user=obj.user, phone=obj.phone, vehicle=obj.vehicle)
        except ValidationError as error:
            raise forms.ValidationError(error.messages) from None
        obj.pk = created.pk

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # deactivate instead: their deliveries keep them


class DeliveryEventInline(admin.TabularInline):
    model = DeliveryEvent
    extra = 0
    fields = ["created_at", "status", "note", "actor", "latitude", "longitude"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class DeliveryForm(forms.ModelForm):
    """Only the agent is edited here, and only through ``delivery_assign``."""

    class Meta:
        model = Delivery
        fields = ["agent"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        agent = self.fields.get("agent")
        if agent is None:  # read only: the delivery is over (DeliveryAdmin.get_readonly_fields)
            return
        agent.queryset = DeliveryAgent.objects.filter(is_active=True).select_related("user")
        agent.help_text = "Assigning (or reassigning) also unlocks the delivery."


def return_to_shop(modeladmin, request, queryset):
    done = 0
    for delivery in queryset:
        try:
            services.delivery_return(delivery=delivery, actor=request.user, note="In the admin.")
            done += 1
        except ValidationError as error:
            modeladmin.message_user(
                request, f"{delivery.order.number}: {error.messages[0]}", messages.ERROR
            )
    if done:
        modeladmin.message_user(request, f"{done} delivery(ies) returned.", messages.SUCCESS)


return_to_shop.short_description = "Return the selected failed deliveries to the shop"
return_to_shop.allowed_permissions = ("change",)


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    form = DeliveryForm
    list_display = [
        "order",
        "status",
        "agent",
        "attempts",
        "cash_to_collect",
        "cash_collected",
        "handed_in",
        "updated_at",
    ]
    list_filter = ["status", "agent", "created_at"]
    search_fields = ["order__number", "order__email", "agent__user__email"]
    date_hierarchy = "created_at"
    list_select_related = ["order", "agent__user", "hand_in"]
    inlines = [DeliveryEventInline]
    actions = [return_to_shop]
    readonly_fields = [
        "order",
        "status",
        "attempts",
        "cash_to_collect",
        "cash_collected",
        "hand_in",
        "locked",
        "failure_reason",
        "recipient_name",
        "delivered_at",
        "latitude",
        "longitude",
        "located_at",
        "created_at",
        "updated_at",
    ]

    @admin.display(boolean=True, description="Cash handed in")
    def handed_in(self, obj: Delivery) -> bool | None:
        return None if not obj.cash_collected else obj.hand_in_id is not None

    @admin.display(boolean=True, description="Locked (wrong codes)")
    def locked(self, obj: Delivery) -> bool:
        return obj.is_locked

    def get_readonly_fields(self, request, obj=None):
        fields = list(self.readonly_fields)
        if obj is not None and obj.status not in (
            DeliveryStatus.UNASSIGNED,
            *REASSIGNABLE,
        ):
            fields.append("agent")  # over: nothing to assign
        return fields

    def save_model(self, request, obj, form, change):
        agent = form.cleaned_data.get("agent")
        if agent is None or "agent" not in form.changed_data:
            return
        try:
            services.delivery_assign(delivery=obj, agent=agent, actor=request.user)
        except ValidationError as error:
            self.message_user(request, error.messages[0], messages.ERROR)

    def has_add_permission(self, request) -> bool:
        return False  # made with their orders

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(CashHandIn)
class CashHandInAdmin(admin.ModelAdmin):
    list_display = ["agent", "day", "amount", "received_by", "created_at"]
    list_filter = ["day", "agent"]
    list_select_related = ["agent__user", "received_by"]
    readonly_fields = ["agent", "day", "amount", "received_by", "created_at"]

    def has_add_permission(self, request) -> bool:
        return False  # recorded with agentCashHandIn, against what the agent collected

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
