"""Smoke test of the ASGI entry point: backend/asgi.py under uvicorn answers a query and a mutation.

The server runs the test settings on a SQLite file of its own, migrated and seeded first, in a
temporary directory; one server serves the module's tests (a few seconds in all).
"""

import http.client
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(settings.BASE_DIR)
UVICORN = Path(sys.executable).with_name("uvicorn")
START_TIMEOUT = 60
REQUEST_TIMEOUT = 10

# Migrates the database and seeds three products, one variant each; prints the first variant's
# global id.
SEED = """
from decimal import Decimal

import django

django.setup()

from django.core.management import call_command
from strawberry.relay import to_base64

from apps.catalog.models import Category, Product, ProductVariant

call_command("migrate", verbosity=0)
category = Category.objects.create(name="Kitchen", slug="kitchen")
variants = [
    ProductVariant.objects.create(
        product=Product.objects.create(name=name, slug=name.lower(), category=category),
        sku=f"SKU-{index}",
        name="Default",
        price=Decimal("12.50") * (index + 1),
        stock_quantity=5,
    )
    for index, name in enumerate(["Kettle", "Teapot", "Whisk"])
]
print(to_base64("ProductVariant", variants[0].pk))
"""

CART_LINES_ADD = """
mutation($lines: [CartLineInput!]!) {
  cartLinesAdd(lines: $lines) {
    __typename
    ... on Cart {
      totalQuantity
      subtotal { amount currency }
      lines { quantity unitPrice { amount } variant { sku product { name } } }
    }
    ... on OperationInfo { messages { kind code field message } }
  }
}
"""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def post_graphql(port: int, query: str, variables: dict | None = None) -> tuple[int, dict]:
    """A JSON POST without cookies, as a guest's first request."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT)
    try:
        connection.request(
            "POST",
            "/graphql/",
            body=json.dumps({"query": query, "variables": variables or {}}),
            headers={"Host": "127.0.0.1", "Content-Type": "application/json"},
        )
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


def get(port: int, path: str) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT)
    try:
        connection.request("GET", path, headers={"Host": "127.0.0.1"})
        return connection.getresponse().status
    finally:
        connection.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    if not UVICORN.exists():
        pytest.skip(f"uvicorn is not installed ({UVICORN})")
    tmp_path = tmp_path_factory.mktemp("asgi")
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_"))},
        "DJANGO_SETTINGS_MODULE": "backend.settings.test",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'asgi.sqlite3'}",
        "ALLOWED_HOSTS": "127.0.0.1",
    }
    port = free_port()
    log_path = tmp_path / "uvicorn.log"
    command = [str(UVICORN), "backend.asgi:application", "--host", "127.0.0.1"]
    command += ["--port", str(port), "--lifespan", "off", "--no-access-log"]
    with log_path.open("wb") as log:
        # Started first, it imports Django while the database is migrated and seeded: it opens
        # the database on its first request only.
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        seed = subprocess.run(
            [sys.executable, "-c", SEED],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert seed.returncode == 0, seed.stdout + seed.stderr
        variant_id = seed.stdout.split()[-1]
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            assert process.poll() is None, "uvicorn exited:\n" + log_path.read_text()
            try:
                if get(port, "/healthz") == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, "uvicorn did not start:\n" + log_path.read_text()
            time.sleep(0.1)
        yield port, variant_id, log_path
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def test_uvicorn_answers_a_query(server):
    port, _, log_path = server

    status, body = post_graphql(port, "{ products(first: 2) { edges { node { name } } } }")

    assert (status, body) == (
        200,
        {
            "data": {
                "products": {"edges": [{"node": {"name": "Whisk"}}, {"node": {"name": "Teapot"}}]}
            }
        },
    ), log_path.read_text()


def test_uvicorn_answers_a_guests_mutation(server):
    port, variant_id, log_path = server

    status, body = post_graphql(
        port, CART_LINES_ADD, {"lines": [{"variantId": variant_id, "quantity": 2}]}
    )

    assert (status, body) == (
        200,
        {
            "data": {
                "cartLinesAdd": {
                    "__typename": "Cart",
                    "totalQuantity": 2,
                    "subtotal": {"amount": "25.00", "currency": "USD"},
                    "lines": [
                        {
                            "quantity": 2,
                            "unitPrice": {"amount": "12.50"},
                            "variant": {"sku": "SKU-0", "product": {"name": "Kettle"}},
                        }
                    ],
                }
            }
        },
    ), log_path.read_text()
