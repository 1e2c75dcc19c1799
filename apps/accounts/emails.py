from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from apps.core.emails import send_templated_email
from apps.core.jobs import current_job_key

from .models import User


def send_welcome_email(*, user_id: int) -> None:
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        return
    send_templated_email(
        template="accounts/emails/welcome",
        to=[user.email],
        context={"user": user},
        key=f"welcome.{user.pk}",
    )


def send_password_reset_email(*, email_key: str) -> None:
    """Send a reset link to the active account with this email key, if there is one."""
    user = User.objects.filter(email_key=email_key, is_active=True).first()
    if user is None or not user.has_usable_password():
        return
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    reset_url = f"{settings.FRONTEND_URL}/reset-password?uid={uid}&token={token}"
    send_templated_email(
        template="accounts/emails/password_reset",
        to=[user.email],
        context={
            "user": user,
            "uid": uid,
            "token": token,
            "reset_url": reset_url,
            "valid_hours": settings.PASSWORD_RESET_TIMEOUT // 3600,
        },
        # One email per request: the job's key, the same on its retries.
        key=f"password_reset.{user.pk}.{current_job_key()}",
    )
