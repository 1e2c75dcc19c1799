"""The buyer's email of each delivery attempt: the courier is on the way, with the code; and
the link a courier whose account was made for them chooses its password with."""

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from apps.accounts.models import User
from apps.core.emails import send_templated_email
from apps.orders.emails import order_url

from .models import Delivery, DeliveryStatus


def send_delivery_code(*, delivery_id: int, attempt: int, code: str) -> None:
    """The code of ``attempt``, unless that attempt is over already (a late retry of the job
    would send a code that no longer opens anything)."""
    delivery = (
        Delivery.objects.select_related("order", "agent__user").filter(pk=delivery_id).first()
    )
    if delivery is None or delivery.attempts != attempt:
        return
    if delivery.status != DeliveryStatus.OUT_FOR_DELIVERY:
        return
    order = delivery.order
    send_templated_email(
        template="delivery/emails/delivery_code",
        to=[order.email],
        context={
            "order": order,
            "code": code,
            "agent_name": delivery.agent.first_name,
            "attempt": attempt,
            "order_url": order_url(order),
        },
        key=f"delivery_code.{delivery.pk}.{attempt}",
    )


def send_agent_invitation(*, user_id: int) -> None:
    """The password reset link of an account made for a new agent. Accounts send that email
    only to an account that has a password (``passwordResetRequest``), and this one has none
    yet: it is sent here, once, unless the account chose a password (or went) meanwhile."""
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None or user.has_usable_password():
        return
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    send_templated_email(
        template="accounts/emails/password_reset",
        to=[user.email],
        context={
            "user": user,
            "uid": uid,
            "token": token,
            "reset_url": f"{settings.FRONTEND_URL}/reset-password?uid={uid}&token={token}",
            "valid_hours": settings.PASSWORD_RESET_TIMEOUT // 3600,
        },
        key=f"agent_invitation.{user.pk}",
    )
