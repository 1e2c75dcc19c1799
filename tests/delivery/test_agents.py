import re
from urllib.parse import parse_qs, urlsplit

import pytest
from django.conf import settings
from django.contrib.auth.models import Group
from django.core import mail
from strawberry.relay import to_base64

from apps.accounts.models import User
from apps.delivery import services
from apps.delivery.models import DeliveryAgent
from tests.accounts.factories import UserFactory
from tests.conftest import GraphQLClient
from tests.delivery.documents import (
    AGENT_CREATE,
    AGENT_UPDATE,
    MY_DELIVERIES,
    bearer,
    codes_of,
    result,
)
from tests.delivery.factories import agent, gid, world

PHONE = "+33 6 12 34 56 78"
RESET_CONFIRM = """
mutation($uid: String!, $token: String!, $password: String!) {
  result: passwordResetConfirm(uid: $uid, token: $token, newPassword: $password) {
    __typename ... on User { email }
  }
}
"""


def user_gid(user) -> str:
    return to_base64("User", user.pk)


def create(api, **fields):
    return api(AGENT_CREATE, {"input": {"phone": PHONE, "vehicle": "Scooter", **fields}})


def in_group(user) -> bool:
    return user.groups.filter(name="Delivery agent").exists()


# --- deliveryAgentCreate ----------------------------------------------------------------------


def test_staff_make_a_user_a_courier(admin_gql):
    user = UserFactory(email="nina@example.com", first_name="Nina", last_name="Roy")

    response = create(admin_gql, userId=user_gid(user), phone=" +33 6 99 99 99 99 ")

    courier = DeliveryAgent.objects.get()
    assert result(response) == {
        "__typename": "DeliveryAgent",
        "id": gid(courier),
        "name": "Nina Roy",
        "phone": "+33 6 99 99 99 99",
        "email": "nina@example.com",
        "vehicle": "Scooter",
        "isActive": True,
    }
    assert courier.user == user
    assert in_group(user)
    # In the group, they may carry deliveries out: myDeliveries answers them.
    assert result(bearer(user)(MY_DELIVERIES))["totalCount"] == 0
    assert user.has_perm("delivery.deliver")


def test_staff_make_a_courier_of_an_existing_account_by_its_email(
    admin_gql, django_capture_on_commit_callbacks
):
    user = UserFactory(email="nina@example.com", first_name="Nina")

    with django_capture_on_commit_callbacks(execute=True):
        response = create(admin_gql, email="  NINA@Example.com ")

    assert result(response)["email"] == "nina@example.com"
    assert DeliveryAgent.objects.get().user == user
    assert User.objects.count() == 2  # staff and Nina: no account was made
    assert mail.outbox == []  # they have a password already
    assert in_group(user)


