from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django_ratelimit.core import is_ratelimited
from ipware import get_client_ip

from . import cache
from .errors import CoreErrorCode
from .validation import fold


def client_ip(request: HttpRequest) -> str:
    """The client's IP for rate limits (``RATELIMIT_IP_META_KEY``).

    Behind ``TRUSTED_PROXY_COUNT`` proxies, the address the outermost of them saw, read from
    ``X-Forwarded-For`` by django-ipware: each proxy appends the address it saw, and the last
    one is the connection itself, so the client is the entry that many places from the end.
    What a client wrote before it (a forged header) is ignored. Without trusted proxies, or
    when the header is shorter than the proxies make it: the connection's own address.
    """
    count = settings.TRUSTED_PROXY_COUNT
    if count:
        ip, _ = get_client_ip(request, proxy_count=count - 1, strict=False)
        if ip:
            return ip
    # No address (a Unix socket): the proxy in front is local; count such requests together.
    return request.META.get("REMOTE_ADDR") or "127.0.0.1"


def enforce_rate_limit(
    request: HttpRequest, *, group: str, account: str | None = None, fail_closed: bool = False
) -> None:
    """Count one attempt per client IP and, when given, per account; refuse past the limits.

    While the cache is unavailable the limits are not counted (``RATELIMIT_FAIL_OPEN``), unless
    ``fail_closed``: then the attempt is refused until the cache is back.
    """
    limited = is_ratelimited(
        request, group=group, key="ip", rate=settings.RATELIMIT_AUTH_IP, increment=True
    )
    if account:
        normalized = fold(account)
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
    if limited or (fail_closed and not cache.available()):
        raise ValidationError(
            "Too many attempts. Wait a minute and try again.", code=CoreErrorCode.RATE_LIMITED
        )
