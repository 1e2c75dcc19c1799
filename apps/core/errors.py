from enum import StrEnum


class CoreErrorCode(StrEnum):
    """Codes shared by every app. Clients switch on them; they never change meaning."""

    NOT_FOUND = "not_found"
    INVALID = "invalid"
    REQUIRED = "required"
    PERMISSION_DENIED = "permission_denied"
    RATE_LIMITED = "rate_limited"
    TIMEOUT = "timeout"
    INTERNAL_ERROR = "internal_error"
    SERVICE_UNAVAILABLE = "service_unavailable"
    QUERY_TOO_COMPLEX = "query_too_complex"
    CSRF_FAILED = "csrf_failed"
