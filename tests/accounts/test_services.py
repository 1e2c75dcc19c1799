from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.auth.hashers import get_hasher, identify_hasher
from django.contrib.auth.tokens import default_token_generator
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from apps.accounts import services
from apps.accounts.models import Address, AuthToken, User
from tests.accounts.factories import DEFAULT_PASSWORD, AddressFactory, UserFactory

NEW_PASSWORD = "Another-long-secret-42"

ADDRESS_DATA = {
    "full_name": "Casey Buyer",
    "line1": "10 Rue de Rivoli",
    "line2": "",
    "city": "Paris",
    "region": "",
    "postal_code": "75001",
    "country": "FR",
    "phone": "+33 1 23 45 67 89",
}


def _field_errors(error: ValidationError) -> dict[str, list[str | None]]:
    return {field: [e.code for e in errors] for field, errors in error.error_dict.items()}


def _uid(user: User) -> str:
    return urlsafe_base64_encode(force_bytes(user.pk))


# --- account_register -------------------------------------------------------------------------


def test_account_register_normalizes_the_email_and_hashes_the_password(
    db, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        user = services.account_register(
            email="  New.Buyer@Example.COM ",
            password=DEFAULT_PASSWORD,
            first_name=" Robin ",
            last_name=" Doe ",
        )

    user.refresh_from_db()
    assert user.email == "new.buyer@example.com"
    assert (user.first_name, user.last_name) == ("Robin", "Doe")
    assert user.is_active is True
    assert user.is_staff is False
    assert user.password != DEFAULT_PASSWORD
    assert identify_hasher(user.password).algorithm == get_hasher().algorithm
    assert user.check_password(DEFAULT_PASSWORD)
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["new.buyer@example.com"]


def test_account_register_sends_the_welcome_email_only_after_commit(
    db, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        services.account_register(email="robin@example.com", password=DEFAULT_PASSWORD)
        assert mail.outbox == []

    assert len(callbacks) == 1
    assert mail.outbox == []
    callbacks[0]()

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["robin@example.com"]
    assert message.subject == "Welcome to SilkCart"
    assert "Your account robin@example.com is ready." in message.body
    assert f"{settings.FRONTEND_URL}/" in message.body
    assert len(message.alternatives) == 1
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html"
    assert "<strong>robin@example.com</strong>" in html
    assert f'href="{settings.FRONTEND_URL}/"' in html


def test_account_register_rolled_back_sends_no_email(db, django_capture_on_commit_callbacks):
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        services.account_register(email="robin@example.com", password=DEFAULT_PASSWORD)
        raise RuntimeError("the surrounding work failed")

    assert callbacks == []
    assert mail.outbox == []
    assert not User.objects.filter(email="robin@example.com").exists()


def test_account_register_escapes_the_name_in_the_html_email(
    db, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        services.account_register(
            email="robin@example.com", password=DEFAULT_PASSWORD, first_name="<b>Robin</b>"
        )

    html = mail.outbox[0].alternatives[0][0]
    assert "<b>Robin</b>" not in html
    assert "&lt;b&gt;Robin&lt;/b&gt;" in html
    assert "Hello <b>Robin</b>," in mail.outbox[0].body


@pytest.mark.parametrize("email", ["", "not-an-email", "robin@", "@example.com", "a b@example.com"])
def test_account_register_rejects_an_invalid_email(db, django_capture_on_commit_callbacks, email):
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(ValidationError) as exc:
        services.account_register(email=email, password=DEFAULT_PASSWORD)

    assert _field_errors(exc.value) == {"email": ["invalid"]}
    assert exc.value.message_dict == {"email": ["Enter a valid email address."]}
    assert User.objects.count() == 0
    assert mail.outbox == []


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("short", "This password is too short. It must contain at least 8 characters."),
        ("password1", "This password is too common."),
        ("84736251", "This password is entirely numeric."),
        ("robinhood@example", "The password is too similar to the email."),
    ],
)
def test_account_register_rejects_a_weak_password(
    db, django_capture_on_commit_callbacks, password, message
):
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(ValidationError) as exc:
        services.account_register(email="robinhood@example.com", password=password)

    assert _field_errors(exc.value) == {"password": ["password_too_weak"]}
    assert exc.value.message_dict == {"password": [message]}
    assert User.objects.count() == 0
    assert mail.outbox == []


@pytest.mark.parametrize("email", ["casey@example.com", "CASEY@Example.com", " casey@example.com"])
def test_account_register_rejects_a_taken_email_whatever_its_case(
    customer, django_capture_on_commit_callbacks, email
):
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(ValidationError) as exc:
        services.account_register(email=email, password=NEW_PASSWORD)

    assert _field_errors(exc.value) == {"email": ["email_taken"]}
    assert exc.value.message_dict == {"email": ["An account with this email already exists."]}
    assert User.objects.count() == 1
    customer.refresh_from_db()
    assert customer.check_password(DEFAULT_PASSWORD)
    assert mail.outbox == []


# --- credentials and bearer tokens ------------------------------------------------------------


def test_authenticate_credentials_returns_the_user(customer):
    user = services.authenticate_credentials(
        request=None, email=" Casey@Example.com ", password=DEFAULT_PASSWORD
    )

    assert user == customer


@pytest.mark.parametrize(
    ("email", "password", "is_active"),
    [
        ("casey@example.com", "wrong-password-123", True),
        ("nobody@example.com", DEFAULT_PASSWORD, True),
        ("casey@example.com", DEFAULT_PASSWORD, False),
        ("", "", True),
    ],
    ids=["wrong-password", "unknown-email", "inactive", "empty"],
)
def test_authenticate_credentials_refuses_with_one_message(customer, email, password, is_active):
    User.objects.filter(pk=customer.pk).update(is_active=is_active)

    with pytest.raises(ValidationError) as exc:
        services.authenticate_credentials(request=None, email=email, password=password)

    assert exc.value.code == "invalid_credentials"
    assert exc.value.messages == ["The email or password is incorrect."]


def test_token_create_stores_only_the_digest(customer):
    before = timezone.now()

    token, key = services.token_create(user=customer)

    token.refresh_from_db()
    assert token.user == customer
    assert token.key_digest == AuthToken.digest(key)
    assert token.key_digest != key
    assert not AuthToken.objects.filter(key_digest=key).exists()
    assert token.revoked_at is None
    ttl = timedelta(hours=settings.AUTH_TOKEN_TTL_HOURS)
    assert before + ttl <= token.expires_at <= timezone.now() + ttl
    customer.refresh_from_db()
    assert customer.last_login is not None
    assert customer.last_login >= before


def test_token_create_gives_a_new_key_each_time(customer):
    _, first = services.token_create(user=customer)
    _, second = services.token_create(user=customer)

    assert first != second
    assert AuthToken.objects.filter(user=customer).count() == 2


def test_token_authenticate_finds_an_active_token(customer):
    token, key = services.token_create(user=customer)

    found = services.token_authenticate(key=key)

    assert found == token
    assert found.user == customer


def test_token_authenticate_refuses_expired_revoked_unknown_and_inactive(customer):
    expired, expired_key = services.token_create(user=customer)
    AuthToken.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    revoked, revoked_key = services.token_create(user=customer)
    services.token_revoke(token=revoked)
    other = UserFactory(is_active=False)
    _, inactive_key = services.token_create(user=other)

    assert services.token_authenticate(key=expired_key) is None
    assert services.token_authenticate(key=revoked_key) is None
    assert services.token_authenticate(key="not-a-token") is None
    assert services.token_authenticate(key="") is None
    assert services.token_authenticate(key=inactive_key) is None


def test_token_revoke_sets_revoked_at_once(customer):
    token, _ = services.token_create(user=customer)
    other, _ = services.token_create(user=customer)

    services.token_revoke(token=token)
    token.refresh_from_db()
    first_revocation = token.revoked_at
    services.token_revoke(token=token)
    token.refresh_from_db()

    assert first_revocation is not None
    assert token.revoked_at == first_revocation
    other.refresh_from_db()
    assert other.revoked_at is None


# --- password reset ---------------------------------------------------------------------------


def test_password_reset_request_emails_a_link_to_the_frontend(
    customer, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        services.password_reset_request(email=" CASEY@example.com ")

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["casey@example.com"]
    assert message.subject == "Reset your SilkCart password"
    uid = _uid(customer)
    token = default_token_generator.make_token(customer)
    url = f"{settings.FRONTEND_URL}/reset-password?uid={uid}&token={token}"
    assert url in message.body
    assert "The link works once and for 24 hours." in message.body
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html"
    assert f'href="{url.replace("&", "&amp;")}"' in html


@pytest.mark.parametrize("email", ["nobody@example.com", "", "not-an-email"])
def test_password_reset_request_for_an_unknown_email_sends_nothing(
    customer, django_capture_on_commit_callbacks, email
):
    with django_capture_on_commit_callbacks(execute=True):
        services.password_reset_request(email=email)

    # The job is enqueued either way (the request's timing tells nothing); it sends nothing.
    assert mail.outbox == []


def test_password_reset_request_skips_inactive_and_passwordless_accounts(
    db, django_capture_on_commit_callbacks
):
    UserFactory(email="gone@example.com", is_active=False)
    passwordless = UserFactory(email="sso@example.com")
    passwordless.set_unusable_password()
    passwordless.save()

    with django_capture_on_commit_callbacks(execute=True):
        services.password_reset_request(email="gone@example.com")
        services.password_reset_request(email="sso@example.com")

    assert mail.outbox == []


def test_password_reset_confirm_sets_the_password_and_revokes_tokens(customer):
    token, _ = services.token_create(user=customer)
    customer.refresh_from_db()
    reset_token = default_token_generator.make_token(customer)

    user = services.password_reset_confirm(
        uid=_uid(customer), token=reset_token, new_password=NEW_PASSWORD
    )

    assert user == customer
    customer.refresh_from_db()
    assert customer.check_password(NEW_PASSWORD)
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_password_reset_confirm_link_works_once(customer):
    reset_token = default_token_generator.make_token(customer)
    services.password_reset_confirm(
        uid=_uid(customer), token=reset_token, new_password=NEW_PASSWORD
    )

    with pytest.raises(ValidationError) as exc:
        services.password_reset_confirm(
            uid=_uid(customer), token=reset_token, new_password="Yet-another-secret-77"
        )

    assert _field_errors(exc.value) == {"token": ["token_invalid"]}
    customer.refresh_from_db()
    assert customer.check_password(NEW_PASSWORD)


@pytest.mark.parametrize(
    ("uid", "token"),
    [
        ("own", "bad-token"),
        ("MTIzNDU2Nzg5", "valid"),  # the uid of a user that does not exist
        ("!!!", "valid"),
        ("", "valid"),
        ("OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk", "valid"),  # beyond the range of a primary key
    ],
)
def test_password_reset_confirm_refuses_a_bad_link(customer, uid, token):
    api_token, _ = services.token_create(user=customer)
    customer.refresh_from_db()
    password_hash = customer.password
    uid = _uid(customer) if uid == "own" else uid
    token = default_token_generator.make_token(customer) if token == "valid" else token

    with pytest.raises(ValidationError) as exc:
        services.password_reset_confirm(uid=uid, token=token, new_password=NEW_PASSWORD)

    assert _field_errors(exc.value) == {"token": ["token_invalid"]}
    assert exc.value.message_dict == {
        "token": ["This password reset link is invalid or has expired."]
    }
    customer.refresh_from_db()
    assert customer.password == password_hash
    api_token.refresh_from_db()
    assert api_token.revoked_at is None


def test_password_reset_confirm_refuses_an_inactive_user(customer):
    reset_token = default_token_generator.make_token(customer)
    User.objects.filter(pk=customer.pk).update(is_active=False)

    with pytest.raises(ValidationError) as exc:
        services.password_reset_confirm(
            uid=_uid(customer), token=reset_token, new_password=NEW_PASSWORD
        )

    assert _field_errors(exc.value) == {"token": ["token_invalid"]}
    customer.refresh_from_db()
    assert customer.check_password(DEFAULT_PASSWORD)


def test_password_reset_confirm_refuses_a_weak_password(customer):
    api_token, _ = services.token_create(user=customer)
    customer.refresh_from_db()
    password_hash = customer.password
    reset_token = default_token_generator.make_token(customer)

    with pytest.raises(ValidationError) as exc:
        services.password_reset_confirm(uid=_uid(customer), token=reset_token, new_password="short")

    assert _field_errors(exc.value) == {"newPassword": ["password_too_weak"]}
    customer.refresh_from_db()
    assert customer.password == password_hash
    api_token.refresh_from_db()
    assert api_token.revoked_at is None


# --- password change --------------------------------------------------------------------------


def test_password_change_revokes_every_other_token(customer):
    kept, _ = services.token_create(user=customer)
    other, _ = services.token_create(user=customer)
    stranger_token, _ = services.token_create(user=UserFactory())

    services.password_change(
        user=customer, old_password=DEFAULT_PASSWORD, new_password=NEW_PASSWORD, keep_token=kept
    )

    customer.refresh_from_db()
    assert customer.check_password(NEW_PASSWORD)
    kept.refresh_from_db()
    other.refresh_from_db()
    stranger_token.refresh_from_db()
    assert kept.revoked_at is None
    assert other.revoked_at is not None
    assert stranger_token.revoked_at is None


def test_password_change_without_a_kept_token_revokes_them_all(customer):
    token, _ = services.token_create(user=customer)

    services.password_change(
        user=customer, old_password=DEFAULT_PASSWORD, new_password=NEW_PASSWORD
    )

    token.refresh_from_db()
    assert token.revoked_at is not None


def test_password_change_refuses_a_wrong_old_password(customer):
    token, _ = services.token_create(user=customer)
    customer.refresh_from_db()
    password_hash = customer.password

    with pytest.raises(ValidationError) as exc:
        services.password_change(
            user=customer, old_password="not-my-password", new_password=NEW_PASSWORD
        )

    assert _field_errors(exc.value) == {"oldPassword": ["invalid_credentials"]}
    assert exc.value.message_dict == {"oldPassword": ["The email or password is incorrect."]}
    customer.refresh_from_db()
    assert customer.password == password_hash
    token.refresh_from_db()
    assert token.revoked_at is None


def test_password_change_refuses_a_weak_password(customer):
    token, _ = services.token_create(user=customer)
    customer.refresh_from_db()
    password_hash = customer.password

    with pytest.raises(ValidationError) as exc:
        services.password_change(
            user=customer, old_password=DEFAULT_PASSWORD, new_password="password1"
        )

    assert _field_errors(exc.value) == {"newPassword": ["password_too_weak"]}
    assert exc.value.message_dict == {"newPassword": ["This password is too common."]}
    customer.refresh_from_db()
    assert customer.password == password_hash
    token.refresh_from_db()
    assert token.revoked_at is None


# --- profile ----------------------------------------------------------------------------------


def test_account_update_changes_only_the_given_fields(customer):
    services.account_update(user=customer, last_name=" Lee ", phone="+1 415 555 0100")

    customer.refresh_from_db()
    assert (customer.first_name, customer.last_name, customer.phone) == (
        "Casey",
        "Lee",
        "+1 415 555 0100",
    )
    assert customer.email == "casey@example.com"


def test_account_update_can_clear_a_field(customer):
    services.account_update(user=customer, phone="+1 415 555 0100")

    services.account_update(user=customer, phone="")

    customer.refresh_from_db()
    assert customer.phone == ""


def test_account_update_refuses_an_invalid_phone(customer):
    with pytest.raises(ValidationError) as exc:
        services.account_update(user=customer, first_name="Other", phone="call me maybe")

    assert _field_errors(exc.value) == {"phone": ["invalid"]}
    assert exc.value.message_dict == {"phone": ["Enter a valid phone number."]}
    customer.refresh_from_db()
    assert (customer.first_name, customer.phone) == ("Casey", "")


def test_account_update_refuses_a_too_long_name(customer):
    with pytest.raises(ValidationError) as exc:
        services.account_update(user=customer, first_name="x" * 151)

    assert _field_errors(exc.value) == {"first_name": ["invalid"]}
    customer.refresh_from_db()
    assert customer.first_name == "Casey"


# --- address book -----------------------------------------------------------------------------


def test_address_create_makes_the_first_address_the_default(customer):
    address = services.address_create(user=customer, data=ADDRESS_DATA)

    address.refresh_from_db()
    assert address.user == customer
    assert {name: getattr(address, name) for name in ADDRESS_DATA} == ADDRESS_DATA
    customer.refresh_from_db()
    assert customer.default_shipping_address == address
    assert customer.default_billing_address == address


def test_address_create_keeps_existing_defaults_unless_asked(customer):
    first = services.address_create(user=customer, data=ADDRESS_DATA)

    second = services.address_create(user=customer, data={**ADDRESS_DATA, "city": "Lyon"})
    customer.refresh_from_db()
    assert customer.default_shipping_address == first
    assert customer.default_billing_address == first

    third = services.address_create(
        user=customer, data={**ADDRESS_DATA, "city": "Nice"}, set_default_shipping=True
    )
    customer.refresh_from_db()
    assert customer.default_shipping_address == third
    assert customer.default_billing_address == first

    fourth = services.address_create(
        user=customer, data={**ADDRESS_DATA, "city": "Lille"}, set_default_billing=True
    )
    customer.refresh_from_db()
    assert customer.default_shipping_address == third
    assert customer.default_billing_address == fourth
    assert list(customer.addresses.order_by("id")) == [first, second, third, fourth]


def test_address_create_strips_and_upper_cases(customer):
    address = services.address_create(
        user=customer,
        data={**ADDRESS_DATA, "full_name": "  Casey Buyer ", "country": "fr", "line2": None},
    )

    address.refresh_from_db()
    assert address.full_name == "Casey Buyer"
    assert address.country == "FR"
    assert address.line2 == ""


@pytest.mark.parametrize(
    ("changes", "errors"),
    [
        ({"country": "XX"}, {"country": ["invalid"]}),
        ({"country": "USA"}, {"country": ["invalid"]}),
        ({"full_name": "  "}, {"full_name": ["required"]}),
        ({"city": None, "postal_code": ""}, {"city": ["required"], "postal_code": ["required"]}),
        ({"phone": "nope"}, {"phone": ["invalid"]}),
    ],
)
def test_address_create_refuses_invalid_data(customer, changes, errors):
    with pytest.raises(ValidationError) as exc:
        services.address_create(user=customer, data={**ADDRESS_DATA, **changes})

    assert _field_errors(exc.value) == errors
    assert Address.objects.count() == 0
    customer.refresh_from_db()
    assert customer.default_shipping_address is None
    assert customer.default_billing_address is None


def test_address_create_refuses_beyond_the_limit(customer):
    AddressFactory.create_batch(Address.MAX_PER_USER, user=customer)

    with pytest.raises(ValidationError) as exc:
        services.address_create(user=customer, data=ADDRESS_DATA)

    assert exc.value.code == "too_many_addresses"
    assert exc.value.messages == ["An address book holds at most 30 addresses."]
    assert customer.addresses.count() == Address.MAX_PER_USER


def test_address_update_replaces_every_field(customer):
    address = AddressFactory(user=customer, line2="Suite 5", phone="+1 415 555 0100")

    services.address_update(address=address, data={**ADDRESS_DATA, "line2": None, "phone": None})

    address.refresh_from_db()
    assert {name: getattr(address, name) for name in ADDRESS_DATA} == {
        **ADDRESS_DATA,
        "line2": "",
        "phone": "",
    }


def test_address_update_refuses_invalid_data(customer):
    address = AddressFactory(user=customer)

    with pytest.raises(ValidationError) as exc:
        services.address_update(address=address, data={**ADDRESS_DATA, "country": "XX"})

    assert _field_errors(exc.value) == {"country": ["invalid"]}
    address.refresh_from_db()
    assert (address.city, address.country) == ("San Francisco", "US")


def test_address_delete_clears_the_defaults(customer):
    address = services.address_create(user=customer, data=ADDRESS_DATA)
    other = services.address_create(user=customer, data={**ADDRESS_DATA, "city": "Lyon"})
    pk = address.pk

    deleted = services.address_delete(address=address)

    assert deleted.pk == pk
    assert not Address.objects.filter(pk=pk).exists()
    customer.refresh_from_db()
    assert customer.default_shipping_address is None
    assert customer.default_billing_address is None
    assert list(customer.addresses.all()) == [other]
