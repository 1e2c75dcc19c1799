"""Settings shared by every environment, read through django-environ.

Environment variables win over the optional ``.env`` file at the project root.
Only ``production.py`` insists on secrets; the other modules give development defaults.
"""

from decimal import Decimal
from email.utils import parseaddr
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

SECRET_KEY = env("DJANGO_SECRET_KEY", default="django-insecure-development-only-key-change-me")
DEBUG = env.bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "corsheaders",
    "strawberry_django",
    "procrastinate.contrib.django",
    "django_guid",
    "api",
    "apps.core",
    "apps.accounts",
    "apps.catalog",
    "apps.bookings",
    "apps.delivery",
    "apps.cart",
    "apps.orders",
    "apps.payments",
    "apps.notifications",
    "apps.reports",
    "apps.demo",
]

MIDDLEWARE = [
    # First: gives every request its id (X-Request-ID) before anything logs.
    "django_guid.middleware.guid_middleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "apps.core.middleware.CookielessJsonCsrfMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "apps.accounts.middleware.BearerTokenMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "backend.urls"
WSGI_APPLICATION = "backend.wsgi.application"
ASGI_APPLICATION = "backend.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
# A SQLite file by default; PostgreSQL through DATABASE_URL=postgres://user@host:5432/name.
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# Procrastinate's tables (background jobs) exist on PostgreSQL only.
DATABASE_ROUTERS = ["apps.core.jobs.ProcrastinateRouter"]

IS_POSTGRES = DATABASES["default"]["ENGINE"].endswith("postgresql")
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # SQLite (make run): write transactions take the database's write lock when they begin and
    # wait for one another (up to the busy timeout) instead of failing with "database is
    # locked"; the write-ahead log lets reads go on meanwhile. So a double-clicked checkout
    # waits for the first one and returns its order, as on PostgreSQL.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "transaction_mode": "IMMEDIATE",
            "timeout": env.int("SQLITE_BUSY_TIMEOUT", default=20),
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
# PostgreSQL cancels any statement running longer than this (milliseconds; 0: no limit). Run
# migrations that rewrite large tables with DATABASE_STATEMENT_TIMEOUT=0.
DATABASE_STATEMENT_TIMEOUT = env.int("DATABASE_STATEMENT_TIMEOUT", default=3000)
if IS_POSTGRES and DATABASE_STATEMENT_TIMEOUT:
    DATABASES["default"].setdefault("OPTIONS", {})["options"] = (
        f"-c statement_timeout={DATABASE_STATEMENT_TIMEOUT}"
    )
# psycopg's connection pool, for the ASGI entry point (uvicorn workers), where persistent
# connections do not apply. The WSGI entry point keeps CONN_MAX_AGE instead.
if IS_POSTGRES and env.bool("DATABASE_POOL", default=False):
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": env.int("DATABASE_POOL_MIN_SIZE", default=2),
        "max_size": env.int("DATABASE_POOL_MAX_SIZE", default=10),
    }

# --- Cache (rate limits; Redis in production) -----------------------------------------------
CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://silkcart")}


def resilient_redis(cache: dict) -> dict:
    """Redis through ``apps.core.cache.ResilientRedisCache``, with short socket timeouts: when
    Redis is down or hangs, requests go on without the cache instead of failing or waiting."""
    if cache["BACKEND"] == "django.core.cache.backends.redis.RedisCache":
        cache["BACKEND"] = "apps.core.cache.ResilientRedisCache"
        cache.setdefault("OPTIONS", {}).update(
            {
                "socket_connect_timeout": env.float("CACHE_CONNECT_TIMEOUT", default=0.25),
                "socket_timeout": env.float("CACHE_SOCKET_TIMEOUT", default=0.25),
            }
        )
    return cache


resilient_redis(CACHES["default"])
# Seconds the cache is bypassed after Redis failed (its circuit breaker), per process.
CACHE_BREAKER_SECONDS = env.int("CACHE_BREAKER_SECONDS", default=30)
# Opt-in cache of anonymous catalog responses (products, product, categories, category),
# invalidated by every catalog and stock write; entries live at most CATALOG_CACHE_TTL seconds.
CATALOG_CACHE = env.bool("CATALOG_CACHE", default=False)
CATALOG_CACHE_TTL = env.int("CATALOG_CACHE_TTL", default=60)

