import json
import re
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.conf import settings
from django.contrib.auth.hashers import get_hasher, identify_hasher
from django.contrib.auth.tokens import default_token_generator
from django.core import mail
from django.test import Client
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from strawberry import relay

from apps.accounts import services
from apps.accounts.models import Address, AuthToken, User
from tests.accounts.factories import DEFAULT_PASSWORD, AddressFactory, UserFactory
from tests.catalog.factories import ProductFactory
from tests.conftest import GRAPHQL_URL, GraphQLClient

NEW_PASSWORD = "Another-long-secret-42"
INVALID_CREDENTIALS = "The email or password is incorrect."
RATE_LIMITED = "Too many attempts. Wait a minute and try again."
SIGNED_IN_ONLY = [
    {
        "kind": "PERMISSION",
        "field": None,
        "message": "You must be signed in.",
        "code": "permission_denied",
    }
]

MESSAGES = "... on OperationInfo { messages { kind field message code } }"

REGISTER = f"""
mutation Register($input: AccountRegisterInput!) {{
  accountRegister(input: $input) {{
    __typename
    ... on User {{ id email firstName lastName isStaff }}
    {MESSAGES}
  }}
}}
"""

LOGIN = f"""
mutation Login($email: String!, $password: String!) {{
  login(email: $email, password: $password) {{
    __typename
    ... on User {{ id email }}
    {MESSAGES}
  }}
}}
"""

LOGOUT = "mutation { logout }"

ME = "query { me { id email } }"

TOKEN_CREATE = f"""
mutation TokenCreate($email: String!, $password: String!) {{
  tokenCreate(email: $email, password: $password) {{
    __typename
    ... on AuthToken {{ token expiresAt user {{ id email }} }}
    {MESSAGES}
  }}
}}
"""

TOKEN_REVOKE = "mutation { tokenRevoke }"

RESET_REQUEST = "mutation Reset($email: String!) { passwordResetRequest(email: $email) }"

RESET_CONFIRM = f"""
mutation ResetConfirm($uid: String!, $token: String!, $newPassword: String!) {{
  passwordResetConfirm(uid: $uid, token: $token, newPassword: $newPassword) {{
    __typename
    ... on User {{ id email }}
    {MESSAGES}
  }}
}}
"""

PASSWORD_CHANGE = f"""
mutation PasswordChange($oldPassword: String!, $newPassword: String!) {{
  passwordChange(oldPassword: $oldPassword, newPassword: $newPassword) {{
    __typename
    ... on User {{ id email }}
    {MESSAGES}
  }}
}}
"""

ACCOUNT_UPDATE = f"""
mutation AccountUpdate($input: AccountUpdateInput!) {{
  accountUpdate(input: $input) {{
    __typename
    ... on User {{ id firstName lastName phone }}
    {MESSAGES}
  }}
}}
"""

ADDRESS_FIELDS = "id fullName line1 line2 city region postalCode country phone"

ADDRESS_CREATE = f"""
mutation AddressCreate(
  $input: AddressInput!, $setDefaultShipping: Boolean, $setDefaultBilling: Boolean
) {{
  addressCreate(
    input: $input, setDefaultShipping: $setDefaultShipping, setDefaultBilling: $setDefaultBilling
  ) {{
    __typename
    ... on Address {{ {ADDRESS_FIELDS} }}
    {MESSAGES}
  }}
}}
"""

ADDRESS_UPDATE = f"""
mutation AddressUpdate($id: ID!, $input: AddressInput!) {{
  addressUpdate(id: $id, input: $input) {{
    __typename
    ... on Address {{ {ADDRESS_FIELDS} }}
    {MESSAGES}
  }}
}}
"""

ADDRESS_DELETE = f"""
mutation AddressDelete($id: ID!) {{
  addressDelete(id: $id) {{
    __typename
    ... on Address {{ id city }}
    {MESSAGES}
  }}
}}
"""

ME_DEFAULTS = """
query { me { defaultShippingAddress { id } defaultBillingAddress { id } addresses { id } } }
"""

ADDRESS_INPUT = {
    "fullName": "Casey Buyer",
    "line1": "10 Rue de Rivoli",
    "line2": "Bât. B",
    "city": "Paris",
    "region": "Île-de-France",
    "postalCode": "75001",
    "country": "FR",
    "phone": "+33 1 23 45 67 89",
}


def _gid(type_name: str, pk: int) -> str:
    return str(relay.GlobalID(type_name, str(pk)))


def _messages(response, name: str) -> list[dict]:
    payload = response.data[name]
    assert payload["__typename"] == "OperationInfo", payload
    return payload["messages"]


def _error(field: str | None, message: str, code: str) -> list[dict]:
    return [{"kind": "VALIDATION", "field": field, "message": message, "code": code}]


def _post(client: Client, query: str, variables: dict | None = None, **headers):
    return client.post(
        GRAPHQL_URL,
        data=json.dumps({"query": query, "variables": variables or {}}),
        content_type="application/json",
        headers=headers,
    )


def _assert_token_invalid(response) -> None:
    assert response.status_code == 401
    assert response.body["errors"][0]["extensions"]["code"] == "token_invalid"
    assert response.body["errors"][0]["message"] == (
        "The bearer token is invalid, expired or revoked."
    )
    assert "data" not in response.body


def _reset_link(message) -> tuple[str, str, str]:
    """The reset URL of a password reset email, with its uid and token."""
    url = re.search(r"https?://\S+", message.body).group(0)
    query = parse_qs(urlsplit(url).query)
    return url, query["uid"][0], query["token"][0]


# --- accountRegister --------------------------------------------------------------------------


