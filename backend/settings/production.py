"""Production: secrets and hosts are required, errors are masked, jobs go to the database."""

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import env


def _required(name: str) -> str:
    value = env(name, default="")
    if not value:
        raise ImproperlyConfigured(f"The environment variable {name} is required in production.")
    return value


DEBUG = False
SECRET_KEY = _required("DJANGO_SECRET_KEY")
ALLOWED_HOSTS = [h.strip() for h in _required("ALLOWED_HOSTS").split(",") if h.strip()]

GRAPHQL_GRAPHIQL = env.bool("GRAPHQL_GRAPHIQL", default=False)
GRAPHQL_INTROSPECTION = env.bool("GRAPHQL_INTROSPECTION", default=False)
GRAPHQL_MASK_ERRORS = True

TASKS = {
    "default": {
        "BACKEND": env("TASKS_BACKEND", default="django_tasks_db.DatabaseBackend"),
    }
}

STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
