"""Development: DEBUG, GraphiQL, console email, a SQLite file unless DATABASE_URL is set."""

from .base import *  # noqa: F403
from .base import env

DEBUG = env.bool("DJANGO_DEBUG", default=True)
GRAPHQL_GRAPHIQL = env.bool("GRAPHQL_GRAPHIQL", default=True)
GRAPHQL_MASK_ERRORS = env.bool("GRAPHQL_MASK_ERRORS", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list(
    "CSRF_TRUSTED_ORIGINS", default=["http://127.0.0.1:8000", "http://localhost:8000"]
)
