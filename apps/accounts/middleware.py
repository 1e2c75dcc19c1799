from django.http import HttpRequest, HttpResponse, JsonResponse

from . import services
from .errors import AccountErrorCode


class BearerTokenMiddleware:
    """Authenticate ``Authorization: Bearer <token>`` requests.

    Such requests carry no cookie credentials, so they need no CSRF token. A token that is
    unknown, expired or revoked answers 401 rather than silently downgrading to anonymous.
    """

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        scheme, _, key = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "bearer":
            token = services.token_authenticate(key=key.strip())
            if token is None:
                return JsonResponse(
                    {
                        "errors": [
                            {
                                "message": "The bearer token is invalid, expired or revoked.",
                                "extensions": {"code": AccountErrorCode.TOKEN_INVALID},
                            }
                        ]
                    },
                    status=401,
                    headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
                )
            request.user = token.user
            request.auth_token = token
            request._dont_enforce_csrf_checks = True
        return self.get_response(request)
