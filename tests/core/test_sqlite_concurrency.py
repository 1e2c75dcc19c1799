"""``make run``'s SQLite database under concurrent requests, with real threads.

The server runs as ``make run`` runs it (``runserver``, local settings, a SQLite file of its
own): five checkouts of one cart with one idempotency key at once (a double-clicked button)
all answer the same order, and five ``cartLinesAdd`` on one cart at once all succeed. Without
``transaction_mode: IMMEDIATE`` and a busy timeout, some answer "database is locked".
"""

import json
import os
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 60
VARIANTS = "{ products(first: 20) { edges { node { variants { id quantityAvailable } } } } }"
ADD = """mutation($token: UUID, $lines: [CartLineInput!]!) { cartLinesAdd(cartToken: $token,
lines: $lines) { __typename ... on Cart { token totalQuantity }
... on OperationInfo { messages { code message } } } }"""
CHECKOUT = """mutation($input: CheckoutInput!) { checkoutComplete(input: $input) { __typename
... on Order { number } ... on OperationInfo { messages { code message } } } }"""
ADDRESS = {
    "fullName": "Casey Buyer",
    "line1": "1 Market Street",
    "city": "San Francisco",
    "postalCode": "94105",
    "country": "US",
}


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    database = tmp_path_factory.mktemp("sqlite") / "db.sqlite3"
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{database}",
        "DJANGO_SETTINGS_MODULE": "backend.settings.local",
        "RATELIMIT_ENABLE": "false",
    }
    manage = [sys.executable, str(ROOT / "manage.py")]
    for command in (["migrate", "--noinput"], ["seed_demo"]):
        subprocess.run([*manage, *command], env=env, cwd=ROOT, check=True, capture_output=True)
    port = _free_port()
    process = subprocess.Popen(
        [*manage, "runserver", f"127.0.0.1:{port}", "--noreload"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + TIMEOUT
        while True:
            try:
                with urllib.request.urlopen(f"{url}/healthz", timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    pytest.fail("the development server did not start")
                time.sleep(0.2)
        yield f"{url}/graphql/"
    finally:
        process.terminate()
        process.wait(timeout=10)


def post(url: str, query: str, variables: dict) -> dict:
    request = urllib.request.Request(
        url,
        data=json.dumps({"query": query, "variables": variables}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
        return json.load(response)


def all_at_once(count: int, call) -> list:
    barrier, answers = threading.Barrier(count), [None] * count

    def run(index: int) -> None:
        barrier.wait(timeout=TIMEOUT)
        try:
            answers[index] = call()
        except Exception as error:  # reported by the assertions
            answers[index] = error

    threads = [threading.Thread(target=run, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=TIMEOUT)
    return answers


def typename(answer, field: str) -> str:
    """The payload's type, or what went wrong ("database is locked")."""
    if isinstance(answer, Exception):
        return repr(answer)
    result = (answer.get("data") or {}).get(field)
    if result is None:
        return "; ".join(error["message"] for error in answer.get("errors", []))
    return result["__typename"]


def a_variant_in_stock(url: str) -> str:
    products = post(url, VARIANTS, {})["data"]["products"]["edges"]
    return next(
        variant["id"]
        for product in products
        for variant in product["node"]["variants"]
        if variant["quantityAvailable"] >= 20
    )


def test_five_cart_additions_at_once_all_succeed(server):
    variant = a_variant_in_stock(server)
    line = [{"variantId": variant, "quantity": 1}]
    token = post(server, ADD, {"lines": line})["data"]["cartLinesAdd"]["token"]

    answers = all_at_once(5, lambda: post(server, ADD, {"token": token, "lines": line}))

    assert [typename(answer, "cartLinesAdd") for answer in answers] == ["Cart"] * 5, answers
    final = post(server, ADD, {"token": token, "lines": line})["data"]["cartLinesAdd"]
    assert final["totalQuantity"] == 7


def test_five_checkouts_with_one_key_at_once_answer_one_order(server):
    variant = a_variant_in_stock(server)
    added = post(server, ADD, {"lines": [{"variantId": variant, "quantity": 2}]})
    token = added["data"]["cartLinesAdd"]["token"]
    checkout = {
        "input": {
            "cartToken": token,
            "email": "guest@example.com",
            "shippingAddress": ADDRESS,
            "paymentMethod": "CASH_ON_DELIVERY",
            "idempotencyKey": "double-click",
        }
    }

    answers = all_at_once(5, lambda: post(server, CHECKOUT, checkout))

    assert [typename(answer, "checkoutComplete") for answer in answers] == ["Order"] * 5, answers
    assert len({answer["data"]["checkoutComplete"]["number"] for answer in answers}) == 1
