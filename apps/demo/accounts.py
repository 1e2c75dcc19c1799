"""The demo accounts people sign in with (development only), shared by the demo modules."""

from apps.accounts.models import User

DEMO_CUSTOMER = ("customer@example.com", "Customer!2026")
DEMO_ADMIN = ("admin@example.com", "Admin!2026")


def demo_admin() -> User | None:
    """The demo admin, who dispatches deliveries and takes the couriers' cash in (if seeded)."""
    return User.objects.filter(email=DEMO_ADMIN[0]).first()
