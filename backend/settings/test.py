"""Tests: fast hashing, in-memory email, jobs in process; PostgreSQL when DATABASE_URL is set."""

from .base import *  # noqa: F403

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# Jobs run in process after commit, on every database; tests/core/test_jobs.py switches to
# Procrastinate on PostgreSQL.
JOBS_BACKEND = "in_process"
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
GRAPHQL_GRAPHIQL = True
GRAPHQL_MASK_ERRORS = True
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
FRONTEND_URL = "https://shop.example.com"
ORDER_URL_TEMPLATE = FRONTEND_URL + "/orders/{token}"
