"""No request runs for seconds: a time budget per request, and PostgreSQL's statement_timeout."""

import json
import threading
import urllib.request

import pytest
from django.db import connection, transaction

from api.views import RequestTimeout, TimeBudget
from tests.schema.test_cost import BOMB


def test_a_request_past_its_time_budget_stops_with_a_coded_error(gql, settings):
    settings.GRAPHQL_TIME_BUDGET = 0.0

    response = gql("{ products(first: 1) { totalCount } }")

    (error,) = response.errors
    assert (error["extensions"]["code"], error["path"]) == ("timeout", ["products", "totalCount"])
    assert "took too long" in error["message"]


def test_a_request_within_its_budget_is_untouched(gql, settings):
    settings.GRAPHQL_TIME_BUDGET = 30.0

    assert gql("{ products(first: 1) { totalCount } }").data == {"products": {"totalCount": 0}}


@pytest.mark.postgres
def test_connections_carry_the_statement_timeout(db, settings):
    with connection.cursor() as cursor:
        cursor.execute("SHOW statement_timeout")
        (value,) = cursor.fetchone()
    assert value == f"{settings.DATABASE_STATEMENT_TIMEOUT}ms".replace("000ms", "s")


@pytest.mark.postgres
def test_a_statement_postgresql_cancels_answers_the_timeout_error(db):
    with (
        pytest.raises(RequestTimeout),
        transaction.atomic(),
        connection.execute_wrapper(TimeBudget(30.0)),
        connection.cursor() as cursor,
    ):
        cursor.execute("SET LOCAL statement_timeout = 20")
        cursor.execute("SELECT pg_sleep(2)")


@pytest.mark.django_db(transaction=True)
def test_healthz_answers_while_cost_bombs_are_sent_in_parallel(live_server):
    url = live_server.url
    answers: list[dict] = []

    def bomb() -> None:
        request = urllib.request.Request(
            f"{url}/graphql/",
            data=json.dumps({"query": BOMB}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            answers.append(json.load(response))

    threads = [threading.Thread(target=bomb) for _ in range(6)]
    for thread in threads:
        thread.start()
    with urllib.request.urlopen(f"{url}/healthz", timeout=5) as health:  # fails if it hangs
        status = health.status
    for thread in threads:
        thread.join(timeout=30)

    assert status == 200
    assert len(answers) == 6
    assert {answer["errors"][0]["extensions"]["code"] for answer in answers} == {
        "query_too_complex"
    }
