"""Deployment: Django's deployment checklist and the gunicorn configuration."""

import os
import runpy
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(settings.BASE_DIR)
# Test values only. The secret is long and varied enough for security.W009.
DEPLOY_ENV = {
    "DJANGO_SETTINGS_MODULE": "backend.settings.production",
    "DJANGO_SECRET_KEY": "test-only-5Yq8w2Lr9Vb3Nc7Hd1Kf6Gt4Jx0Mz8Ps2Ua5Ie9Ow3",
    "ALLOWED_HOSTS": "api.example.com",
    "DATABASE_URL": "postgres://silkcart:password@db.example.com:5432/silkcart",
    "CACHE_URL": "redis://127.0.0.1:6379/15",
    "REALTIME_REDIS_URL": "redis://127.0.0.1:6379/14",
    "CSRF_TRUSTED_ORIGINS": "https://shop.example.com",
    "CORS_ALLOWED_ORIGINS": "https://shop.example.com",
}
# Variables of the developer's environment that would change what is checked.
CLEARED = [
    "DJANGO_DEBUG",
    "SECURE_SSL_REDIRECT",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_HSTS_PRELOAD",
    "MEDIA_STORAGE",
    "SENTRY_DSN",
]


def test_check_deploy_reports_no_issue():
    env = {k: v for k, v in os.environ.items() if k not in DEPLOY_ENV and k not in CLEARED}
    env.update(DEPLOY_ENV)
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


GUNICORN_VARIABLES = [
    "GUNICORN_BIND",
    "GUNICORN_CONTROL_SOCKET",
    "PORT",
    "WEB_CONCURRENCY",
    "GUNICORN_THREADS",
    "GUNICORN_TIMEOUT",
    "GUNICORN_GRACEFUL_TIMEOUT",
    "GUNICORN_KEEPALIVE",
    "GUNICORN_MAX_REQUESTS",
    "GUNICORN_MAX_REQUESTS_JITTER",
    "LOG_FORMAT",
    "LOG_LEVEL",
]


@pytest.fixture
def gunicorn_conf(monkeypatch):
    for name in GUNICORN_VARIABLES:
        monkeypatch.delenv(name, raising=False)

    def load(**variables: str) -> dict:
        for name, value in variables.items():
            monkeypatch.setenv(name, value)
        return runpy.run_path(str(ROOT / "gunicorn.conf.py"))

    return load


def test_gunicorn_defaults(gunicorn_conf):
    conf = gunicorn_conf()
    assert conf["wsgi_app"] == "backend.wsgi:application"
    assert conf["bind"] == "0.0.0.0:8000"
    assert 1 <= conf["workers"] <= 8
    assert conf["threads"] == 1
    assert conf["worker_class"] == "sync"
    assert (conf["timeout"], conf["graceful_timeout"], conf["keepalive"]) == (30, 30, 5)
    assert (conf["max_requests"], conf["max_requests_jitter"]) == (1000, 100)
    assert conf["accesslog"] == "-"
    assert conf["control_socket_disable"] is True
    assert "request_id=%({x-request-id}o)s" in conf["access_log_format"]
    formatter = conf["logconfig_dict"]["formatters"]["json"]
    assert formatter["()"] == "pythonjsonlogger.json.JsonFormatter"


def test_gunicorn_reads_the_environment(gunicorn_conf):
    conf = gunicorn_conf(
        GUNICORN_BIND="127.0.0.1:9000",
        WEB_CONCURRENCY="3",
        GUNICORN_THREADS="4",
        GUNICORN_TIMEOUT="60",
        GUNICORN_GRACEFUL_TIMEOUT="20",
        GUNICORN_KEEPALIVE="2",
        GUNICORN_MAX_REQUESTS="500",
        GUNICORN_MAX_REQUESTS_JITTER="50",
        LOG_FORMAT="plain",
        GUNICORN_CONTROL_SOCKET="/run/silkcart/gunicorn.ctl",
    )
    assert conf["bind"] == "127.0.0.1:9000"
    assert (conf["workers"], conf["threads"], conf["worker_class"]) == (3, 4, "gthread")
    assert (conf["timeout"], conf["graceful_timeout"], conf["keepalive"]) == (60, 20, 2)
    assert (conf["max_requests"], conf["max_requests_jitter"]) == (500, 50)
    assert "logconfig_dict" not in conf
    assert conf["control_socket"] == "/run/silkcart/gunicorn.ctl"
    assert conf["control_socket_disable"] is False


def test_gunicorn_binds_to_the_platform_port(gunicorn_conf):
    assert gunicorn_conf(PORT="5000")["bind"] == "0.0.0.0:5000"
