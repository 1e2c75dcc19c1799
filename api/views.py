"""The GraphQL endpoint: strawberry's sync view, with the CSRF cookie and the response cache."""

import json
import logging

from cross_web import HTTPException
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.decorators import method_decorator
from django.views.decorators.csrf import ensure_csrf_cookie
from strawberry.django.views import GraphQLView

from apps.core import response_cache

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


@method_decorator(ensure_csrf_cookie, name="dispatch")
class SilkCartGraphQLView(GraphQLView):
    """Strawberry's sync view; every response sets the ``csrftoken`` cookie.

    Session-authenticated POSTs are CSRF-checked by Django's middleware; requests carrying a
    bearer token, and cookieless JSON requests, are exempted by the middlewares before it.
    """

    def render_graphql_ide(self, request: HttpRequest) -> HttpResponse:
        html = self.graphql_ide_html.replace(_GRAPHIQL_STATIC_HEADERS, _GRAPHIQL_FRESH_CSRF, 1)
        return HttpResponse(html)

    def parse_http_body(self, request):
        """Strawberry's parsing, where a body of the wrong shape is a 400 instead of a 500.

        Strawberry expects a JSON object (or an upload's ``operations`` object and ``map``) and
        raises on anything else: ``null``, a string or a number as the body, bytes that are not
        UTF-8, a ``map`` path that leads nowhere. Parsing touches nothing, so any such error is
        the client's.
        """
        try:
            return super().parse_http_body(request)
        except (AttributeError, IndexError, TypeError, ValueError) as error:
            raise HTTPException(400, "The body is not a GraphQL request.") from error

    def dispatch(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        operation = _cacheable_operation(request) if settings.CATALOG_CACHE else None
        if operation is None:
            return super().dispatch(request, *args, **kwargs)
        key = response_cache.entry_key(*operation)
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
    except ValueError:
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
