from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django_ratelimit.core import is_ratelimited

from .errors import CoreErrorCode


def enforce_rate_limit(request: HttpRequest, *, group: str, account: str | None = None) -> None:
    """Count one attempt per client IP and, when given, per account; refuse past the limits."""
    limited = is_ratelimited(
        request, group=group, key="ip", rate=settings.RATELIMIT_AUTH_IP, increment=True
    )
    if account:
        normalized = account.strip().lower()
        limited = (
            is_ratelimited(
                request,
                group=f"{group}:account",
                key=lambda _group, _request: normalized,
                rate=settings.RATELIMIT_AUTH_ACCOUNT,
                increment=True,
            )
            or limited
        )
    if limited:
        raise ValidationError(
            "Too many attempts. Wait a minute and try again.", code=CoreErrorCode.RATE_LIMITED
        )
