"""Health endpoints: liveness (no I/O) and readiness (the database and the cache); the
handler of unexpected errors."""

import logging
import sys
import uuid

from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import csrf, defaults
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from .errors import CoreErrorCode
from .outage import is_database_outage, unavailable_response

logger = logging.getLogger(__name__)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """``CSRF_FAILURE_VIEW``: the API answers a JSON 403 with a code, like its other refusals;
    other pages (the Django admin) keep Django's page."""
    if request.path.startswith("/graphql"):
        return JsonResponse(
            {
                "errors": [
                    {
                        "message": "The CSRF check failed: send the csrftoken cookie's value "
                        "in the X-CSRFToken header, or use a bearer token.",
                        "extensions": {"code": CoreErrorCode.CSRF_FAILED},
                    }
                ]
            },
            status=403,
        )
    return csrf.csrf_failure(request, reason=reason)


def server_error(request: HttpRequest) -> HttpResponse:
    """Django's handler for an unexpected error (``handler500``): a JSON 503 with a code when
    the database is unreachable; for the API a JSON 500 with a code; elsewhere Django's page."""
    if is_database_outage(sys.exc_info()[1]):
        return unavailable_response()
    if request.path.startswith("/graphql"):
        return JsonResponse(
            {
                "errors": [
                    {
                        "message": "Unexpected error.",
                        "extensions": {"code": CoreErrorCode.INTERNAL_ERROR},
                    }
                ]
            },
            status=500,
        )
    return defaults.server_error(request)


# --- Health endpoints -----------------------------------------------------------------------
# /healthz answers while the process serves requests (a liveness probe: it touches nothing).
# /readyz also checks the database and the cache (a readiness probe for the load balancer): it is
# 503 when the database fails, 200 "degraded" when only the cache does.
def _check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def _check_cache() -> None:
    # A key of its own per check, so that concurrent probes never see each other's value.
    key = f"silkcart:readyz:{uuid.uuid4().hex}"
    cache.set(key, "ok", timeout=10)
    try:
        if cache.get(key) != "ok":
            raise RuntimeError("the cache did not return the value just written")
    finally:
        cache.delete(key)


@never_cache
@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


@never_cache
@require_safe
def readyz(request: HttpRequest) -> JsonResponse:
    checks: dict[str, str] = {}
    for name, check in (("database", _check_database), ("cache", _check_cache)):
        try:
            check()
        except Exception:
            logger.exception("Readiness check failed: %s", name)
            checks[name] = "error"
        else:
            checks[name] = "ok"
    failed = [name for name, state in checks.items() if state != "ok"]
    # The shop serves without its cache (apps/core/cache.py): a failed cache degrades it, only
    # a failed database takes the instance out of the load balancer.
    down = "database" in failed
    status = "unavailable" if down else "degraded" if failed else "ok"
    return JsonResponse(
        {"status": status, "checks": checks, "failed": failed}, status=503 if down else 200
    )
