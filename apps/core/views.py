"""Health endpoints: liveness (no I/O) and readiness (the database and the cache)."""

import logging
import uuid

from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

logger = logging.getLogger(__name__)


# --- Health endpoints -----------------------------------------------------------------------
# /healthz answers while the process serves requests (a liveness probe: it touches nothing).
# /readyz also checks the database and the cache (a readiness probe for the load balancer).
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
    return JsonResponse(
        {"status": "unavailable" if failed else "ok", "checks": checks, "failed": failed},
        status=503 if failed else 200,
    )
