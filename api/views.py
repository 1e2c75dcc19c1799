"""The GraphQL endpoint: strawberry's sync view, with the CSRF cookie and the response cache."""

import base64
import hashlib
import json
import logging
import re
import time
from urllib.parse import urlsplit

from cross_web import HTTPException
from django.conf import settings
from django.db import OperationalError, connection
from django.http import HttpRequest, HttpResponse
from django.templatetags.static import static
from django.utils.decorators import method_decorator
from django.utils.html import escape
from django.views.decorators.csrf import ensure_csrf_cookie
from psycopg.errors import QueryCanceled
from strawberry.django.views import GraphQLView

from apps.core import response_cache
from apps.core.errors import CoreErrorCode
from apps.core.outage import unavailable_response

from .types import PublicError

logger = logging.getLogger(__name__)

# GraphiQL reads the csrftoken cookie once, when the page loads; Django rotates the token at
# login. Read it again on every request, so that GraphiQL keeps working after `login`.
_GRAPHIQL_STATIC_HEADERS = "        headers: defaultHeaders,\n"
_GRAPHIQL_FRESH_CSRF = """        headers: defaultHeaders,
        fetch: (input, init = {}) => {
          const headers = new Headers(init.headers);
          const token = Cookies.get("csrftoken");
          if (token) headers.set("x-csrftoken", token);
          return fetch(input, { ...init, headers });
        },
"""

# The assets the page loads from unpkg.com come from our static files instead, vendored with
# their licences by api/static/graphiql/update.py: https://unpkg.com/<package>@<version>/<path>
# is graphiql/<package>-<version>/<path> ("@graphiql/plugin-explorer" is "graphiql-plugin-
# explorer"). The integrity attributes stay: the browser checks each file against the hash
# strawberry pins, also when STATIC_URL points at a CDN.
_UNPKG_ASSET = re.compile(
    r"https://unpkg\.com/(?P<package>(?:@[\w.-]+/)?[\w.-]+)@(?P<version>[\w.+-]+)/(?P<path>[^\"\s]+)"
)
_INLINE_SCRIPT = re.compile(r"<script\b(?![^>]*\bsrc=)[^>]*>(.*?)</script>", re.DOTALL)


def _graphiql_static_name(package: str, version: str, path: str) -> str:
    """The static file name of ``https://unpkg.com/<package>@<version>/<path>``."""
    return f"graphiql/{package.removeprefix('@').replace('/', '-')}-{version}/{path}"


