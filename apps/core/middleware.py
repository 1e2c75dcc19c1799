from django.conf import settings
from django.http import HttpRequest, HttpResponse


class CookielessJsonCsrfMiddleware:
    """Exempt JSON requests that carry no session cookie from the CSRF check.

    CSRF protects cookie credentials. A request without the session cookie has none to abuse,
    and a browser sends ``application/json`` cross-site only after a CORS preflight, which only
    the configured origins pass. This is what lets a mobile app or a cross-origin frontend call
    ``tokenCreate`` (it cannot read our ``csrftoken`` cookie). Requests with the session cookie,
    and form or multipart requests, stay CSRF-checked.
    """

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if (
            settings.SESSION_COOKIE_NAME not in request.COOKIES
            and request.content_type == "application/json"
        ):
            request._dont_enforce_csrf_checks = True
        return self.get_response(request)