# --- Authentication -------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["django.contrib.auth.backends.ModelBackend"]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
PASSWORD_RESET_TIMEOUT = env.int("PASSWORD_RESET_TIMEOUT", default=60 * 60 * 24)
# Lifetime of the bearer tokens given by tokenCreate.
AUTH_TOKEN_TTL_HOURS = env.int("AUTH_TOKEN_TTL_HOURS", default=24 * 30)

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # GraphiQL and web frontends read it to send X-CSRFToken.
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
CSRF_FAILURE_VIEW = "apps.core.views.csrf_failure"

# --- CORS -----------------------------------------------------------------------------------
CORS_ALLOWED_ORIGINS = env.list("CORS_ALLOWED_ORIGINS", default=[])
CORS_ALLOW_CREDENTIALS = True
CORS_URLS_REGEX = r"^/graphql/?$"

# --- Rate limits (django-ratelimit) ---------------------------------------------------------
RATELIMIT_ENABLE = env.bool("RATELIMIT_ENABLE", default=True)
RATELIMIT_USE_CACHE = "default"
# With the cache unavailable, limits are not counted (sign-in keeps working) and a warning is
# logged; the password-reset email limit alone refuses until the cache is back.
RATELIMIT_FAIL_OPEN = True
# The client's IP (apps.core.ratelimit.client_ip): the connection's address, or behind
# TRUSTED_PROXY_COUNT proxies the address the nearest one saw in X-Forwarded-For.
RATELIMIT_IP_META_KEY = "apps.core.ratelimit.client_ip"
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
# Per IP and per account, e.g. "10/m". Applied to login, tokenCreate, accountRegister and
# passwordResetRequest.
RATELIMIT_AUTH_IP = env("RATELIMIT_AUTH_IP", default="20/m")
RATELIMIT_AUTH_ACCOUNT = env("RATELIMIT_AUTH_ACCOUNT", default="5/m")

# --- Internationalisation -------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = env("SHOP_TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

# --- Static and media -----------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
MEDIA_URL = env("MEDIA_URL", default="/media/")
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "media")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Largest accepted product image, in bytes.
PRODUCT_IMAGE_MAX_BYTES = env.int("PRODUCT_IMAGE_MAX_BYTES", default=5 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = PRODUCT_IMAGE_MAX_BYTES + 1024 * 1024

# --- Email and background jobs --------------------------------------------------------------
EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="SilkCart <shop@silkcart.local>")
# Seconds an SMTP connection may block: a hung server fails the job (retried) instead of it.
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=30)
# The right-hand side of every email's Message-ID, <welcome.42@DOMAIN>: by default the domain of
# DEFAULT_FROM_EMAIL. The left-hand side is the email's key, the same on each retry.
EMAIL_MESSAGE_ID_DOMAIN = env(
    "EMAIL_MESSAGE_ID_DOMAIN",
    default=parseaddr(DEFAULT_FROM_EMAIL)[1].rpartition("@")[2] or "silkcart",
)
FRONTEND_URL = env("FRONTEND_URL", default="http://localhost:3000").rstrip("/")
# The guest's link to an order in the confirmation email; "{token}" is the order's secret.
ORDER_URL_TEMPLATE = env("ORDER_URL_TEMPLATE", default=FRONTEND_URL + "/orders/{token}")

# Where events go once their transaction commits (apps/core/events.py): the Channels layer,
# where realtime subscriptions listen; "apps.core.events.LogBackend" only logs them.
EVENTS_BACKEND = env("EVENTS_BACKEND", default="apps.core.events.ChannelLayerBackend")