def _graphiql_page(html: str) -> tuple[str, str]:
    """The GraphiQL page with its assets on our static files, and its Content-Security-Policy.

    Nothing from a third-party host: scripts are our static files and the page's inline script,
    allowed by its hash (no 'unsafe-inline' for scripts); styles are our static files plus inline
    styles, which GraphiQL needs (the page's <style>, and the <style> elements its dialogs
    insert); fonts and icons are our files or data: URIs (graphiql.min.css inlines its fonts);
    requests go to this origin only. The origin of STATIC_URL, when it is another host (a CDN),
    is allowed for scripts, styles, fonts and images.
    """
    origins: set[str] = set()

    def local(match: re.Match) -> str:
        url = static(_graphiql_static_name(match["package"], match["version"], match["path"]))
        parts = urlsplit(url)
        if parts.netloc:
            origins.add(f"{parts.scheme}://{parts.netloc}" if parts.scheme else parts.netloc)
        return escape(url)

    html = _UNPKG_ASSET.sub(local, html)
    inline = [hashlib.sha256(body.encode()).digest() for body in _INLINE_SCRIPT.findall(html)]
    hashes = " ".join(f"'sha256-{base64.b64encode(digest).decode()}'" for digest in inline)
    own = " ".join(["'self'", *sorted(origins)])
    policy = [
        "default-src 'self'",
        f"script-src {own} {hashes}",
        f"style-src {own} 'unsafe-inline'",
        f"font-src {own} data:",
        f"img-src {own} data:",
        # 'self' covers ws:// and wss:// of this host too: GraphiQL's subscriptions.
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
    return html, "; ".join(policy)


_MASKED_MESSAGE = "Unexpected error."


class RequestTimeout(PublicError):
    def __init__(self) -> None:
        super().__init__(
            "The request took too long and was stopped. Ask for less, or try again later.",
            code=CoreErrorCode.TIMEOUT,
        )


class TimeBudget:
    """A database execute wrapper: a request past its time budget stops at its next query, and
    a statement PostgreSQL cancelled (``statement_timeout``) answers the same coded error."""

    def __init__(self, seconds: float) -> None:
        self.deadline = time.monotonic() + seconds

    def __call__(self, execute, sql, params, many, context):
        if time.monotonic() > self.deadline:
            raise RequestTimeout
        try:
            return execute(sql, params, many, context)
        except OperationalError as error:
            if isinstance(error.__cause__, QueryCanceled):
                raise RequestTimeout from error
            raise


@method_decorator(ensure_csrf_cookie, name="dispatch")
class SilkCartGraphQLView(GraphQLView):
    """Strawberry's sync view; every response sets the ``csrftoken`` cookie.

    Session-authenticated POSTs are CSRF-checked by Django's middleware; requests carrying a
    bearer token, and cookieless JSON requests, are exempted by the middlewares before it.
    """

    def render_graphql_ide(self, request: HttpRequest) -> HttpResponse:
        html = self.graphql_ide_html.replace(_GRAPHIQL_STATIC_HEADERS, _GRAPHIQL_FRESH_CSRF, 1)
        html, policy = _graphiql_page(html)
        response = HttpResponse(html)
        response["Content-Security-Policy"] = policy
        return response

    def process_result(self, request, result):
        """Every error a client gets carries a code it can switch on (``extensions.code``): a
        malformed document, an argument of the wrong type or shape is ``invalid``; anything
        the masking replaced is ``internal_error``."""
        response = super().process_result(request, result)
        for error in response.get("errors") or ():
            extensions = error.setdefault("extensions", {})
            if "code" not in extensions:
                internal = error.get("message") == _MASKED_MESSAGE
                extensions["code"] = (
                    CoreErrorCode.INTERNAL_ERROR if internal else CoreErrorCode.INVALID
                )
        return response

    def parse_http_body(self, request):
        """Strawberry's parsing, where a body of the wrong shape is a 400 instead of a 500.

        Strawberry expects a JSON object (or an upload's ``operations`` object and ``map``) and
        raises on anything else: ``null``, a string or a number as the body, bytes that are not
        UTF-8, JSON nested deeper than Python's parser recurses, a ``map`` path that leads
        nowhere. Parsing touches nothing, so any such error is
        the client's.
        """
        try:
            return super().parse_http_body(request)
        except (AttributeError, IndexError, TypeError, ValueError, RecursionError) as error:
            raise HTTPException(400, "The body is not a GraphQL request.") from error

    def dispatch(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        with connection.execute_wrapper(TimeBudget(settings.GRAPHQL_TIME_BUDGET)):
            response = self._dispatch(request, *args, **kwargs)
        if getattr(request, "database_unavailable", False):
            return unavailable_response()
        return response

    def _dispatch(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        operation = _cacheable_operation(request)
        if operation is None:
            # Personal or changing data (a cart, an order, an account): no cache may keep it.
            response = super().dispatch(request, *args, **kwargs)
            response["Cache-Control"] = "private, no-store"
            return response
        if not settings.CATALOG_CACHE:
            return super().dispatch(request, *args, **kwargs)
        # Answers hold absolute URLs (images): one entry per scheme and host.
        key = response_cache.entry_key(*operation, origin=request.build_absolute_uri("/"))
        body, version = response_cache.lookup(key)
        if body is not None:
            response = HttpResponse(body, content_type="application/json")
            response["X-Cache"] = "HIT"
            return response
        response = super().dispatch(request, *args, **kwargs)
        if response.status_code == 200 and b'"errors"' not in response.content:
            response_cache.store(key, version, response.content)
        response["X-Cache"] = "MISS"
        return response


def _cacheable_operation(request: HttpRequest) -> tuple[str, dict | None, str | None] | None:
    """``(query, variables, operationName)`` of an anonymous catalog read, else ``None``.

    Anonymous means no credentials at all: no session cookie and no Authorization header.
    """
    if request.headers.get("Authorization") or settings.SESSION_COOKIE_NAME in request.COOKIES:
        return None
    try:
        if request.method == "POST" and request.content_type == "application/json":
            payload = json.loads(request.body)
        elif request.method == "GET" and "query" in request.GET:
            payload = {
                "query": request.GET["query"],
                "variables": json.loads(request.GET.get("variables") or "null"),
                "operationName": request.GET.get("operationName"),
            }
        else:
            return None
    except (ValueError, RecursionError):
        return None
    if not isinstance(payload, dict):
        return None
    query, variables = payload.get("query"), payload.get("variables")
    operation_name = payload.get("operationName")
    if (
        not isinstance(query, str)
        or not isinstance(variables, dict | None)
        or not isinstance(operation_name, str | None)
        or not response_cache.is_cacheable_document(query, operation_name)
    ):
        return None
    return query, variables, operation_name
