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
}


def run_django(env: dict[str, str], code: str) -> subprocess.CompletedProcess:
    full_env = {k: v for k, v in os.environ.items() if k not in PRODUCTION_ENV}
    full_env.update(env)
    return subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        cwd=settings.BASE_DIR,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize("missing", ["DJANGO_SECRET_KEY", "ALLOWED_HOSTS"])
def test_production_refuses_to_start_without_required_variables(missing):
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != missing}
    result = run_django(env, "print('started')")
    assert result.returncode != 0
    assert f"The environment variable {missing} is required in production." in result.stderr


def test_production_masks_errors_and_hides_graphiql_and_introspection():
    result = run_django(
        PRODUCTION_ENV,
        "from django.conf import settings as s; "
        "print(s.DEBUG, s.GRAPHQL_GRAPHIQL, s.GRAPHQL_INTROSPECTION, s.GRAPHQL_MASK_ERRORS, "
        "s.TASKS['default']['BACKEND'])",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "False",
        "False",
        "False",
        "True",
        "django_tasks_db.DatabaseBackend",
    ]


def test_persistent_connections_with_health_checks():
    database = settings.DATABASES["default"]
    assert database["CONN_HEALTH_CHECKS"] is True
    assert database["CONN_MAX_AGE"] > 0
    assert database["ATOMIC_REQUESTS"] is False
