from django.apps import AppConfig


class DeliveryConfig(AppConfig):
    name = "apps.delivery"
    label = "delivery"
    verbose_name = "Delivery"

    def ready(self) -> None:
        # Orders call these in their own transactions, without knowing of deliveries.
        from apps.orders import hooks

        from .services import steps

        hooks.on_placed(steps.delivery_create_for_order)
        hooks.on_status_changed(steps.order_status_changed)
