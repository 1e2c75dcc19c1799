"""One account per email whatever its spelling: look-alikes (a long s for ``s``, full-width
letters, other cases) are folded to one key for look-ups, rate limits and registration."""

import pytest
from django.contrib.auth import authenticate

from apps.accounts import services
from apps.accounts.models import User, email_key
from tests.accounts.factories import DEFAULT_PASSWORD, UserFactory
from tests.accounts.test_mutations import LOGIN, RATE_LIMITED, REGISTER, _error, _messages

LONG_S = "cu\N{LATIN SMALL LETTER LONG S}tomer@example.com"
FULL_WIDTH = "\N{FULLWIDTH LATIN SMALL LETTER C}ustomer@example.com"


@pytest.mark.parametrize("spelling", ["Customer@Example.com", LONG_S, FULL_WIDTH])
def test_look_alike_spellings_fold_to_one_key(spelling):
    assert email_key(spelling) == "customer@example.com"


def test_a_user_is_stored_with_its_folded_key(db):
    user = UserFactory(email="customer@example.com")

    assert User.objects.get(pk=user.pk).email_key == "customer@example.com"


@pytest.mark.parametrize("spelling", [LONG_S, FULL_WIDTH, "CUSTOMER@example.com"])
def test_registering_a_look_alike_of_an_existing_email_is_refused(db, spelling):
    UserFactory(email="customer@example.com")

    with pytest.raises(Exception) as raised:
        services.account_register(email=spelling, password="A-long-secret-2026")

    assert raised.value.error_dict["email"][0].code in {"email_taken", "invalid"}
    assert User.objects.count() == 1


def test_registering_through_the_api_refuses_a_look_alike(gql):
    UserFactory(email="customer@example.com")

    response = gql(REGISTER, {"input": {"email": LONG_S, "password": "A-long-secret-2026"}})

    assert _messages(response, "accountRegister")[0]["code"] in {"email_taken", "invalid"}
    assert User.objects.count() == 1


def test_the_account_limit_counts_look_alikes_as_one_account(settings, gql):
    settings.RATELIMIT_AUTH_ACCOUNT = "5/d"
    settings.RATELIMIT_AUTH_IP = "100/d"
    UserFactory(email="customer@example.com")
    for _ in range(5):
        response = gql(LOGIN, {"email": "customer@example.com", "password": "wrong-password-1"})
        assert _messages(response, "login")[0]["code"] == "invalid_credentials"

    response = gql(LOGIN, {"email": LONG_S, "password": DEFAULT_PASSWORD})

    assert _messages(response, "login") == _error(None, RATE_LIMITED, "rate_limited")
    assert "_auth_user_id" not in gql.client.session


def test_authentication_and_password_resets_find_the_account_by_its_key(
    db, mailoutbox, django_capture_on_commit_callbacks
):
    user = UserFactory(email="customer@example.com")

    assert authenticate(email="CUSTOMER@example.com", password=DEFAULT_PASSWORD) == user
    with django_capture_on_commit_callbacks(execute=True):
        services.password_reset_request(email=FULL_WIDTH)
    assert [message.to for message in mailoutbox] == [["customer@example.com"]]


def test_a_reset_request_does_the_same_work_for_unknown_and_known_emails(
    db, django_assert_num_queries, django_capture_on_commit_callbacks
):
    UserFactory(email="customer@example.com")
    work = []
    for email in ("customer@example.com", "nobody@example.com"):
        with (
            django_capture_on_commit_callbacks() as callbacks,
            django_assert_num_queries(0) as queries,
        ):
            services.password_reset_request(email=email)
        work.append((len(queries), len(callbacks)))

    # no look-up at all in the request: the job finds the account, or nothing
    assert work == [(0, 1), (0, 1)]


def test_the_reset_job_emails_only_an_active_account_with_a_password(
    db, mailoutbox, django_capture_on_commit_callbacks
):
    UserFactory(email="customer@example.com")
    UserFactory(email="gone@example.com", is_active=False)
    with django_capture_on_commit_callbacks(execute=True):
        for email in ("nobody@example.com", "gone@example.com", "Customer@example.com"):
            services.password_reset_request(email=email)

    assert [message.to for message in mailoutbox] == [["customer@example.com"]]
