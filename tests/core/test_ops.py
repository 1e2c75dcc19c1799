"""Operations: health endpoints, request ids, host validation, CORS and the log format."""

import io
import json
import logging
import re

import pytest
from django.conf import settings
from django.db import OperationalError
from django.test import Client, override_settings
from django_guid.log_filters import CorrelationId
from pythonjsonlogger.json import JsonFormatter

from apps.core import views

ALLOWED_ORIGIN = "https://shop.example.com"
OTHER_ORIGIN = "https://evil.example.net"
UUID_HEX = re.compile(r"^[0-9a-f]{32}$")


class BrokenCache:
    def set(self, *args, **kwargs):
        raise ConnectionError("Error 111 connecting to redis:6379. Connection refused.")

    get = delete = set


class BrokenConnection:
    def cursor(self):
        raise OperationalError("connection to server at db:5432 failed")


# --- /healthz and /readyz ---------------------------------------------------------------------


def test_healthz_answers_without_touching_the_database():
    # No `db` fixture: pytest-django fails any query made here.
    response = Client().get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "no-cache" in response["Cache-Control"]


def test_healthz_accepts_only_safe_methods():
    assert Client().post("/healthz").status_code == 405


@pytest.mark.django_db
def test_readyz_checks_the_database_and_the_cache():
    response = Client().get("/readyz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "checks": {"database": "ok", "cache": "ok"},
        "failed": [],
    }


@pytest.mark.django_db
def test_readyz_is_degraded_but_ready_when_only_the_cache_fails(monkeypatch):
    # The shop serves without Redis: a failed cache must not take every instance out.
    monkeypatch.setattr(views, "cache", BrokenCache())
    response = Client().get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded"
    assert body["checks"] == {"database": "ok", "cache": "error"}
    assert body["failed"] == ["cache"]
    # The cause goes to the logs, not to the response.
    assert "redis" not in response.content.decode()


@pytest.mark.django_db
def test_readyz_is_503_when_the_database_fails(monkeypatch):
    monkeypatch.setattr(views, "connection", BrokenConnection())
    response = Client().get("/readyz")
    assert response.status_code == 503
    assert response.json()["failed"] == ["database"]
    assert "5432" not in response.content.decode()


@pytest.mark.django_db
def test_readyz_names_every_failed_check(monkeypatch):
    monkeypatch.setattr(views, "cache", BrokenCache())
    monkeypatch.setattr(views, "connection", BrokenConnection())
    response = Client().get("/readyz")
    assert response.status_code == 503
    assert response.json()["failed"] == ["database", "cache"]


@pytest.mark.django_db
def test_readyz_reports_a_cache_that_loses_values(monkeypatch):
    class ForgetfulCache(BrokenCache):
        def set(self, *args, **kwargs):
            pass

        def get(self, *args, **kwargs):
            return None

        def delete(self, *args, **kwargs):
            pass

    monkeypatch.setattr(views, "cache", ForgetfulCache())
    assert Client().get("/readyz").json()["failed"] == ["cache"]


# --- Request ids --------------------------------------------------------------------------------


def test_every_response_carries_a_generated_request_id():
    first = Client().get("/healthz")["X-Request-ID"]
    second = Client().get("/healthz")["X-Request-ID"]
    assert UUID_HEX.match(first)
    assert UUID_HEX.match(second)
    assert first != second


def test_an_incoming_request_id_is_kept():
    incoming = "0f8fad5b-d9cb-469f-a165-70867728950e"
    response = Client().get("/healthz", headers={"X-Request-ID": incoming})
    assert response["X-Request-ID"] == incoming


def test_a_malformed_incoming_request_id_is_replaced():
    response = Client().get("/healthz", headers={"X-Request-ID": "../../etc/passwd\nforged"})
    assert UUID_HEX.match(response["X-Request-ID"])


@pytest.mark.django_db
def test_log_lines_carry_the_request_id_of_their_request(monkeypatch):
    """A line logged while serving a request holds that request's id, in the JSON format."""
    json_formatter = settings.LOGGING["formatters"]["json"]
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(CorrelationId(correlation_id_field="request_id"))
    handler.setFormatter(
        JsonFormatter(fmt=json_formatter["fmt"], rename_fields=json_formatter["rename_fields"])
    )
    logger = logging.getLogger("apps.core.views")
    logger.addHandler(handler)
    monkeypatch.setattr(views, "cache", BrokenCache())
    try:
        response = Client().get("/readyz")
    finally:
        logger.removeHandler(handler)
    line = json.loads(stream.getvalue().splitlines()[0])
    assert line["request_id"] == response["X-Request-ID"]
    assert line["level"] == "ERROR"
    assert line["logger"] == "apps.core.views"
    assert line["message"] == "Readiness check failed: cache"
    assert "ConnectionError" in line["exc_info"]


def test_the_console_handler_adds_the_request_id_to_every_line():
    handler = settings.LOGGING["handlers"]["console"]
    assert "request_id" in handler["filters"]
    assert settings.MIDDLEWARE[0] == "django_guid.middleware.guid_middleware"


# --- Hosts and CORS -----------------------------------------------------------------------------


def test_a_forged_host_header_is_refused_with_400():
    response = Client().get("/healthz", headers={"Host": "evil.example.net"})
    assert response.status_code == 400


@pytest.mark.django_db
def test_a_forged_host_header_is_refused_on_graphql():
    response = Client().post(
        "/graphql/",
        data=json.dumps({"query": "{ products(first: 1) { totalCount } }"}),
        content_type="application/json",
        headers={"Host": "evil.example.net"},
    )
    assert response.status_code == 400


def _cors_headers(response) -> dict[str, str]:
    return {k: v for k, v in response.headers.items() if k.lower().startswith("access-control-")}


@override_settings(CORS_ALLOWED_ORIGINS=[ALLOWED_ORIGIN])
def test_preflight_from_an_allowed_origin_gets_cors_headers():
    response = Client().options(
        "/graphql/",
        headers={
            "Origin": ALLOWED_ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == ALLOWED_ORIGIN
    assert response["Access-Control-Allow-Credentials"] == "true"


@override_settings(CORS_ALLOWED_ORIGINS=[ALLOWED_ORIGIN])
def test_preflight_from_another_origin_gets_no_cors_headers():
    response = Client().options(
        "/graphql/",
        headers={
            "Origin": OTHER_ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert _cors_headers(response) == {}


@pytest.mark.django_db
@override_settings(CORS_ALLOWED_ORIGINS=[ALLOWED_ORIGIN])
def test_the_request_id_is_exposed_to_allowed_origins_only():
    def post(origin: str):
        return Client().post(
            "/graphql/",
            data=json.dumps({"query": "{ products(first: 1) { totalCount } }"}),
            content_type="application/json",
            headers={"Origin": origin},
        )

    allowed = post(ALLOWED_ORIGIN)
    assert allowed.status_code == 200
    assert allowed["Access-Control-Allow-Origin"] == ALLOWED_ORIGIN
    assert allowed["Access-Control-Expose-Headers"].lower() == "x-request-id"

    other = post(OTHER_ORIGIN)
    assert other.status_code == 200  # CORS is the browser's check; the server adds no grant.
    assert _cors_headers(other) == {}
    assert UUID_HEX.match(other["X-Request-ID"])


@pytest.mark.django_db
def test_a_csrf_refusal_outside_the_api_keeps_django_s_page():
    client = Client(enforce_csrf_checks=True)

    response = client.post("/admin/login/", {"username": "x", "password": "y"})

    assert response.status_code == 403
    assert response["Content-Type"].startswith("text/html")
