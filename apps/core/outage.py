"""When the database is down, say so: a JSON 503 with a code and ``Retry-After``.

A client (a storefront, a courier's phone) should hear "come back in a few seconds", not see
Django's HTML error page or a GraphQL "Unexpected error.". The project's 500 handler
(``apps.core.views.server_error``) answers so for any request the database fails under (a
cookie session or a bearer token is read from it before any view runs); the GraphQL view,
whose resolvers catch their own errors, asks ``is_database_outage`` about its result's errors.
"""

import logging

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import JsonResponse

from .errors import CoreErrorCode

logger = logging.getLogger(__name__)

# SQLSTATEs of a lost server: connection exceptions (08...), and the server shutting down or
# not accepting connections yet (57P01 to 57P03). A cancelled statement (57014) or a lock not
# obtained (55P03) are the request's own problem, not an outage.
_OUTAGE_STATES = ("08", "57P01", "57P02", "57P03")


def is_database_outage(error: BaseException | None) -> bool:
    """Whether ``error`` (or what caused it) says the database cannot be reached."""
    while error is not None:
        if isinstance(error, InterfaceError):
            return True
        if isinstance(error, OperationalError):
            cause = error.__cause__
            state = getattr(cause, "sqlstate", None)
            if getattr(cause, "__module__", "").startswith("psycopg"):
                return state is None or state.startswith(_OUTAGE_STATES)
            return False  # SQLite: "database is locked" and the like
        error = error.__cause__ or getattr(error, "original_error", None)
    return False


def unavailable_response() -> JsonResponse:
    return JsonResponse(
        {
            "errors": [
                {
                    "message": "The shop is briefly unavailable. Try again in a few seconds.",
                    "extensions": {"code": CoreErrorCode.SERVICE_UNAVAILABLE},
                }
            ]
        },
        status=503,
        headers={"Retry-After": str(settings.SERVICE_UNAVAILABLE_RETRY_AFTER)},
    )
