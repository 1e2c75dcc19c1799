from datetime import UTC, datetime

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from strawberry.relay import to_base64

from tests.accounts.factories import AddressFactory, UserFactory
from tests.conftest import GraphQLClient

USERS = """
query($filters: UserFilter, $first: Int, $after: String) {
  users(filters: $filters, first: $first, after: $after) {
    totalCount
    edges { node { email } }
    pageInfo { hasNextPage endCursor }
  }
}
"""
USER = """
query($id: ID!) {
  user(id: $id) {
    id email firstName lastName isStaff dateJoined
    addresses { city }
  }
}
"""


def joined(day: int) -> datetime:
    return datetime(2025, 3, day, 12, 0, tzinfo=UTC)


@pytest.fixture
def accounts(store_admin):
    """Four accounts besides the admin (who joined today, so comes first)."""
    return {
        "ann": UserFactory(
            email="ann.smith@shop.test", first_name="Ann", last_name="Smith", date_joined=joined(1)
        ),
        "bob": UserFactory(
            email="bob@example.org", first_name="Bob", last_name="Jones", date_joined=joined(2)
        ),
        "carol": UserFactory(
            email="carol@silkcart.test",
            first_name="Carol",
            last_name="Keane",
            is_staff=True,
            date_joined=joined(3),
        ),
        "dan": UserFactory(
            email="dan@example.org", first_name="Dan", last_name="Smithers", date_joined=joined(4)
        ),
    }


def emails(api: GraphQLClient, **variables) -> list[str]:
    users = api(USERS, variables).data["users"]
    found = [edge["node"]["email"] for edge in users["edges"]]
    assert users["totalCount"] == len(found)
    return found


def test_staff_list_every_account_newest_first(admin_gql, accounts):
    assert emails(admin_gql) == [
        "admin@example.com",
        "dan@example.org",
        "carol@silkcart.test",
        "bob@example.org",
        "ann.smith@shop.test",
    ]


@pytest.mark.parametrize(
    ("search", "expected"),
    [
        ("example.org", ["dan@example.org", "bob@example.org"]),  # part of the email
        ("ANN.S", ["ann.smith@shop.test"]),
        ("carol", ["carol@silkcart.test"]),  # first name (and email)
        ("Bob", ["bob@example.org"]),
        ("jones", ["bob@example.org"]),  # last name only
        ("  Keane ", ["carol@silkcart.test"]),  # trimmed
        ("smith", ["dan@example.org", "ann.smith@shop.test"]),  # Smithers, Smith
        ("nobody", []),
    ],
)
def test_users_search_email_and_names(admin_gql, accounts, search, expected):
    assert emails(admin_gql, filters={"search": search}) == expected


def test_users_filter_on_is_staff(admin_gql, accounts):
    assert emails(admin_gql, filters={"isStaff": True}) == [
        "admin@example.com",
        "carol@silkcart.test",
    ]
    assert emails(admin_gql, filters={"isStaff": False}) == [
        "dan@example.org",
        "bob@example.org",
        "ann.smith@shop.test",
    ]
    assert emails(admin_gql, filters={"isStaff": False, "search": "smith"}) == [
        "dan@example.org",
        "ann.smith@shop.test",
    ]
    assert emails(admin_gql, filters={"isStaff": True, "search": "smith"}) == []


def test_users_pages_keep_the_total_count(admin_gql, accounts):
    first = admin_gql(USERS, {"first": 2}).data["users"]
    second = admin_gql(USERS, {"first": 2, "after": first["pageInfo"]["endCursor"]}).data["users"]
    last = admin_gql(USERS, {"first": 2, "after": second["pageInfo"]["endCursor"]}).data["users"]

    pages = [first, second, last]
    assert [page["totalCount"] for page in pages] == [5, 5, 5]
    assert [[e["node"]["email"] for e in page["edges"]] for page in pages] == [
        ["admin@example.com", "dan@example.org"],
        ["carol@silkcart.test", "bob@example.org"],
        ["ann.smith@shop.test"],
    ]
    assert [page["pageInfo"]["hasNextPage"] for page in pages] == [True, True, False]


