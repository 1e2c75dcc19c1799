from django.test import Client

from apps.accounts import services
from apps.accounts.models import AuthToken, User, email_key
from tests.accounts.factories import DEFAULT_PASSWORD, UserFactory


def _admin_client() -> Client:
    client = Client()
    client.force_login(UserFactory(email="root@example.com", is_staff=True, is_superuser=True))
    return client


def test_admin_add_user_stores_the_email_lower_cased(db):
    client = _admin_client()

    response = client.post(
        "/admin/accounts/user/add/",
        {
            "email": " New.Staff@Example.COM ",
            "usable_password": "true",
            "password1": DEFAULT_PASSWORD,
            "password2": DEFAULT_PASSWORD,
            "addresses-TOTAL_FORMS": "0",
            "addresses-INITIAL_FORMS": "0",
        },
    )

    user = User.objects.get(email="new.staff@example.com")
    assert response.status_code == 302
    assert response.headers["Location"] == f"/admin/accounts/user/{user.pk}/change/"
    assert user.check_password(DEFAULT_PASSWORD)
    signed_in = services.authenticate_credentials(
        request=None, email="new.staff@example.com", password=DEFAULT_PASSWORD
    )
    assert signed_in == user


def test_admin_add_user_refuses_an_email_taken_in_another_case(customer):
    client = _admin_client()

    response = client.post(
        "/admin/accounts/user/add/",
        {
            "email": "CASEY@example.com",
            "usable_password": "true",
            "password1": DEFAULT_PASSWORD,
            "password2": DEFAULT_PASSWORD,
            "addresses-TOTAL_FORMS": "0",
            "addresses-INITIAL_FORMS": "0",
        },
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.errors
    assert User.objects.filter(email__iexact="casey@example.com").count() == 1


def test_an_email_stored_in_mixed_case_still_signs_in(db):
    user = UserFactory()
    legacy = "Legacy.Buyer@Example.com"  # stored before emails were lower-cased
    User.objects.filter(pk=user.pk).update(email=legacy, email_key=email_key(legacy))

    signed_in = services.authenticate_credentials(
        request=None, email="legacy.buyer@example.com", password=DEFAULT_PASSWORD
    )

    assert signed_in == user


def test_admin_revoke_action_revokes_the_selected_tokens(customer):
    client = _admin_client()
    token, _ = services.token_create(user=customer)
    kept, _ = services.token_create(user=customer)

    response = client.post(
        "/admin/accounts/authtoken/", {"action": "revoke", "_selected_action": [token.pk]}
    )

    assert response.status_code == 302
    token.refresh_from_db()
    kept.refresh_from_db()
    assert token.revoked_at is not None
    assert kept.revoked_at is None
    assert AuthToken.objects.count() == 2
