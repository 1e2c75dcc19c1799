"""Development: DEBUG, GraphiQL, console email, a SQLite file unless DATABASE_URL is set."""

from urllib.parse import quote

from .base import *  # noqa: F403
from .base import FRONTEND_URL, INSTALLED_APPS, env

# `make run` serves HTTP and WebSocket (subscriptions) on one port: Channels' development
# server (daphne's runserver, which must come before staticfiles) runs backend.asgi.
INSTALLED_APPS = ["daphne", *INSTALLED_APPS]

# Where this server answers: `make run` sets it from HOST and PORT, so that the links of the
# emails point at the port the server really listens on.
SITE_URL = env("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")

# Without a storefront running, the order link of the emails opens the order in GraphiQL.
_ORDER_QUERY = (
    'query { orderByToken(token: "{token}") { number status email '
    "total { amount currency } lines { productName variantName quantity } } }"
)
ORDER_URL_TEMPLATE = env(
    "ORDER_URL_TEMPLATE",
    default=f"{SITE_URL}/graphql/?q=" + quote(_ORDER_QUERY).replace("%7Btoken%7D", "{token}"),
)

DEBUG = env.bool("DJANGO_DEBUG", default=True)
GRAPHQL_GRAPHIQL = env.bool("GRAPHQL_GRAPHIQL", default=True)
GRAPHQL_MASK_ERRORS = env.bool("GRAPHQL_MASK_ERRORS", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list(
    "CSRF_TRUSTED_ORIGINS",
    default=sorted({SITE_URL, "http://127.0.0.1:8000", "http://localhost:8000"}),
)
# A storefront in development (FRONTEND_URL, http://localhost:3000 by default) may call the API
# from its own origin; production lists its origins explicitly.
CORS_ALLOWED_ORIGINS = env.list("CORS_ALLOWED_ORIGINS", default=[FRONTEND_URL])