def test_filtered_pages_count_the_filtered_accounts(admin_gql, accounts):
    page = admin_gql(USERS, {"filters": {"isStaff": False}, "first": 1}).data["users"]

    assert page["totalCount"] == 3
    assert [e["node"]["email"] for e in page["edges"]] == ["dan@example.org"]
    assert page["pageInfo"]["hasNextPage"] is True


def test_users_page_size_is_capped(admin_gql, accounts):
    response = admin_gql(USERS, {"first": 101})

    assert response.body["data"] is None
    assert [(e["message"], e["extensions"]["code"]) for e in response.errors] == [
        ("Argument 'first' must be between 0 and 100.", "invalid")
    ]


def test_users_cost_the_same_queries_for_two_and_for_ten_accounts(admin_gql, accounts):
    query = "{ users { totalCount edges { node { email addresses { city } } } } }"
    for user in accounts.values():
        AddressFactory(user=user)

    with CaptureQueriesContext(connection) as few:
        admin_gql(query).data  # noqa: B018 - asserts that there is no error
    for n in range(5):
        AddressFactory(user=UserFactory(email=f"more{n}@example.com"))
    with CaptureQueriesContext(connection) as many:
        assert admin_gql(query).data["users"]["totalCount"] == 10

    assert len(many) == len(few)


def test_staff_read_one_account(admin_gql, accounts):
    ann = accounts["ann"]
    AddressFactory(user=ann, city="Lyon")

    assert admin_gql(USER, {"id": to_base64("User", ann.pk)}).data["user"] == {
        "id": to_base64("User", ann.pk),
        "email": "ann.smith@shop.test",
        "firstName": "Ann",
        "lastName": "Smith",
        "isStaff": False,
        "dateJoined": "2025-03-01T12:00:00+00:00",
        "addresses": [{"city": "Lyon"}],
    }


@pytest.mark.parametrize(
    "gid",
    [
        to_base64("User", 999999),  # no such account
        to_base64("Product", 1),  # not a user id
        to_base64("User", "abc"),  # not an integer key
    ],
)
def test_user_by_an_id_that_is_not_an_account_is_null(admin_gql, accounts, gid):
    assert admin_gql(USER, {"id": gid}).data == {"user": None}


# --- Without the permission: nothing, silently ------------------------------------------------

EMPTY = {"totalCount": 0, "edges": [], "pageInfo": {"hasNextPage": False, "endCursor": None}}


def test_anonymous_get_an_empty_users_connection(gql, accounts):
    assert gql(USERS).data == {"users": EMPTY}
    assert gql(USERS, {"filters": {"search": "ann"}}).data == {"users": EMPTY}


def test_a_customer_gets_an_empty_users_connection(customer_gql, accounts):
    assert customer_gql(USERS).data == {"users": EMPTY}


def test_a_staff_member_without_a_role_gets_an_empty_users_connection(accounts):
    clerk = GraphQLClient().login(accounts["carol"])

    assert clerk(USERS).data == {"users": EMPTY}


def test_anonymous_get_null_for_an_account(gql, accounts):
    assert gql(USER, {"id": to_base64("User", accounts["ann"].pk)}).data == {"user": None}


def test_a_customer_gets_null_for_another_account_and_for_their_own(
    customer, customer_gql, accounts
):
    assert customer_gql(USER, {"id": to_base64("User", accounts["ann"].pk)}).data == {"user": None}
    assert customer_gql(USER, {"id": to_base64("User", customer.pk)}).data == {"user": None}


def test_the_order_manager_role_may_list_and_read_accounts(accounts):
    manager = UserFactory(is_staff=True, email="orders@example.com", date_joined=joined(5))
    manager.groups.add(Group.objects.get(name="Order manager"))
    api = GraphQLClient().login(manager)

    assert emails(api, filters={"search": "example.org"}) == ["dan@example.org", "bob@example.org"]
    assert api(USER, {"id": to_base64("User", accounts["bob"].pk)}).data["user"]["email"] == (
        "bob@example.org"
    )


def test_the_catalog_manager_role_may_not_list_accounts(accounts):
    manager = UserFactory(is_staff=True)
    manager.groups.add(Group.objects.get(name="Catalog manager"))
    api = GraphQLClient().login(manager)

    assert api(USERS).data == {"users": EMPTY}
    assert api(USER, {"id": to_base64("User", accounts["bob"].pk)}).data == {"user": None}
