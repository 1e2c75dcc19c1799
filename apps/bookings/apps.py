from django.apps import AppConfig


class BookingsConfig(AppConfig):
    name = "apps.bookings"
    label = "bookings"
    verbose_name = "Bookings"

    def ready(self) -> None:
        # A product of kind SERVICE keeps how it is booked here.
        from apps.catalog.models import ProductKind
        from apps.catalog.services import ProductSection, register_section

        from .sections import save_service_section

        register_section(
            ProductSection(
                name="service",
                save=save_service_section,
                required_for=frozenset({ProductKind.SERVICE}),
            )
        )
