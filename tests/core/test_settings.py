import json
import os
import subprocess
import sys

import pytest
from django.conf import settings

PRODUCTION_ENV = {
    "DJANGO_SETTINGS_MODULE": "backend.settings.production",
    "DJANGO_SECRET_KEY": "x" * 60,
    "ALLOWED_HOSTS": "shop.example.com",
    "DATABASE_URL": "sqlite:////tmp/silkcart-settings-check.sqlite3",
    "CACHE_URL": "redis://127.0.0.1:6379/15",
    "REALTIME_REDIS_URL": "redis://127.0.0.1:6379/14",
}
REQUIRED = [
    "DJANGO_SECRET_KEY",
    "ALLOWED_HOSTS",
    "DATABASE_URL",
    "CACHE_URL",
    "REALTIME_REDIS_URL",
]
# Optional production variables that the developer's environment must not leak into the checks.
OPTIONAL = [
    "MEDIA_STORAGE",
    "SENTRY_DSN",
    "LOG_FORMAT",
    "SECURE_SSL_REDIRECT",
    "SECURE_HSTS_SECONDS",
    "CORS_ALLOWED_ORIGINS",
    "CSRF_TRUSTED_ORIGINS",
]


def run_django(env: dict[str, str], code: str) -> subprocess.CompletedProcess:
    full_env = {
        k: v for k, v in os.environ.items() if k not in PRODUCTION_ENV and k not in OPTIONAL
    }
    full_env.update(env)
    return subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        cwd=settings.BASE_DIR,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def defined_in_dotenv(name: str) -> bool:
    """The project's optional .env file fills in unset variables (never empty ones)."""
    dotenv = settings.BASE_DIR / ".env"
    if not dotenv.exists():
        return False
    return any(
        line.strip().startswith(f"{name}=") or line.strip().startswith(f"export {name}=")
        for line in dotenv.read_text().splitlines()
    )


@pytest.mark.parametrize("missing", REQUIRED)
def test_production_refuses_to_start_without_required_variables(missing):
    if defined_in_dotenv(missing):
        pytest.skip(f"the project's .env defines {missing}")
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != missing}
    result = run_django(env, "print('started')")
    assert result.returncode != 0
    assert f"The environment variable {missing} is required in production." in result.stderr
    assert "started" not in result.stdout


@pytest.mark.parametrize("empty", REQUIRED)
def test_production_refuses_to_start_with_empty_required_variables(empty):
    result = run_django({**PRODUCTION_ENV, empty: ""}, "print('started')")
    assert result.returncode != 0
    assert f"The environment variable {empty} is required in production." in result.stderr


def test_production_masks_errors_and_hides_graphiql_and_introspection():
    result = run_django(
        PRODUCTION_ENV,
        "from django.conf import settings as s; "
        "print(s.DEBUG, s.GRAPHQL_GRAPHIQL, s.GRAPHQL_INTROSPECTION, s.GRAPHQL_MASK_ERRORS, "
        "s.JOBS_BACKEND)",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "False",
        "False",
        "False",
        "True",
        "procrastinate",
    ]


def test_persistent_connections_with_health_checks():
    database = settings.DATABASES["default"]
    assert database["CONN_HEALTH_CHECKS"] is True
    assert database["CONN_MAX_AGE"] > 0
    assert database["ATOMIC_REQUESTS"] is False