# Realtime (GraphQL subscriptions over WebSocket, served by backend.asgi). The channel layer
# carries events between processes: Redis at REALTIME_REDIS_URL, or in memory (one process,
# development) without it.
REALTIME_REDIS_URL = env("REALTIME_REDIS_URL", default="")
CHANNEL_LAYERS = {
    "default": (
        {
            # Redis Pub/Sub: a group's event is one PUBLISH (a web process's cost after each
            # commit), heard by the realtime processes subscribed to that group; nothing is
            # kept for a process that is not listening (a subscriber re-reads the state).
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {
                "hosts": [{"address": REALTIME_REDIS_URL, "socket_timeout": 15}],
                "prefix": env("REALTIME_PREFIX", default="silkcart"),
            },
        }
        if REALTIME_REDIS_URL
        else {"BACKEND": "channels.layers.InMemoryChannelLayer"}
    )
}
ASGI_APPLICATION = "backend.asgi.application"
# Open subscriptions per user (all their connections to one realtime process), and per
# connection; the seconds between the server's pings, and before a silent client is dropped;
# events waiting for a slow client before it is dropped; how often a connection's credentials
# are checked again (a revoked token or a closed session ends its subscriptions).
REALTIME_MAX_SUBSCRIPTIONS_PER_USER = env.int("REALTIME_MAX_SUBSCRIPTIONS_PER_USER", default=20)
REALTIME_MAX_SUBSCRIPTIONS_PER_CONNECTION = env.int(
    "REALTIME_MAX_SUBSCRIPTIONS_PER_CONNECTION", default=10
)
REALTIME_PING_SECONDS = env.float("REALTIME_PING_SECONDS", default=15)
REALTIME_PONG_TIMEOUT_SECONDS = env.float("REALTIME_PONG_TIMEOUT_SECONDS", default=30)
REALTIME_MAX_PENDING_EVENTS = env.int("REALTIME_MAX_PENDING_EVENTS", default=50)
REALTIME_AUTH_RECHECK_SECONDS = env.float("REALTIME_AUTH_RECHECK_SECONDS", default=30)
# Seconds a web process waits for Redis to take an event (it is dropped past them), and before
# it tries Redis again after a failure.
REALTIME_PUBLISH_TIMEOUT = env.float("REALTIME_PUBLISH_TIMEOUT", default=0.5)
REALTIME_RETRY_SECONDS = env.float("REALTIME_RETRY_SECONDS", default=5)

# Background jobs (emails), see docs/jobs.md. "in_process": a job runs in the web process right
# after its transaction commits (never if it rolls back), once, on any database. "procrastinate"
# (PostgreSQL only; the production default): the job row is written in the caller's transaction
# and a worker, `python manage.py procrastinate worker`, runs it and retries it.
JOBS_BACKEND = env("JOBS_BACKEND", default="in_process")
# Retries of a job that failed on a transient error (SMTP, network, database connection); retry n
# waits JOBS_RETRY_BASE_WAIT ** n seconds: 3, 9, 27, ... 59049 s, about a day in all.
JOBS_MAX_RETRIES = env.int("JOBS_MAX_RETRIES", default=10)
JOBS_RETRY_BASE_WAIT = env.int("JOBS_RETRY_BASE_WAIT", default=3)
if JOBS_BACKEND not in ("in_process", "procrastinate"):
    raise ImproperlyConfigured("JOBS_BACKEND must be 'in_process' or 'procrastinate'.")
if JOBS_MAX_RETRIES < 0 or JOBS_RETRY_BASE_WAIT < 0:
    raise ImproperlyConfigured("JOBS_MAX_RETRIES and JOBS_RETRY_BASE_WAIT must be >= 0.")

# --- GraphQL --------------------------------------------------------------------------------
GRAPHQL_GRAPHIQL = env.bool("GRAPHQL_GRAPHIQL", default=False)
GRAPHQL_INTROSPECTION = env.bool("GRAPHQL_INTROSPECTION", default=True)
GRAPHQL_MASK_ERRORS = env.bool("GRAPHQL_MASK_ERRORS", default=True)
GRAPHQL_MAX_DEPTH = env.int("GRAPHQL_MAX_DEPTH", default=10)
GRAPHQL_MAX_ALIASES = env.int("GRAPHQL_MAX_ALIASES", default=30)
GRAPHQL_MAX_TOKENS = env.int("GRAPHQL_MAX_TOKENS", default=2000)
# The longest string accepted anywhere in a request (fields with shorter limits check their own).
GRAPHQL_MAX_STRING_LENGTH = env.int("GRAPHQL_MAX_STRING_LENGTH", default=20000)
# The estimated cost of a document (schema/cost.py): fields, times page sizes for connections.
GRAPHQL_MAX_COST = env.int("GRAPHQL_MAX_COST", default=10000)
GRAPHQL_MAX_COST_STAFF = env.int("GRAPHQL_MAX_COST_STAFF", default=100000)
# Seconds a client is told to wait (Retry-After) when the database is unreachable.
SERVICE_UNAVAILABLE_RETRY_AFTER = env.int("SERVICE_UNAVAILABLE_RETRY_AFTER", default=5)
# A GraphQL request that is still running after this many seconds stops at its next query.
GRAPHQL_TIME_BUDGET = env.float("GRAPHQL_TIME_BUDGET", default=5.0)
GRAPHQL_DEFAULT_PAGE_SIZE = 20
GRAPHQL_MAX_PAGE_SIZE = 100