def test_a_courier_made_from_a_new_email_gets_an_account_and_a_link_to_set_its_password(
    admin_gql, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = create(
            admin_gql, email="New.Courier@Example.com", firstName="Nina", lastName="Roy"
        )

    user = User.objects.get(email="new.courier@example.com")
    assert result(response)["name"] == "Nina Roy"
    assert (user.first_name, user.last_name) == ("Nina", "Roy")
    assert user.has_usable_password() is False
    assert in_group(user)
    [message] = mail.outbox
    assert message.to == ["new.courier@example.com"]
    assert message.subject == "Reset your SilkCart password"
    url = re.search(r"https?://\S+", message.body).group(0)
    query = parse_qs(urlsplit(url).query)
    assert url.startswith(f"{settings.FRONTEND_URL}/reset-password?uid=")
    # The link sets the password, and the courier signs in with it.
    confirm = GraphQLClient()(
        RESET_CONFIRM,
        {"uid": query["uid"][0], "token": query["token"][0], "password": "Ride-on-bikes-42"},
    )
    assert result(confirm) == {"__typename": "User", "email": "new.courier@example.com"}
    user.refresh_from_db()
    assert user.check_password("Ride-on-bikes-42")


def test_the_invitation_is_not_sent_once_the_account_has_a_password(
    db, django_capture_on_commit_callbacks
):
    from apps.delivery import emails

    courier = services.agent_create(email="nina@example.com", phone=PHONE, vehicle="Van")
    courier.user.set_password("Chosen-already-42")
    courier.user.save()

    emails.send_agent_invitation(user_id=courier.user_id)

    assert mail.outbox == []


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({}, [("required", "userId")]),
        ({"userId": "user", "email": "nina@example.com"}, [("required", "userId")]),
        ({"userId": "user", "phone": "call me"}, [("invalid", "phone")]),
        ({"userId": "user", "phone": "  "}, [("required", "phone")]),
        ({"userId": "user", "vehicle": " "}, [("required", "vehicle")]),
        ({"userId": "user", "vehicle": "x" * 65}, [("invalid", "vehicle")]),
        ({"userId": "courier"}, [("already_an_agent", "userId")]),
        ({"email": "courier"}, [("already_an_agent", "email")]),
        ({"userId": "inactive"}, [("invalid", "userId")]),
        ({"userId": "nobody"}, [("not_found", "userId")]),
    ],
)
def test_a_courier_that_cannot_be_made_changes_nothing(
    admin_gql, django_capture_on_commit_callbacks, fields, expected
):
    people = {
        "user": UserFactory(email="nina@example.com"),
        "courier": agent(email="dana@example.com").user,
        "inactive": UserFactory(email="gone@example.com", is_active=False),
    }
    given = {
        name: (
            (user_gid(people[value]) if name == "userId" else people[value].email)
            if value in people
            else (to_base64("User", 999) if value == "nobody" else value)
        )
        for name, value in fields.items()
    }
    snapshot = world()
    groups = list(Group.objects.get(name="Delivery agent").user_set.values_list("pk"))

    with django_capture_on_commit_callbacks(execute=True):
        response = create(admin_gql, **given)

    assert codes_of(response) == expected
    assert world() == snapshot
    assert list(Group.objects.get(name="Delivery agent").user_set.values_list("pk")) == groups


def test_a_new_email_with_a_bad_phone_makes_no_account(
    admin_gql, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = create(admin_gql, email="new.courier@example.com", phone="nope")

    assert codes_of(response) == [("invalid", "phone")]
    assert not User.objects.filter(email="new.courier@example.com").exists()
    assert mail.outbox == []


# --- deliveryAgentUpdate ----------------------------------------------------------------------


def test_staff_change_a_courier(admin_gql):
    courier = agent()

    response = admin_gql(
        AGENT_UPDATE,
        {"id": gid(courier), "input": {"phone": "+33 7 00 00 00 00", "vehicle": " Van "}},
    )

    assert result(response) | {"id": None} == {
        "__typename": "DeliveryAgent",
        "id": None,
        "name": "Dana Rider",
        "phone": "+33 7 00 00 00 00",
        "email": courier.user.email,
        "vehicle": "Van",
        "isActive": True,
    }
    courier.refresh_from_db()
    assert (courier.phone, courier.vehicle, courier.is_active) == ("+33 7 00 00 00 00", "Van", True)


def test_staff_deactivate_and_reactivate_a_courier(admin_gql):
    courier = agent()

    off = admin_gql(AGENT_UPDATE, {"id": gid(courier), "input": {"isActive": False}})

    assert result(off)["isActive"] is False
    courier.refresh_from_db()
    assert (courier.is_active, courier.phone, courier.vehicle) == (False, PHONE, "Bicycle")
    on = admin_gql(AGENT_UPDATE, {"id": gid(courier), "input": {"isActive": True}})
    assert result(on)["isActive"] is True


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"phone": "call me"}, [("invalid", "phone")]),
        ({"phone": ""}, [("required", "phone")]),
        ({"vehicle": ""}, [("required", "vehicle")]),
    ],
)
def test_a_bad_change_of_a_courier_changes_nothing(admin_gql, changes, expected):
    courier = agent()
    snapshot = world()

    response = admin_gql(AGENT_UPDATE, {"id": gid(courier), "input": changes})

    assert codes_of(response) == expected
    assert world() == snapshot


def test_a_courier_of_another_type_of_id_is_not_found(admin_gql):
    response = admin_gql(AGENT_UPDATE, {"id": user_gid(UserFactory()), "input": {}})

    assert codes_of(response) == [("not_found", "id")]


def test_a_courier_made_after_the_group_was_deleted_may_still_deliver(db):
    Group.objects.filter(name="Delivery agent").delete()

    courier = agent()

    group = Group.objects.get(name="Delivery agent")
    assert list(group.permissions.values_list("codename", flat=True)) == ["deliver"]
    assert courier.user.has_perm("delivery.deliver")
