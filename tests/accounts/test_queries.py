from strawberry import relay

from apps.accounts import services
from tests.accounts.factories import AddressFactory, UserFactory
from tests.conftest import GraphQLClient

ME = """
query {
  me {
    id email firstName lastName phone dateJoined isStaff
    defaultShippingAddress { id }
    defaultBillingAddress { id }
    addresses { id fullName line1 line2 city region postalCode country phone }
  }
}
"""

ME_ADDRESSES = "query { me { id addresses { id city } } }"

NODE = """
query Node($id: ID!) {
  node(id: $id) {
    __typename
    id
    ... on User { email }
    ... on Address { city }
  }
}
"""

USER_FIELDS = '{ __type(name: "User") { fields { name } } }'


def _gid(type_name: str, pk: int) -> str:
    return str(relay.GlobalID(type_name, str(pk)))


def test_me_is_null_when_anonymous(gql, customer):
    assert gql(ME).data == {"me": None}


def test_me_returns_the_signed_in_user(customer_gql, customer):
    address = AddressFactory(user=customer, line2="Suite 5", phone="+1 415 555 0100")
    customer.default_shipping_address = address
    customer.phone = "+1 415 555 0199"
    customer.save()

    me = customer_gql(ME).data["me"]

    assert me == {
        "id": _gid("User", customer.pk),
        "email": "casey@example.com",
        "firstName": "Casey",
        "lastName": "Buyer",
        "phone": "+1 415 555 0199",
        "dateJoined": customer.date_joined.isoformat(),
        "isStaff": False,
        "defaultShippingAddress": {"id": _gid("Address", address.pk)},
        "defaultBillingAddress": None,
        "addresses": [
            {
                "id": _gid("Address", address.pk),
                "fullName": "Sam Buyer",
                "line1": "1 Market Street",
                "line2": "Suite 5",
                "city": "San Francisco",
                "region": "CA",
                "postalCode": "94105",
                "country": "US",
                "phone": "+1 415 555 0100",
            }
        ],
    }


def test_me_with_a_bearer_token(customer):
    _, key = services.token_create(user=customer)
    client = GraphQLClient()
    client.token = key

    assert client(ME_ADDRESSES).data == {"me": {"id": _gid("User", customer.pk), "addresses": []}}


def test_user_type_exposes_no_secret(gql):
    fields = {field["name"] for field in gql(USER_FIELDS).data["__type"]["fields"]}

    assert fields >= {"id", "email", "addresses"}
    assert fields.isdisjoint({"password", "lastLogin", "isSuperuser", "authTokens", "isActive"})


def test_me_addresses_lists_only_the_users_own(customer_gql, customer):
    own = AddressFactory.create_batch(2, user=customer)
    AddressFactory(city="Elsewhere")
    AddressFactory(user=UserFactory(), city="Elsewhere")

    addresses = customer_gql(ME_ADDRESSES).data["me"]["addresses"]

    assert addresses == [
        {"id": _gid("Address", address.pk), "city": "San Francisco"} for address in own
    ]


def test_staff_me_addresses_lists_only_their_own(admin_gql, store_admin):
    own = AddressFactory(user=store_admin)
    AddressFactory()

    addresses = admin_gql(ME_ADDRESSES).data["me"]["addresses"]

    assert addresses == [{"id": _gid("Address", own.pk), "city": "San Francisco"}]


def test_me_addresses_query_count_does_not_grow(customer_gql, customer, django_assert_num_queries):
    AddressFactory(user=customer)
    # the session, the user, the user's and its groups' permissions, the addresses
    with django_assert_num_queries(5):
        one = customer_gql(ME_ADDRESSES).data["me"]["addresses"]

    AddressFactory.create_batch(4, user=customer)
    with django_assert_num_queries(5):
        five = customer_gql(ME_ADDRESSES).data["me"]["addresses"]

    assert len(one) == 1
    assert len(five) == 5


def test_node_resolves_the_users_own_objects(customer_gql, customer):
    address = AddressFactory(user=customer)

    user_node = customer_gql(NODE, {"id": _gid("User", customer.pk)}).data["node"]
    address_node = customer_gql(NODE, {"id": _gid("Address", address.pk)}).data["node"]

    assert user_node == {
        "__typename": "User",
        "id": _gid("User", customer.pk),
        "email": "casey@example.com",
    }
    assert address_node == {
        "__typename": "Address",
        "id": _gid("Address", address.pk),
        "city": "San Francisco",
    }


def test_node_of_another_users_objects_is_null(customer_gql, customer):
    stranger = UserFactory()
    address = AddressFactory(user=stranger)

    for gid in [
        _gid("User", stranger.pk),
        _gid("Address", address.pk),
        _gid("User", 999_999),
        _gid("Address", 999_999),
    ]:
        assert customer_gql(NODE, {"id": gid}).data == {"node": None}


def test_node_of_accounts_is_null_when_anonymous(gql, customer):
    address = AddressFactory(user=customer)

    for gid in [_gid("User", customer.pk), _gid("Address", address.pk)]:
        assert gql(NODE, {"id": gid}).data == {"node": None}


def test_staff_with_view_permissions_can_read_a_customer(admin_gql, customer):
    address = AddressFactory(user=customer)

    user_node = admin_gql(NODE, {"id": _gid("User", customer.pk)}).data["node"]
    address_node = admin_gql(NODE, {"id": _gid("Address", address.pk)}).data["node"]

    assert user_node["email"] == "casey@example.com"
    assert address_node["city"] == "San Francisco"


def test_staff_without_view_permissions_cannot_read_a_customer(customer):
    clerk = UserFactory(is_staff=True)
    address = AddressFactory(user=customer)
    client = GraphQLClient().login(clerk)

    for gid in [_gid("User", customer.pk), _gid("Address", address.pk)]:
        assert client(NODE, {"id": gid}).data == {"node": None}


def test_a_bearer_token_wins_over_a_session_cookie(customer_gql, customer):
    other = UserFactory(email="other@example.com")
    _, key = services.token_create(user=other)
    customer_gql.token = key

    me = customer_gql(ME_ADDRESSES).data["me"]

    assert me == {"id": _gid("User", other.pk), "addresses": []}
