from django.http import HttpRequest, HttpResponse
from django.utils.decorators import method_decorator
from django.views.decorators.csrf import ensure_csrf_cookie
from strawberry.django.views import GraphQLView

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