STRAWBERRY_DJANGO = {
    "MUTATIONS_DEFAULT_HANDLE_ERRORS": True,
    "MAP_AUTO_ID_AS_GLOBAL_ID": True,
    "PAGINATION_DEFAULT_LIMIT": 20,
    "PAGINATION_MAX_LIMIT": GRAPHQL_MAX_PAGE_SIZE,
}

# --- Shop -----------------------------------------------------------------------------------
SHOP_CURRENCY = env("SHOP_CURRENCY", default="USD")
SHIPPING_FLAT_FEE = Decimal(env("SHIPPING_FLAT_FEE", default="5.00"))
FREE_SHIPPING_THRESHOLD = Decimal(env("FREE_SHIPPING_THRESHOLD", default="100.00"))
# Payment method → provider class (see apps/payments/providers.py).
PAYMENT_PROVIDERS = {
    "CASH_ON_DELIVERY": "apps.payments.providers.PlaceholderProvider",
    "CARD_PLACEHOLDER": "apps.payments.providers.PlaceholderProvider",
}

# --- Bookings ----------------------------------------------------------------------------------
# Minutes a slot put in a cart stays held for its buyer (availability ignores it afterwards).
BOOKING_HOLD_MINUTES = env.int("BOOKING_HOLD_MINUTES", default=15)
# Hours before a booking's start when its reminder is emailed.
BOOKING_REMINDER_HOURS = env.int("BOOKING_REMINDER_HOURS", default=24)
# Milliseconds a booking waits for its resource's lock before answering slot_unavailable.
BOOKING_LOCK_TIMEOUT_MS = env.int("BOOKING_LOCK_TIMEOUT_MS", default=3000)
# Delivery: wrong proof-of-delivery codes before a delivery locks (staff reassign it to unlock),
# attempts before the shop decides, and the shortest time between two positions of a courier.
DELIVERY_CODE_MAX_FAILURES = env.int("DELIVERY_CODE_MAX_FAILURES", default=5)
DELIVERY_MAX_ATTEMPTS = env.int("DELIVERY_MAX_ATTEMPTS", default=3)
DELIVERY_LOCATION_INTERVAL_SECONDS = env.int("DELIVERY_LOCATION_INTERVAL_SECONDS", default=5)

# --- Logging --------------------------------------------------------------------------------
# Every log line carries the id of the request it belongs to (null outside requests). The id
# comes from the request's X-Request-ID header when that is a valid UUID (set by the proxy or
# the client), and is generated otherwise; the response returns it in X-Request-ID.
# LOG_FORMAT=json writes one JSON object per line (the production default); plain is for humans.
LOG_LEVEL = env("LOG_LEVEL", default="INFO")
LOG_FORMAT = env("LOG_FORMAT", default="plain")
DJANGO_GUID = {
    "GUID_HEADER_NAME": "X-Request-ID",
    "VALIDATE_GUID": True,
    "RETURN_HEADER": True,
    # django-cors-headers exposes the header, to the allowed origins only.
    "EXPOSE_HEADER": False,
    "UUID_LENGTH": 32,
}
CORS_EXPOSE_HEADERS = ["X-Request-ID"]
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request_id": {
            "()": "django_guid.log_filters.CorrelationId",
            "correlation_id_field": "request_id",
        },
    },
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(request_id)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["request_id"],
        },
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "strawberry.execution": {"level": "ERROR"},
        # It logs every generated id at INFO; the id is on every line already.
        "django_guid": {"level": "WARNING"},
        # Procrastinate's task registration, at INFO in every process that starts.
        "procrastinate.blueprints": {"level": "WARNING"},
        "procrastinate.periodic": {"level": "WARNING"},
    },
}
