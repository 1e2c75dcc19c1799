"""Benchmarks (`make bench`, `make bench-contention`): the production settings on loopback HTTP.

Everything that shapes the cost of a request stays as in production: DEBUG off, masked errors,
no GraphiQL or introspection, persistent health-checked database connections, Redis as the
cache, cached sessions, JSON logs, and jobs written to the database in the request's
transaction (Procrastinate, one statement per job; no worker runs, the rows stay in the bench
database). What changes is only what plain HTTP on 127.0.0.1 needs: no HTTPS redirect or
secure cookies, local host names, a fixed secret key, no rate limits (one client sends
thousands of requests), and the plain JSON catalog view at ``/bench/catalog/`` (the floor).
"""

import os

# Defaults for the variables production.py requires; the environment still wins.
os.environ.setdefault(
    "DJANGO_SECRET_KEY", "bench-only-secret-key-never-used-outside-loopback-0123456789"
)
os.environ.setdefault("ALLOWED_HOSTS", "127.0.0.1,localhost")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/silkcart_bench")
os.environ.setdefault("CACHE_URL", "redis://127.0.0.1:6379/14")
# Events go to Redis as in production (no subscriber listens during a benchmark).
os.environ.setdefault("REALTIME_REDIS_URL", "redis://127.0.0.1:6379/13")
os.environ.setdefault("SENTRY_DSN", "")

from .production import *  # noqa: F403

DEBUG = False

# Plain HTTP on the loopback interface.
SECURE_SSL_REDIRECT = False
SECURE_HSTS_SECONDS = 0
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False

# One client sends every request: rate limits would turn the run into a test of the limiter.
RATELIMIT_ENABLE = False

# Jobs: production's Procrastinate (one statement in the checkout transaction, sent by a worker
# later). Email that is sent directly goes nowhere.
JOBS_BACKEND = "procrastinate"
EMAIL_BACKEND = "django.core.mail.backends.dummy.EmailBackend"

# The floor: a plain Django JSON view over the same catalog page (bench/views.py).
BENCH_FLOOR_VIEW = True
