"""Smoke test of the production server: gunicorn with gunicorn.conf.py and the production settings.

It serves the test run's own PostgreSQL database (migrated by pytest-django), or a temporary
SQLite file migrated first, with the Redis cache at 127.0.0.1:6379/15. Requests send
X-Forwarded-Proto: https, as the TLS-terminating proxy does.
"""

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connections

# Makes pytest-django create the test database, which gunicorn then serves on PostgreSQL.
pytestmark = pytest.mark.django_db

ROOT = Path(settings.BASE_DIR)
REDIS = ("127.0.0.1", 6379)
START_TIMEOUT = 60
REQUEST_TIMEOUT = 10


def redis_is_reachable() -> bool:
    try:
        with socket.create_connection(REDIS, timeout=1) as connection:
            connection.sendall(b"PING\r\n")
            return connection.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def postgres_url(database: dict) -> str:
    user = quote(database.get("USER") or "", safe="")
    password = quote(database.get("PASSWORD") or "", safe="")
    credentials = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = database.get("HOST") or "127.0.0.1"
    port = database.get("PORT") or "5432"
    return f"postgres://{credentials}{host}:{port}/{quote(database['NAME'], safe='')}"


def request(port: int, method: str, path: str, body: dict | None = None, headers=None):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT)
    try:
        all_headers = {"Host": "127.0.0.1", "X-Forwarded-Proto": "https", **(headers or {})}
        payload = None
        if body is not None:
            payload = json.dumps(body)
            all_headers["Content-Type"] = "application/json"
        connection.request(method, path, body=payload, headers=all_headers)
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


@pytest.fixture(scope="module")
def production_env(request, tmp_path_factory):
    if not redis_is_reachable():
        pytest.skip("needs Redis on 127.0.0.1:6379 (the production cache)")
    tmp_path = tmp_path_factory.mktemp("production")
    database = settings.DATABASES["default"]
    keep = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "DATABASE_", "GUNICORN_", "SENTRY_", "SECURE_"))
    }
    env = {
        **keep,
        "DJANGO_SETTINGS_MODULE": "backend.settings.production",
        "DJANGO_SECRET_KEY": "smoke-test-only-7Hq2Lw9Zt4Xv8Bn3Mc6Kd1Rf5Gy0PjUe",
        "ALLOWED_HOSTS": "127.0.0.1",
        "CACHE_URL": "redis://127.0.0.1:6379/15",
        "REALTIME_REDIS_URL": "redis://127.0.0.1:6379/14",
        "WEB_CONCURRENCY": "2",
        "GUNICORN_THREADS": "1",
        "GUNICORN_TIMEOUT": "30",
        "LOG_FORMAT": "json",
        "MEDIA_STORAGE": "local",
        "MEDIA_ROOT": str(tmp_path / "media"),
    }
    if database["ENGINE"].endswith("postgresql"):
        # The test database that pytest-django created and migrated for this run.
        request.getfixturevalue("django_db_setup")
        env["DATABASE_URL"] = postgres_url(connections["default"].settings_dict)
    else:
        env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'smoke.sqlite3'}"
        migrate = subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert migrate.returncode == 0, migrate.stdout + migrate.stderr
    return env


@pytest.fixture(scope="module")
def gunicorn(production_env, tmp_path_factory):
    port = free_port()
    log_path = tmp_path_factory.mktemp("gunicorn") / "gunicorn.log"
    env = {**production_env, "GUNICORN_BIND": f"127.0.0.1:{port}"}
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--config", "gunicorn.conf.py"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            assert process.poll() is None, "gunicorn exited:\n" + log_path.read_text()
            try:
                status, _, _ = request(port, "GET", "/healthz")
                if status == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, "gunicorn did not start:\n" + log_path.read_text()
            time.sleep(0.25)
        yield port, log_path
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def test_gunicorn_serves_readiness_and_the_catalog(gunicorn):
    port, log_path = gunicorn

    status, headers, body = request(port, "GET", "/readyz")
    assert status == 200, body
    assert json.loads(body) == {
        "status": "ok",
        "checks": {"database": "ok", "cache": "ok"},
        "failed": [],
    }

    status, headers, body = request(
        port,
        "POST",
        "/graphql/",
        body={"query": "{ products(first: 1) { totalCount } }"},
        headers={"X-Request-ID": "0f8fad5b-d9cb-469f-a165-70867728950e"},
    )
    assert status == 200, body
    result = json.loads(body)
    assert "errors" not in result, result
    assert isinstance(result["data"]["products"]["totalCount"], int)
    assert headers["X-Request-ID"] == "0f8fad5b-d9cb-469f-a165-70867728950e"
    assert headers["Strict-Transport-Security"].startswith("max-age=31536000")

    # The access log is JSON on stdout, with the request id of the response.
    deadline = time.monotonic() + 5
    while "0f8fad5b-d9cb-469f-a165-70867728950e" not in log_path.read_text():
        assert time.monotonic() < deadline, log_path.read_text()
        time.sleep(0.1)
    access = [
        json.loads(line)
        for line in log_path.read_text().splitlines()
        if "0f8fad5b-d9cb-469f-a165-70867728950e" in line
    ]
    assert access[0]["logger"] == "gunicorn.access"
    assert '"POST /graphql/ HTTP/1.1" 200' in access[0]["message"]


def test_gunicorn_redirects_plain_http_but_not_the_probes(gunicorn):
    port, _ = gunicorn
    plain = {"X-Forwarded-Proto": "http"}
    status, headers, _ = request(port, "GET", "/graphql/?query={__typename}", headers=plain)
    assert status == 301
    assert headers["Location"].startswith("https://127.0.0.1/graphql/")
    assert request(port, "GET", "/healthz", headers=plain)[0] == 200
    assert request(port, "GET", "/readyz", headers=plain)[0] == 200
    # A Host header outside ALLOWED_HOSTS.
    assert request(port, "GET", "/healthz", headers={"Host": "evil.example.net"})[0] == 400