def test_production_hardening():
    result = run_django(
        {**PRODUCTION_ENV, "CORS_ALLOWED_ORIGINS": "https://shop.example.com"},
        "from django.conf import settings as s; import json; print(json.dumps(["
        "s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS, s.SECURE_HSTS_INCLUDE_SUBDOMAINS, "
        "s.SECURE_HSTS_PRELOAD, s.SESSION_COOKIE_SECURE, s.SESSION_COOKIE_HTTPONLY, "
        "s.CSRF_COOKIE_SECURE, s.CSRF_COOKIE_HTTPONLY, list(s.SECURE_PROXY_SSL_HEADER), "
        "s.SESSION_ENGINE, s.CACHES['default']['BACKEND'], s.CACHES['default']['LOCATION'], "
        "s.STORAGES['default']['BACKEND'], s.STORAGES['staticfiles']['BACKEND'], "
        "s.CORS_ALLOWED_ORIGINS, s.LOGGING['handlers']['console']['formatter']]))",
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [
        True,
        31536000,
        True,
        True,
        True,
        True,
        True,
        False,
        ["HTTP_X_FORWARDED_PROTO", "https"],
        "django.contrib.sessions.backends.cached_db",
        "apps.core.cache.ResilientRedisCache",
        "redis://127.0.0.1:6379/15",
        "django.core.files.storage.FileSystemStorage",
        "apps.core.storage.StaticFilesStorage",
        ["https://shop.example.com"],
        "json",
    ]


def test_production_security_settings_come_from_the_environment():
    env = {
        **PRODUCTION_ENV,
        "SECURE_SSL_REDIRECT": "false",
        "SECURE_HSTS_SECONDS": "300",
        "CSRF_TRUSTED_ORIGINS": "https://admin.example.com,https://shop.example.com",
        "LOG_FORMAT": "plain",
    }
    result = run_django(
        env,
        "from django.conf import settings as s; import json; print(json.dumps(["
        "s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS, s.CSRF_TRUSTED_ORIGINS, "
        "s.LOGGING['handlers']['console']['formatter']]))",
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [
        False,
        300,
        ["https://admin.example.com", "https://shop.example.com"],
        "plain",
    ]


def test_production_media_on_s3():
    env = {
        **PRODUCTION_ENV,
        "MEDIA_STORAGE": "s3",
        "AWS_STORAGE_BUCKET_NAME": "silkcart-media",
        "AWS_S3_REGION_NAME": "eu-west-3",
        "AWS_S3_CUSTOM_DOMAIN": "media.example.com",
        "AWS_QUERYSTRING_AUTH": "false",
    }
    result = run_django(
        env,
        "from django.core.files.storage import default_storage as d; "
        "print(type(d._wrapped if hasattr(d, '_wrapped') else d).__name__); d._setup(); "
        "print(type(d._wrapped).__name__, d.bucket_name, d.region_name, d.querystring_auth, "
        "d.file_overwrite); print(d.url('products/a.jpg'))",
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[1] == "S3Storage silkcart-media eu-west-3 False False"
    assert lines[2] == "https://media.example.com/products/a.jpg"


def test_production_s3_media_needs_a_bucket():
    result = run_django({**PRODUCTION_ENV, "MEDIA_STORAGE": "s3"}, "print('started')")
    assert result.returncode != 0
    assert "AWS_STORAGE_BUCKET_NAME is required in production" in result.stderr


def test_production_refuses_an_unknown_media_storage():
    result = run_django({**PRODUCTION_ENV, "MEDIA_STORAGE": "ftp"}, "print('started')")
    assert result.returncode != 0
    assert "MEDIA_STORAGE must be 'local' or 's3'." in result.stderr


def test_sentry_is_off_without_a_dsn():
    result = run_django(
        PRODUCTION_ENV, "import sentry_sdk; print(sentry_sdk.get_client().is_active())"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False"]


def test_sentry_reports_without_personal_data_when_a_dsn_is_set():
    # A loopback DSN: nothing is sent, as no event is captured.
    env = {**PRODUCTION_ENV, "SENTRY_DSN": "http://public@127.0.0.1:9/1"}
    result = run_django(
        env,
        "import sentry_sdk; from django.conf import settings as s; c = sentry_sdk.get_client(); "
        "print(c.is_active(), c.options['send_default_pii'], "
        "sorted(type(i).__name__ for i in s.DJANGO_GUID['INTEGRATIONS']))",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "False", "['SentryIntegration']"]