def test_account_register_creates_a_customer_and_welcomes_after_commit(
    gql, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        response = gql(
            REGISTER,
            {
                "input": {
                    "email": "Robin@Example.com",
                    "password": DEFAULT_PASSWORD,
                    "firstName": "Robin",
                    "lastName": "Doe",
                }
            },
        )
        assert mail.outbox == []

    user = User.objects.get()
    assert response.data["accountRegister"] == {
        "__typename": "User",
        "id": _gid("User", user.pk),
        "email": "robin@example.com",
        "firstName": "Robin",
        "lastName": "Doe",
        "isStaff": False,
    }
    assert user.password != DEFAULT_PASSWORD
    assert identify_hasher(user.password).algorithm == get_hasher().algorithm
    assert user.check_password(DEFAULT_PASSWORD)
    assert not user.is_staff
    assert not user.is_superuser

    assert mail.outbox == []
    assert len(callbacks) == 1
    callbacks[0]()
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["robin@example.com"]
    assert message.subject == "Welcome to SilkCart"
    assert message.body.startswith("Hello Robin,")
    assert message.alternatives[0][1] == "text/html"
    assert "<p>Hello Robin,</p>" in message.alternatives[0][0]


def test_account_register_signs_the_new_customer_in(gql, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        gql(REGISTER, {"input": {"email": "robin@example.com", "password": DEFAULT_PASSWORD}})

    assert gql(ME).data["me"]["email"] == "robin@example.com"


def test_account_register_at_checkout_keeps_the_guest_cart(gql, django_capture_on_commit_callbacks):
    from apps.cart.models import Cart
    from tests.cart.factories import CartFactory, CartLineFactory

    guest = CartFactory()
    line = CartLineFactory(cart=guest, quantity=2)
    register = """mutation($input: AccountRegisterInput!, $cart: UUID) {
      accountRegister(input: $input, cartToken: $cart) { __typename } }"""

    with django_capture_on_commit_callbacks(execute=True):
        response = gql(
            register,
            {
                "input": {"email": "robin@example.com", "password": DEFAULT_PASSWORD},
                "cart": str(guest.token),
            },
        )

    assert response.data == {"accountRegister": {"__typename": "User"}}
    cart = Cart.objects.get(user__email="robin@example.com", status=Cart.Status.ACTIVE)
    assert list(cart.lines.values_list("variant", "quantity")) == [(line.variant_id, 2)]


def test_account_register_reports_every_field_at_fault_at_once(
    gql, customer, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = gql(
            REGISTER,
            {"input": {"email": customer.email, "password": "123", "firstName": "x" * 200}},
        )

    assert sorted((m["field"], m["code"]) for m in _messages(response, "accountRegister")) == [
        ("email", "email_taken"),
        ("firstName", "invalid"),
        ("password", "password_too_weak"),
    ]
    assert gql(ME).data == {"me": None}


def test_account_register_refuses_an_invalid_email(gql, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = gql(REGISTER, {"input": {"email": "robin@", "password": DEFAULT_PASSWORD}})

    assert _messages(response, "accountRegister") == _error(
        "email", "Enter a valid email address.", "invalid"
    )
    assert User.objects.count() == 0
    assert mail.outbox == []


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("short", "This password is too short. It must contain at least 8 characters."),
        ("qwertyuiop", "This password is too common."),
        ("12345678", "This password is too common. This password is entirely numeric."),
    ],
)
def test_account_register_refuses_a_weak_password(
    gql, django_capture_on_commit_callbacks, password, message
):
    with django_capture_on_commit_callbacks(execute=True):
        response = gql(REGISTER, {"input": {"email": "robin@example.com", "password": password}})

    assert _messages(response, "accountRegister") == _error(
        "password", message, "password_too_weak"
    )
    assert User.objects.count() == 0
    assert mail.outbox == []


@pytest.mark.parametrize("email", ["casey@example.com", "Casey@EXAMPLE.com"])
def test_account_register_refuses_a_taken_email(
    gql, customer, django_capture_on_commit_callbacks, email
):
    with django_capture_on_commit_callbacks(execute=True):
        response = gql(REGISTER, {"input": {"email": email, "password": NEW_PASSWORD}})

    assert _messages(response, "accountRegister") == _error(
        "email", "An account with this email already exists.", "email_taken"
    )
    assert User.objects.count() == 1
    customer.refresh_from_db()
    assert customer.check_password(DEFAULT_PASSWORD)
    assert mail.outbox == []


def test_account_register_is_rate_limited_per_account(
    settings, db, django_capture_on_commit_callbacks
):
    settings.RATELIMIT_AUTH_ACCOUNT = "2/d"
    settings.RATELIMIT_AUTH_IP = "100/d"
    variables = {"input": {"email": "robin@example.com", "password": "short"}}
    for address in ["10.0.0.1", "10.0.0.2"]:
        response = GraphQLClient(Client(REMOTE_ADDR=address))(REGISTER, variables)
        assert _messages(response, "accountRegister")[0]["code"] == "password_too_weak"

    with django_capture_on_commit_callbacks(execute=True):
        response = GraphQLClient(Client(REMOTE_ADDR="10.0.0.3"))(
            REGISTER, {"input": {"email": " ROBIN@example.com", "password": DEFAULT_PASSWORD}}
        )

    assert _messages(response, "accountRegister") == _error(None, RATE_LIMITED, "rate_limited")
    assert User.objects.count() == 0
    assert mail.outbox == []


def test_account_register_is_rate_limited_per_ip(settings, gql, django_capture_on_commit_callbacks):
    settings.RATELIMIT_AUTH_ACCOUNT = "100/d"
    settings.RATELIMIT_AUTH_IP = "2/d"
    with django_capture_on_commit_callbacks(execute=True):
        for number in [1, 2]:
            response = gql(
                REGISTER,
                {"input": {"email": f"robin{number}@example.com", "password": DEFAULT_PASSWORD}},
            )
            assert response.data["accountRegister"]["__typename"] == "User"
        limited = gql(
            REGISTER, {"input": {"email": "robin3@example.com", "password": DEFAULT_PASSWORD}}
        )

    assert _messages(limited, "accountRegister") == _error(None, RATE_LIMITED, "rate_limited")
    assert User.objects.count() == 2
    assert not User.objects.filter(email="robin3@example.com").exists()
    assert len(mail.outbox) == 2

    with django_capture_on_commit_callbacks(execute=True):
        elsewhere = GraphQLClient(Client(REMOTE_ADDR="10.0.0.9"))(
            REGISTER, {"input": {"email": "robin3@example.com", "password": DEFAULT_PASSWORD}}
        )
    assert elsewhere.data["accountRegister"]["__typename"] == "User"


# --- login and logout (session) ---------------------------------------------------------------


def test_login_starts_a_session(gql, customer):
    response = gql(LOGIN, {"email": " CASEY@example.com", "password": DEFAULT_PASSWORD})

    assert response.data["login"] == {
        "__typename": "User",
        "id": _gid("User", customer.pk),
        "email": "casey@example.com",
    }
    assert gql.client.session["_auth_user_id"] == str(customer.pk)
    assert gql(ME).data == {"me": {"id": _gid("User", customer.pk), "email": "casey@example.com"}}
    customer.refresh_from_db()
    assert customer.last_login is not None
    assert AuthToken.objects.count() == 0


@pytest.mark.parametrize(
    ("email", "password", "is_active"),
    [
        ("casey@example.com", "wrong-password-123", True),
        ("nobody@example.com", DEFAULT_PASSWORD, True),
        ("casey@example.com", DEFAULT_PASSWORD, False),
    ],
    ids=["wrong-password", "unknown-email", "inactive"],
)
def test_login_refuses_with_one_message(gql, customer, email, password, is_active):
    User.objects.filter(pk=customer.pk).update(is_active=is_active)

    response = gql(LOGIN, {"email": email, "password": password})

    assert _messages(response, "login") == _error(None, INVALID_CREDENTIALS, "invalid_credentials")
    assert "_auth_user_id" not in gql.client.session
    assert gql(ME).data == {"me": None}
    customer.refresh_from_db()
    assert customer.last_login is None


def test_logout_ends_the_session(customer_gql):
    assert customer_gql(ME).data["me"] is not None

    assert customer_gql(LOGOUT).data == {"logout": True}

    assert "_auth_user_id" not in customer_gql.client.session
    assert customer_gql(ME).data == {"me": None}


def test_logout_when_anonymous_answers_false(gql):
    assert gql(LOGOUT).data == {"logout": False}


def test_login_is_rate_limited_per_account(settings, gql, customer):
    settings.RATELIMIT_AUTH_ACCOUNT = "2/d"
    settings.RATELIMIT_AUTH_IP = "100/d"
    for _ in range(2):
        response = gql(LOGIN, {"email": "casey@example.com", "password": "wrong-password-1"})
        assert _messages(response, "login")[0]["code"] == "invalid_credentials"

    response = gql(LOGIN, {"email": "Casey@example.com", "password": DEFAULT_PASSWORD})

    assert _messages(response, "login") == _error(None, RATE_LIMITED, "rate_limited")
    assert "_auth_user_id" not in gql.client.session
    customer.refresh_from_db()
    assert customer.last_login is None


def test_login_is_rate_limited_per_ip(settings, gql, customer):
    settings.RATELIMIT_AUTH_ACCOUNT = "100/d"
    settings.RATELIMIT_AUTH_IP = "2/d"
    for number in [1, 2]:
        response = gql(LOGIN, {"email": f"guess{number}@example.com", "password": "x"})
        assert _messages(response, "login")[0]["code"] == "invalid_credentials"

    response = gql(LOGIN, {"email": "casey@example.com", "password": DEFAULT_PASSWORD})

    assert _messages(response, "login") == _error(None, RATE_LIMITED, "rate_limited")
    assert "_auth_user_id" not in gql.client.session

    elsewhere = GraphQLClient(Client(REMOTE_ADDR="10.0.0.9"))
    response = elsewhere(LOGIN, {"email": "casey@example.com", "password": DEFAULT_PASSWORD})
    assert response.data["login"]["__typename"] == "User"


# --- CSRF -------------------------------------------------------------------------------------


@pytest.mark.parametrize("accept", ["text/html", "application/json"])
def test_any_get_of_the_endpoint_sets_the_csrf_cookie(db, accept):
    client = Client(enforce_csrf_checks=True)

    response = client.get(GRAPHQL_URL, headers={"Accept": accept})

    assert response.status_code == (200 if accept == "text/html" else 400)
    assert response.cookies["csrftoken"].value
    assert response.cookies["csrftoken"]["httponly"] == ""


def test_session_post_without_csrf_token_is_refused(customer):
    client = Client(enforce_csrf_checks=True)
    client.force_login(customer)
    client.get(GRAPHQL_URL)
    assert "csrftoken" in client.cookies

    created = _post(client, ADDRESS_CREATE, {"input": ADDRESS_INPUT})
    logged_out = _post(client, LOGOUT)

    assert created.status_code == 403
    assert logged_out.status_code == 403
    # a JSON answer a client can switch on, like the API's other refusals
    assert created["Content-Type"] == "application/json"
    assert created.json()["errors"][0]["extensions"] == {"code": "csrf_failed"}
    assert Address.objects.count() == 0
    assert client.session["_auth_user_id"] == str(customer.pk)


def test_session_post_with_a_wrong_csrf_token_is_refused(customer):
    client = Client(enforce_csrf_checks=True)
    client.force_login(customer)
    client.get(GRAPHQL_URL)

    response = _post(client, ADDRESS_CREATE, {"input": ADDRESS_INPUT}, **{"X-CSRFToken": "x" * 32})

    assert response.status_code == 403
    assert Address.objects.count() == 0


def test_login_with_the_csrf_cookie_token_passes(customer):
    client = GraphQLClient(Client(enforce_csrf_checks=True))
    client.client.get(GRAPHQL_URL)
    csrf = client.client.cookies["csrftoken"].value

    response = client(
        LOGIN,
        {"email": "casey@example.com", "password": DEFAULT_PASSWORD},
        headers={"X-CSRFToken": csrf},
    )

    assert response.status_code == 200
    assert response.data["login"]["__typename"] == "User"
    assert client.client.session["_auth_user_id"] == str(customer.pk)
    rotated = client.client.cookies["csrftoken"].value
    assert rotated != csrf
    stale = _post(client.client, ADDRESS_CREATE, {"input": ADDRESS_INPUT}, **{"X-CSRFToken": csrf})
    assert stale.status_code == 403
    assert Address.objects.count() == 0
    me = client(ME, headers={"X-CSRFToken": rotated})
    assert me.data == {"me": {"id": _gid("User", customer.pk), "email": "casey@example.com"}}
    created = client(ADDRESS_CREATE, {"input": ADDRESS_INPUT}, headers={"X-CSRFToken": rotated})
    assert created.data["addressCreate"]["__typename"] == "Address"


# --- tokenCreate, bearer authentication, tokenRevoke ------------------------------------------


def test_token_create_returns_a_working_token(gql, customer):
    response = gql(TOKEN_CREATE, {"email": "Casey@example.com", "password": DEFAULT_PASSWORD})

    payload = response.data["tokenCreate"]
    token = AuthToken.objects.get()
    assert payload["__typename"] == "AuthToken"
    assert payload["user"] == {"id": _gid("User", customer.pk), "email": "casey@example.com"}
    assert payload["expiresAt"] == token.expires_at.isoformat()
    assert token.user == customer
    assert "_auth_user_id" not in gql.client.session

    bearer = GraphQLClient()
    bearer.token = payload["token"]
    assert bearer(ME).data == {
        "me": {"id": _gid("User", customer.pk), "email": "casey@example.com"}
    }


def test_token_is_stored_hashed(gql, customer):
    key = gql(TOKEN_CREATE, {"email": "casey@example.com", "password": DEFAULT_PASSWORD}).data[
        "tokenCreate"
    ]["token"]

    token = AuthToken.objects.get()
    assert len(key) >= 32
    assert token.key_digest == AuthToken.digest(key)
    assert key not in token.key_digest
    stored = AuthToken.objects.filter(pk=token.pk).values().get()
    assert key not in {str(value) for value in stored.values()}


def test_bearer_requests_need_no_csrf_token(customer):
    _, key = services.token_create(user=customer)
    client = GraphQLClient(Client(enforce_csrf_checks=True))
    client.token = key

    me = client(ME)
    updated = client(ACCOUNT_UPDATE, {"input": {"lastName": "Lee"}})

    assert me.status_code == 200
    assert me.data == {"me": {"id": _gid("User", customer.pk), "email": "casey@example.com"}}
    assert updated.data["accountUpdate"]["lastName"] == "Lee"
    customer.refresh_from_db()
    assert customer.last_name == "Lee"


@pytest.mark.parametrize(
    ("email", "password", "is_active"),
    [
        ("casey@example.com", "wrong-password-123", True),
        ("nobody@example.com", DEFAULT_PASSWORD, True),
        ("casey@example.com", DEFAULT_PASSWORD, False),
    ],
    ids=["wrong-password", "unknown-email", "inactive"],
)
def test_token_create_refuses_with_one_message(gql, customer, email, password, is_active):
    User.objects.filter(pk=customer.pk).update(is_active=is_active)

    response = gql(TOKEN_CREATE, {"email": email, "password": password})

    assert _messages(response, "tokenCreate") == _error(
        None, INVALID_CREDENTIALS, "invalid_credentials"
    )
    assert AuthToken.objects.count() == 0


def test_token_create_is_rate_limited(settings, gql, customer):
    settings.RATELIMIT_AUTH_ACCOUNT = "2/d"
    settings.RATELIMIT_AUTH_IP = "100/d"
    for _ in range(2):
        response = gql(TOKEN_CREATE, {"email": "casey@example.com", "password": "wrong-pass-1"})
        assert _messages(response, "tokenCreate")[0]["code"] == "invalid_credentials"

    response = gql(TOKEN_CREATE, {"email": "casey@example.com", "password": DEFAULT_PASSWORD})

    assert _messages(response, "tokenCreate") == _error(None, RATE_LIMITED, "rate_limited")
    assert AuthToken.objects.count() == 0


def test_expired_token_answers_401(customer):
    token, key = services.token_create(user=customer)
    AuthToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    client = GraphQLClient()
    client.token = key

    _assert_token_invalid(client(ME))
    _assert_token_invalid(client(ACCOUNT_UPDATE, {"input": {"lastName": "Lee"}}))

    customer.refresh_from_db()
    assert customer.last_name == "Buyer"


def test_revoked_token_answers_401(customer):
    token, key = services.token_create(user=customer)
    services.token_revoke(token=token)
    client = GraphQLClient()
    client.token = key

    _assert_token_invalid(client(ME))


@pytest.mark.parametrize("header", ["Bearer not-a-token", "Bearer ", "bearer   "])
def test_unknown_token_answers_401(db, header):
    response = GraphQLClient()(ME, headers={"Authorization": header})

    _assert_token_invalid(response)


def test_invalid_token_answer_names_the_bearer_scheme(db):
    response = _post(Client(), ME, Authorization="Bearer not-a-token")

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'
    assert response.json() == {
        "errors": [
            {
                "message": "The bearer token is invalid, expired or revoked.",
                "extensions": {"code": "token_invalid"},
            }
        ]
    }


def test_token_of_an_inactive_user_answers_401(customer):
    _, key = services.token_create(user=customer)
    User.objects.filter(pk=customer.pk).update(is_active=False)
    client = GraphQLClient()
    client.token = key

    _assert_token_invalid(client(ME))


def test_token_revoke_revokes_the_token_of_the_request(customer):
    token, key = services.token_create(user=customer)
    other, other_key = services.token_create(user=customer)
    client = GraphQLClient()
    client.token = key

    assert client(TOKEN_REVOKE).data == {"tokenRevoke": True}

    token.refresh_from_db()
    other.refresh_from_db()
    assert token.revoked_at is not None
    assert other.revoked_at is None
    _assert_token_invalid(client(ME))
    client.token = other_key
    assert client(ME).data["me"]["email"] == "casey@example.com"


def test_token_revoke_without_a_token_answers_false(gql, customer_gql, customer):
    token, _ = services.token_create(user=customer)

    assert gql(TOKEN_REVOKE).data == {"tokenRevoke": False}
    assert customer_gql(TOKEN_REVOKE).data == {"tokenRevoke": False}

    token.refresh_from_db()
    assert token.revoked_at is None
    assert customer_gql(ME).data["me"]["email"] == "casey@example.com"


# --- password reset ---------------------------------------------------------------------------


def test_password_reset_request_emails_an_existing_account(
    gql, customer, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = gql(RESET_REQUEST, {"email": "CASEY@example.com"})

    assert response.data == {"passwordResetRequest": True}
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["casey@example.com"]
    assert message.subject == "Reset your SilkCart password"
    url, uid, token = _reset_link(message)
    assert url == f"{settings.FRONTEND_URL}/reset-password?uid={uid}&token={token}"
    assert message.alternatives[0][1] == "text/html"
    assert url.replace("&", "&amp;") in message.alternatives[0][0]
    customer.refresh_from_db()
    assert customer.check_password(DEFAULT_PASSWORD)


def test_password_reset_request_answers_true_for_an_unknown_email(
    gql, customer, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = gql(RESET_REQUEST, {"email": "nobody@example.com"})

    assert response.data == {"passwordResetRequest": True}
    assert mail.outbox == []


def test_password_reset_confirm_with_the_emailed_link(
    gql, customer, django_capture_on_commit_callbacks
):
    token, key = services.token_create(user=customer)
    with django_capture_on_commit_callbacks(execute=True):
        gql(RESET_REQUEST, {"email": "casey@example.com"})
    _, uid, reset_token = _reset_link(mail.outbox[0])

    response = gql(RESET_CONFIRM, {"uid": uid, "token": reset_token, "newPassword": NEW_PASSWORD})

    assert response.data["passwordResetConfirm"] == {
        "__typename": "User",
        "id": _gid("User", customer.pk),
        "email": "casey@example.com",
    }
    customer.refresh_from_db()
    assert customer.check_password(NEW_PASSWORD)
    token.refresh_from_db()
    assert token.revoked_at is not None
    bearer = GraphQLClient()
    bearer.token = key
    _assert_token_invalid(bearer(ME))

    again = gql(
        RESET_CONFIRM, {"uid": uid, "token": reset_token, "newPassword": "Yet-another-secret-77"}
    )
    assert _messages(again, "passwordResetConfirm")[0]["code"] == "token_invalid"
    customer.refresh_from_db()
    assert customer.check_password(NEW_PASSWORD)


def test_password_reset_confirm_ends_existing_sessions(customer_gql, gql, customer):
    uid = urlsafe_base64_encode(force_bytes(customer.pk))
    reset_token = default_token_generator.make_token(customer)

    gql(RESET_CONFIRM, {"uid": uid, "token": reset_token, "newPassword": NEW_PASSWORD})

    assert customer_gql(ME).data == {"me": None}


def test_password_reset_confirm_refuses_a_bad_token(
    gql, customer, django_capture_on_commit_callbacks
):
    token, _ = services.token_create(user=customer)
    customer.refresh_from_db()
    password_hash = customer.password
    with django_capture_on_commit_callbacks(execute=True):
        gql(RESET_REQUEST, {"email": "casey@example.com"})
    _, uid, _ = _reset_link(mail.outbox[0])

    response = gql(RESET_CONFIRM, {"uid": uid, "token": "1-abc", "newPassword": NEW_PASSWORD})

    assert _messages(response, "passwordResetConfirm") == _error(
        "token", "This password reset link is invalid or has expired.", "token_invalid"
    )
    customer.refresh_from_db()
    assert customer.password == password_hash
    token.refresh_from_db()
    assert token.revoked_at is None


def test_password_reset_confirm_refuses_a_weak_password(
    gql, customer, django_capture_on_commit_callbacks
):
    token, _ = services.token_create(user=customer)
    customer.refresh_from_db()
    password_hash = customer.password
    with django_capture_on_commit_callbacks(execute=True):
        gql(RESET_REQUEST, {"email": "casey@example.com"})
    _, uid, reset_token = _reset_link(mail.outbox[0])

    response = gql(RESET_CONFIRM, {"uid": uid, "token": reset_token, "newPassword": "casey"})

    assert _messages(response, "passwordResetConfirm") == _error(
        "newPassword",
        "The password is too similar to the first name. "
        "This password is too short. It must contain at least 8 characters. "
        "This password is too common.",
        "password_too_weak",
    )
    customer.refresh_from_db()
    assert customer.password == password_hash
    token.refresh_from_db()
    assert token.revoked_at is None


def test_password_reset_request_is_rate_limited(
    settings, gql, customer, django_capture_on_commit_callbacks
):
    settings.RATELIMIT_AUTH_ACCOUNT = "2/d"
    settings.RATELIMIT_AUTH_IP = "100/d"
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(2):
            assert gql(RESET_REQUEST, {"email": "casey@example.com"}).data == {
                "passwordResetRequest": True
            }
    assert len(mail.outbox) == 2

    with django_capture_on_commit_callbacks(execute=True):
        response = gql(RESET_REQUEST, {"email": "casey@example.com"})

    assert response.status_code == 200
    assert response.body["data"] is None
    assert len(response.errors) == 1
    assert response.errors[0]["message"] == RATE_LIMITED
    assert response.errors[0]["extensions"] == {"code": "rate_limited"}
    assert response.errors[0]["path"] == ["passwordResetRequest"]
    assert len(mail.outbox) == 2


def test_password_reset_request_rate_limit_does_not_reveal_accounts(
    settings, gql, customer, django_capture_on_commit_callbacks
):
    settings.RATELIMIT_AUTH_ACCOUNT = "1/d"
    settings.RATELIMIT_AUTH_IP = "100/d"
    with django_capture_on_commit_callbacks(execute=True):
        for email in ["casey@example.com", "nobody@example.com"]:
            assert gql(RESET_REQUEST, {"email": email}).data == {"passwordResetRequest": True}
        limited = [
            gql(RESET_REQUEST, {"email": email})
            for email in ["Casey@example.com", "nobody@example.com"]
        ]

    assert [response.body for response in limited] == [
        {
            "data": None,
            "errors": [
                {
                    "message": RATE_LIMITED,
                    "locations": [{"line": 1, "column": 35}],
                    "path": ["passwordResetRequest"],
                    "extensions": {"code": "rate_limited"},
                }
            ],
        }
    ] * 2
    assert [message.to for message in mail.outbox] == [["casey@example.com"]]


def test_password_reset_confirm_is_rate_limited(settings, gql, customer):
    settings.RATELIMIT_AUTH_ACCOUNT = "2/d"
    settings.RATELIMIT_AUTH_IP = "100/d"
    uid = urlsafe_base64_encode(force_bytes(customer.pk))
    for guess in ["1-abc", "2-def"]:
        response = gql(RESET_CONFIRM, {"uid": uid, "token": guess, "newPassword": NEW_PASSWORD})
        assert _messages(response, "passwordResetConfirm")[0]["code"] == "token_invalid"

    reset_token = default_token_generator.make_token(customer)
    response = gql(RESET_CONFIRM, {"uid": uid, "token": reset_token, "newPassword": NEW_PASSWORD})

    assert _messages(response, "passwordResetConfirm") == _error(None, RATE_LIMITED, "rate_limited")
    customer.refresh_from_db()
    assert customer.check_password(DEFAULT_PASSWORD)


# --- passwordChange ---------------------------------------------------------------------------


def test_password_change_refuses_a_wrong_old_password(customer_gql, customer):
    customer.refresh_from_db()
    password_hash = customer.password

    response = customer_gql(
        PASSWORD_CHANGE, {"oldPassword": "not-my-password", "newPassword": NEW_PASSWORD}
    )

    assert _messages(response, "passwordChange") == _error(
        "oldPassword", INVALID_CREDENTIALS, "invalid_credentials"
    )
    customer.refresh_from_db()
    assert customer.password == password_hash


def test_password_change_refuses_a_weak_password(customer_gql, customer):
    customer.refresh_from_db()
    password_hash = customer.password

    response = customer_gql(
        PASSWORD_CHANGE, {"oldPassword": DEFAULT_PASSWORD, "newPassword": "short"}
    )

    assert _messages(response, "passwordChange") == _error(
        "newPassword",
        "This password is too short. It must contain at least 8 characters.",
        "password_too_weak",
    )
    customer.refresh_from_db()
    assert customer.password == password_hash


def test_password_change_with_a_token_revokes_the_other_tokens(customer):
    used, key = services.token_create(user=customer)
    other, other_key = services.token_create(user=customer)
    client = GraphQLClient()
    client.token = key

    response = client(
        PASSWORD_CHANGE, {"oldPassword": DEFAULT_PASSWORD, "newPassword": NEW_PASSWORD}
    )

    assert response.data["passwordChange"]["__typename"] == "User"
    customer.refresh_from_db()
    assert customer.check_password(NEW_PASSWORD)
    used.refresh_from_db()
    other.refresh_from_db()
    assert used.revoked_at is None
    assert other.revoked_at is not None
    assert client(ME).data["me"]["email"] == "casey@example.com"
    client.token = other_key
    _assert_token_invalid(client(ME))


def test_password_change_with_a_session_keeps_the_session(customer_gql, customer):
    token, _ = services.token_create(user=customer)

    response = customer_gql(
        PASSWORD_CHANGE, {"oldPassword": DEFAULT_PASSWORD, "newPassword": NEW_PASSWORD}
    )

    assert response.data["passwordChange"]["__typename"] == "User"
    assert customer_gql(ME).data["me"]["email"] == "casey@example.com"
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_password_change_requires_a_signed_in_user(gql, customer):
    customer.refresh_from_db()
    password_hash = customer.password

    response = gql(PASSWORD_CHANGE, {"oldPassword": DEFAULT_PASSWORD, "newPassword": NEW_PASSWORD})

    assert _messages(response, "passwordChange") == SIGNED_IN_ONLY
    customer.refresh_from_db()
    assert customer.password == password_hash


# --- accountUpdate ----------------------------------------------------------------------------


def test_account_update_changes_the_profile(customer_gql, customer):
    response = customer_gql(
        ACCOUNT_UPDATE, {"input": {"firstName": " Kay ", "phone": "+1 415 555 0100"}}
    )

    assert response.data["accountUpdate"] == {
        "__typename": "User",
        "id": _gid("User", customer.pk),
        "firstName": "Kay",
        "lastName": "Buyer",
        "phone": "+1 415 555 0100",
    }
    customer.refresh_from_db()
    assert (customer.first_name, customer.last_name, customer.phone) == (
        "Kay",
        "Buyer",
        "+1 415 555 0100",
    )


def test_account_update_refuses_an_invalid_phone(customer_gql, customer):
    response = customer_gql(
        ACCOUNT_UPDATE, {"input": {"firstName": "Kay", "phone": "call me maybe"}}
    )

    assert _messages(response, "accountUpdate") == _error(
        "phone", "Enter a valid phone number.", "invalid"
    )
    customer.refresh_from_db()
    assert (customer.first_name, customer.phone) == ("Casey", "")


def test_account_update_requires_a_signed_in_user(gql, customer):
    response = gql(ACCOUNT_UPDATE, {"input": {"firstName": "Mallory"}})

    assert _messages(response, "accountUpdate") == SIGNED_IN_ONLY
    assert not User.objects.filter(first_name="Mallory").exists()


# --- address book -----------------------------------------------------------------------------


def test_address_create_makes_the_first_address_the_default(customer_gql, customer):
    response = customer_gql(ADDRESS_CREATE, {"input": ADDRESS_INPUT})

    address = Address.objects.get()
    assert response.data["addressCreate"] == {
        "__typename": "Address",
        "id": _gid("Address", address.pk),
        **ADDRESS_INPUT,
    }
    assert address.user == customer
    customer.refresh_from_db()
    assert customer.default_shipping_address == address
    assert customer.default_billing_address == address
    assert customer_gql(ME_DEFAULTS).data["me"] == {
        "defaultShippingAddress": {"id": _gid("Address", address.pk)},
        "defaultBillingAddress": {"id": _gid("Address", address.pk)},
        "addresses": [{"id": _gid("Address", address.pk)}],
    }


def test_address_create_sets_defaults_when_asked(customer_gql, customer):
    first = AddressFactory(user=customer)
    customer.default_shipping_address = customer.default_billing_address = first
    customer.save()

    plain = customer_gql(ADDRESS_CREATE, {"input": ADDRESS_INPUT})
    shipping = customer_gql(ADDRESS_CREATE, {"input": ADDRESS_INPUT, "setDefaultShipping": True})
    billing = customer_gql(
        ADDRESS_CREATE,
        {"input": ADDRESS_INPUT, "setDefaultShipping": False, "setDefaultBilling": True},
    )

    for response in [plain, shipping, billing]:
        assert response.data["addressCreate"]["__typename"] == "Address"
    assert customer_gql(ME_DEFAULTS).data["me"] == {
        "defaultShippingAddress": {"id": shipping.data["addressCreate"]["id"]},
        "defaultBillingAddress": {"id": billing.data["addressCreate"]["id"]},
        "addresses": [
            {"id": _gid("Address", first.pk)},
            {"id": plain.data["addressCreate"]["id"]},
            {"id": shipping.data["addressCreate"]["id"]},
            {"id": billing.data["addressCreate"]["id"]},
        ],
    }


def test_address_create_refuses_an_unknown_country(customer_gql, customer):
    response = customer_gql(ADDRESS_CREATE, {"input": {**ADDRESS_INPUT, "country": "XX"}})

    assert _messages(response, "addressCreate") == _error(
        "country", "Enter an ISO 3166-1 alpha-2 country code, such as US or FR.", "invalid"
    )
    assert Address.objects.count() == 0
    customer.refresh_from_db()
    assert customer.default_shipping_address is None


def test_address_create_refuses_a_blank_required_field(customer_gql, customer):
    response = customer_gql(ADDRESS_CREATE, {"input": {**ADDRESS_INPUT, "fullName": "  "}})

    assert _messages(response, "addressCreate") == _error(
        "fullName", "This field cannot be blank.", "required"
    )
    assert Address.objects.count() == 0
    customer.refresh_from_db()
    assert customer.default_shipping_address is None


def test_address_create_refuses_a_missing_required_field(customer_gql):
    incomplete = {name: value for name, value in ADDRESS_INPUT.items() if name != "city"}

    response = customer_gql(ADDRESS_CREATE, {"input": incomplete})

    assert response.body.get("data") is None
    assert "city" in response.errors[0]["message"]
    assert Address.objects.count() == 0


def test_address_create_requires_a_signed_in_user(gql):
    response = gql(ADDRESS_CREATE, {"input": ADDRESS_INPUT})

    assert _messages(response, "addressCreate") == SIGNED_IN_ONLY
    assert Address.objects.count() == 0


def test_address_update_changes_the_address(customer_gql, customer):
    address = AddressFactory(user=customer, line2="Suite 5")

    response = customer_gql(
        ADDRESS_UPDATE,
        {
            "id": _gid("Address", address.pk),
            "input": {**ADDRESS_INPUT, "country": "de", "line2": None},
        },
    )

    assert response.data["addressUpdate"] == {
        "__typename": "Address",
        "id": _gid("Address", address.pk),
        **ADDRESS_INPUT,
        "country": "DE",
        "line2": "",
    }
    address.refresh_from_db()
    assert (address.city, address.country, address.line2) == ("Paris", "DE", "")


def test_address_update_refuses_invalid_data(customer_gql, customer):
    address = AddressFactory(user=customer)

    response = customer_gql(
        ADDRESS_UPDATE,
        {"id": _gid("Address", address.pk), "input": {**ADDRESS_INPUT, "country": "XX"}},
    )

    assert _messages(response, "addressUpdate")[0]["code"] == "invalid"
    address.refresh_from_db()
    assert (address.city, address.country) == ("San Francisco", "US")


def test_address_delete_clears_the_defaults(customer_gql, customer):
    address = AddressFactory(user=customer)
    kept = AddressFactory(user=customer)
    customer.default_shipping_address = customer.default_billing_address = address
    customer.save()

    response = customer_gql(ADDRESS_DELETE, {"id": _gid("Address", address.pk)})

    assert response.data["addressDelete"] == {
        "__typename": "Address",
        "id": _gid("Address", address.pk),
        "city": "San Francisco",
    }
    assert list(Address.objects.all()) == [kept]
    customer.refresh_from_db()
    assert customer.default_shipping_address is None
    assert customer.default_billing_address is None


def test_address_mutations_on_another_users_address_answer_not_found(customer_gql, customer):
    stranger = UserFactory()
    address = AddressFactory(user=stranger)
    stranger.default_shipping_address = address
    stranger.save()
    gid = _gid("Address", address.pk)

    updated = customer_gql(ADDRESS_UPDATE, {"id": gid, "input": ADDRESS_INPUT})
    deleted = customer_gql(ADDRESS_DELETE, {"id": gid})

    for response, name in [(updated, "addressUpdate"), (deleted, "addressDelete")]:
        assert _messages(response, name) == _error(
            "id", "No Address found with this id.", "not_found"
        )
    address.refresh_from_db()
    assert (address.user, address.city) == (stranger, "San Francisco")
    stranger.refresh_from_db()
    assert stranger.default_shipping_address == address


def test_staff_cannot_edit_another_users_address(admin_gql):
    address = AddressFactory()

    response = admin_gql(
        ADDRESS_UPDATE, {"id": _gid("Address", address.pk), "input": ADDRESS_INPUT}
    )

    assert _messages(response, "addressUpdate")[0]["code"] == "not_found"
    address.refresh_from_db()
    assert address.city == "San Francisco"


@pytest.mark.parametrize(
    "gid",
    [
        "product",
        "product-with-the-address-pk",
        str(relay.GlobalID("Address", "abc")),
        str(relay.GlobalID("Address", "-1")),
        str(relay.GlobalID("Address", "99999999999999999999999")),
        str(relay.GlobalID("Address", "\u00b2")),
    ],
)
def test_address_mutations_with_a_wrong_id_answer_not_found(customer_gql, customer, gid):
    address = AddressFactory(user=customer)
    if gid == "product":
        gid = _gid("Product", ProductFactory().pk)
    elif gid == "product-with-the-address-pk":
        gid = _gid("Product", address.pk)

    updated = customer_gql(ADDRESS_UPDATE, {"id": gid, "input": ADDRESS_INPUT})
    deleted = customer_gql(ADDRESS_DELETE, {"id": gid})

    for response, name in [(updated, "addressUpdate"), (deleted, "addressDelete")]:
        assert _messages(response, name) == _error(
            "id", "No Address found with this id.", "not_found"
        )
    address.refresh_from_db()
    assert address.city == "San Francisco"


@pytest.mark.parametrize("gid", ["garbage", ""])
def test_address_mutations_with_an_undecodable_id_answer_a_top_level_error(
    customer_gql, customer, gid
):
    address = AddressFactory(user=customer)

    updated = customer_gql(ADDRESS_UPDATE, {"id": gid, "input": ADDRESS_INPUT})
    deleted = customer_gql(ADDRESS_DELETE, {"id": gid})

    for response, name in [(updated, "addressUpdate"), (deleted, "addressDelete")]:
        assert response.status_code == 200
        assert response.body["data"] is None
        assert [error["message"] for error in response.errors] == [
            f'Value cannot represent a GlobalID: "{gid}".'
        ]
        assert response.errors[0]["path"] == [name]
    address.refresh_from_db()
    assert address.city == "San Francisco"
    assert Address.objects.count() == 1


def test_address_update_and_delete_require_a_signed_in_user(gql):
    address = AddressFactory()
    gid = _gid("Address", address.pk)

    updated = gql(ADDRESS_UPDATE, {"id": gid, "input": ADDRESS_INPUT})
    deleted = gql(ADDRESS_DELETE, {"id": gid})

    assert _messages(updated, "addressUpdate") == SIGNED_IN_ONLY
    assert _messages(deleted, "addressDelete") == SIGNED_IN_ONLY
    address.refresh_from_db()
    assert address.city == "San Francisco"
