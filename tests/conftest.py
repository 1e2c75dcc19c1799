import json
from dataclasses import dataclass
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client

GRAPHQL_URL = "/graphql/"


@dataclass
class GraphQLResponse:
    status_code: int
    body: dict[str, Any]

    @property
    def data(self) -> dict[str, Any]:
        assert "errors" not in self.body, self.body.get("errors")
        return self.body["data"]

    @property
    def errors(self) -> list[dict[str, Any]]:
        return self.body.get("errors") or []


class GraphQLClient:
    """Posts GraphQL documents to the endpoint as a frontend would."""

    def __init__(self, client: Client | None = None) -> None:
        self.client = client or Client()
        self.token: str | None = None

    def login(self, user) -> "GraphQLClient":
        self.client.force_login(user)
        return self

    def __call__(
        self, query: str, variables: dict | None = None, *, headers: dict[str, str] | None = None
    ) -> GraphQLResponse:
        extra = dict(headers or {})
        if self.token:
            extra.setdefault("Authorization", f"Bearer {self.token}")
        response = self.client.post(
            GRAPHQL_URL,
            data=json.dumps({"query": query, "variables": variables or {}}),
            content_type="application/json",
            headers=extra,
        )
        return GraphQLResponse(response.status_code, response.json())


@pytest.fixture(autouse=True)
def _clear_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def gql(db) -> GraphQLClient:
    return GraphQLClient()


@pytest.fixture
def customer(db):
    from tests.accounts.factories import UserFactory

    return UserFactory(email="casey@example.com", first_name="Casey")


@pytest.fixture
def customer_gql(db, customer) -> GraphQLClient:
    return GraphQLClient().login(customer)


@pytest.fixture
def store_admin(db):
    from django.contrib.auth.models import Group

    from tests.accounts.factories import UserFactory

    user = UserFactory(email="admin@example.com", is_staff=True)
    user.groups.add(Group.objects.get(name="Store admin"))
    return user


@pytest.fixture
def admin_gql(db, store_admin) -> GraphQLClient:
    return GraphQLClient().login(store_admin)


def pytest_collection_modifyitems(config, items):
    """Tests marked ``postgres`` skip, with the reason, when the suite runs on SQLite."""
    from django.conf import settings

    if settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL: set DATABASE_URL=postgres://...")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def published(monkeypatch) -> list:
    """The events published (after their transaction committed) while the test runs."""
    from apps.core import events

    sent: list = []
    monkeypatch.setattr(events, "_send", sent.append)
    return sent
