"""Production: secrets and hosts are required, errors are masked, jobs go to Procrastinate.

Served by gunicorn (``gunicorn.conf.py``, WSGI, persistent database connections) behind a
TLS-terminating proxy or load balancer that sets ``X-Forwarded-Proto``.
"""

from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

# Checked before base.py parses them, so that a missing value stops the process with a message
# naming the variable. Like base.py, the optional .env file fills in unset variables.
environ.Env.read_env(Path(__file__).resolve().parent.parent.parent / ".env", overwrite=False)


def _required(name: str) -> str:
    value = environ.Env()(name, default="")
    if not value:
        raise ImproperlyConfigured(f"The environment variable {name} is required in production.")
    return value


for _name in (
    "DJANGO_SECRET_KEY",
    "ALLOWED_HOSTS",
    "DATABASE_URL",
    "CACHE_URL",
    "REALTIME_REDIS_URL",
):
    _required(_name)

from .base import *  # noqa: E402, F403
from .base import DJANGO_GUID, LOGGING, env, resilient_redis  # noqa: E402

DEBUG = False
SECRET_KEY = _required("DJANGO_SECRET_KEY")
ALLOWED_HOSTS = [h.strip() for h in _required("ALLOWED_HOSTS").split(",") if h.strip()]

# --- Database and cache: shared by every web and worker process ------------------------------
# DATABASES comes from base.py (CONN_MAX_AGE, health checks, the optional pool); production only
# refuses to fall back to its SQLite default (checked above). The cache, Redis, holds the
# rate-limit counters and the cached sessions, which every process must share.
# With Redis down or hung, the shop goes on without the cache (apps/core/cache.py): sessions
# are read from the database, rate limits fail open, the catalog is read from the database.
CACHES = {"default": resilient_redis(env.cache_url_config(_required("CACHE_URL")))}
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"

# Realtime: every web process publishes its events to Redis (REALTIME_REDIS_URL, required), from
# which the realtime processes (backend.asgi under uvicorn) send them to their subscribers.

# --- HTTPS and cookies --------------------------------------------------------------------------
# The proxy terminates TLS and says so in X-Forwarded-Proto; it must overwrite any value the
# client sent.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
# Probes from the load balancer may use plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_SECURE = True
CSRF_COOKIE_HTTPONLY = False  # Web frontends and GraphiQL read it to send X-CSRFToken.
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
CORS_ALLOWED_ORIGINS = env.list("CORS_ALLOWED_ORIGINS", default=[])

# --- GraphQL and jobs -------------------------------------------------------------------------
GRAPHQL_GRAPHIQL = env.bool("GRAPHQL_GRAPHIQL", default=False)
GRAPHQL_INTROSPECTION = env.bool("GRAPHQL_INTROSPECTION", default=False)
GRAPHQL_MASK_ERRORS = True

# Jobs go to Procrastinate's tables in PostgreSQL, in the caller's transaction; run a worker.
JOBS_BACKEND = env("JOBS_BACKEND", default="procrastinate")

# --- Static and media files ---------------------------------------------------------------------
# Static files: hashed and compressed by collectstatic at image build time, served by WhiteNoise.
# Media (uploads): the local MEDIA_ROOT (a volume shared by the web processes) or S3.
MEDIA_STORAGE = env("MEDIA_STORAGE", default="local")
if MEDIA_STORAGE == "s3":
    _media_storage = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": _required("AWS_STORAGE_BUCKET_NAME"),
            "region_name": env("AWS_S3_REGION_NAME", default=None),
            "endpoint_url": env("AWS_S3_ENDPOINT_URL", default=None),
            "custom_domain": env("AWS_S3_CUSTOM_DOMAIN", default=None),
            "location": env("AWS_LOCATION", default=""),
            "querystring_auth": env.bool("AWS_QUERYSTRING_AUTH", default=True),
            "default_acl": None,
            "file_overwrite": False,
        },
    }
    # Credentials: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or the instance's role; boto3
    # reads them from the environment itself.
elif MEDIA_STORAGE == "local":
    _media_storage = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
else:
    raise ImproperlyConfigured("MEDIA_STORAGE must be 'local' or 's3'.")

STORAGES = {
    "default": _media_storage,
    "staticfiles": {"BACKEND": "apps.core.storage.StaticFilesStorage"},
}

# --- Logs and errors ----------------------------------------------------------------------------
LOG_FORMAT = env("LOG_FORMAT", default="json")
LOGGING = {
    **LOGGING,
    "handlers": {"console": {**LOGGING["handlers"]["console"], "formatter": LOG_FORMAT}},
}

SENTRY_DSN = env("SENTRY_DSN", default="")
if SENTRY_DSN:
    import sentry_sdk
    from django_guid.integrations import SentryIntegration as GuidSentryIntegration
    from sentry_sdk.integrations.django import DjangoIntegration
    from sentry_sdk.integrations.strawberry import StrawberryIntegration

    sentry_sdk.init(
        dsn=SENTRY_DSN,
        # The GraphQL view is strawberry's sync view, under WSGI and ASGI alike.
        integrations=[DjangoIntegration(), StrawberryIntegration(async_execution=False)],
        environment=env("SENTRY_ENVIRONMENT", default="production"),
        release=env("SENTRY_RELEASE", default=None),
        traces_sample_rate=env.float("SENTRY_TRACES_SAMPLE_RATE", default=0.0),
        send_default_pii=False,
    )
    # Tags each Sentry event with the request id of the log lines.
    DJANGO_GUID = {**DJANGO_GUID, "INTEGRATIONS": [GuidSentryIntegration()]}
