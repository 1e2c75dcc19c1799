from django.utils.decorators import method_decorator
from django.views.decorators.csrf import ensure_csrf_cookie
from strawberry.django.views import GraphQLView


@method_decorator(ensure_csrf_cookie, name="dispatch")
class SilkCartGraphQLView(GraphQLView):
    """Strawberry's sync view; every response sets the ``csrftoken`` cookie.

    Session-authenticated POSTs are CSRF-checked by Django's middleware; requests carrying a
    bearer token are exempted by ``apps.accounts.middleware.BearerTokenMiddleware``.
    """
