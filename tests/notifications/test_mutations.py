from datetime import timedelta

import pytest
from django.utils import timezone
from strawberry.relay import to_base64

from apps.notifications.models import Notification
from tests.accounts.factories import UserFactory
from tests.orders.factories import advance, place_order

MARK_READ = "mutation($ids: [ID!]) { notificationsMarkRead(ids: $ids) }"
MY_NOTIFICATIONS = """
query($unreadOnly: Boolean, $first: Int) {
  me {
    notifications(unreadOnly: $unreadOnly, first: $first) {
      totalCount
      edges { node { id kind title body readAt createdAt } }
    }
  }
}
"""


def gid(notification: Notification) -> str:
    return to_base64("Notification", notification.pk)


def notify(user, title: str, *, minutes_ago: int = 0, read: bool = False) -> Notification:
    note = Notification.objects.create(
        user=user,
        kind="GENERAL",
        title=title,
        body=f"About {title}.",
        read_at=timezone.now() if read else None,
    )
    Notification.objects.filter(pk=note.pk).update(
        created_at=timezone.now() - timedelta(minutes=minutes_ago)
    )
    return Notification.objects.get(pk=note.pk)


def unread(user) -> list[str]:
    return sorted(
        Notification.objects.filter(user=user, read_at__isnull=True).values_list("title", flat=True)
    )


def all_notifications() -> list[dict]:
    return list(Notification.objects.order_by("pk").values())


# --- notificationsMarkRead --------------------------------------------------------------------


def test_mark_read_with_ids_marks_only_those(customer_gql, customer):
    first = notify(customer, "first")
    notify(customer, "second")
    third = notify(customer, "third")

    response = customer_gql(MARK_READ, {"ids": [gid(first), gid(third)]})

    assert response.data == {"notificationsMarkRead": True}
    assert unread(customer) == ["second"]


def test_mark_read_with_another_users_id_changes_nothing(customer_gql, customer):
    other = UserFactory()
    theirs = notify(other, "theirs")
    notify(customer, "mine")
    before = all_notifications()

    response = customer_gql(MARK_READ, {"ids": [gid(theirs)]})

    assert response.data == {"notificationsMarkRead": True}
    assert all_notifications() == before


def test_mark_read_without_ids_marks_all_of_mine(customer_gql, customer):
    other = UserFactory()
    notify(other, "theirs")
    notify(customer, "first")
    notify(customer, "second")

    response = customer_gql(MARK_READ)

    assert response.data == {"notificationsMarkRead": True}
    assert unread(customer) == []
    assert unread(other) == ["theirs"]


def test_mark_read_with_an_empty_list_marks_nothing(customer_gql, customer):
    notify(customer, "first")
    before = all_notifications()

    response = customer_gql(MARK_READ, {"ids": []})

    assert response.data == {"notificationsMarkRead": True}
    assert all_notifications() == before


def test_mark_read_refuses_ids_of_another_type(customer_gql, customer):
    mine = notify(customer, "mine")
    before = all_notifications()

    response = customer_gql(MARK_READ, {"ids": [gid(mine), to_base64("Order", mine.pk)]})

    assert response.body["data"] is None
    assert [(e["message"], e["extensions"]["code"]) for e in response.errors] == [
        ("Give Notification ids.", "invalid")
    ]
    assert all_notifications() == before


@pytest.mark.parametrize("variables", [{}, {"ids": None}, {"ids": ["Tm90aWZpY2F0aW9uOjE="]}])
def test_anonymous_mark_read_is_a_top_level_error(gql, customer, variables):
    notify(customer, "mine")
    before = all_notifications()

    response = gql(MARK_READ, variables)

    assert response.body["data"] is None
    assert [error["message"] for error in response.errors] == ["You must be signed in."]
    assert response.errors[0]["path"] == ["notificationsMarkRead"]
    assert all_notifications() == before


# --- me.notifications -------------------------------------------------------------------------


def test_my_notifications_newest_first(customer_gql, customer):
    old = notify(customer, "old", minutes_ago=30, read=True)
    new = notify(customer, "new", minutes_ago=1)
    notify(UserFactory(), "theirs")

    data = customer_gql(MY_NOTIFICATIONS).data["me"]["notifications"]

    assert data["totalCount"] == 2
    assert [edge["node"]["id"] for edge in data["edges"]] == [gid(new), gid(old)]
    node = data["edges"][0]["node"]
    assert (node["kind"], node["title"], node["body"], node["readAt"]) == (
        "GENERAL",
        "new",
        "About new.",
        None,
    )
    assert data["edges"][1]["node"]["readAt"] is not None


def test_my_unread_notifications(customer_gql, customer):
    notify(customer, "read", minutes_ago=3, read=True)
    older = notify(customer, "older", minutes_ago=2)
    newer = notify(customer, "newer", minutes_ago=1)
    notify(UserFactory(), "theirs")

    unread_only = customer_gql(MY_NOTIFICATIONS, {"unreadOnly": True}).data["me"]["notifications"]
    everything = customer_gql(MY_NOTIFICATIONS, {"unreadOnly": False}).data["me"]["notifications"]

    assert unread_only["totalCount"] == 2
    assert [edge["node"]["id"] for edge in unread_only["edges"]] == [gid(newer), gid(older)]
    assert everything["totalCount"] == 3


def test_reading_marks_leave_the_unread_list(customer_gql, customer):
    first = notify(customer, "first", minutes_ago=2)
    second = notify(customer, "second", minutes_ago=1)

    customer_gql(MARK_READ, {"ids": [gid(second)]})

    data = customer_gql(MY_NOTIFICATIONS, {"unreadOnly": True}).data["me"]["notifications"]
    assert [edge["node"]["id"] for edge in data["edges"]] == [gid(first)]


def test_order_events_show_up_as_notifications(customer_gql, customer):
    order = place_order(user=customer)
    Notification.objects.filter(user=customer).update(
        created_at=timezone.now() - timedelta(hours=1)
    )
    advance(order, "PAID")

    data = customer_gql(MY_NOTIFICATIONS, {"unreadOnly": True}).data["me"]["notifications"]

    assert [(e["node"]["kind"], e["node"]["title"], e["node"]["body"]) for e in data["edges"]] == [
        ("ORDER_PAID", "Payment received", f"We received the payment for order {order.number}."),
        ("ORDER_PLACED", "Order received", f"Thank you! We received order {order.number}."),
    ]


def test_anonymous_has_no_notifications(gql, customer):
    notify(customer, "mine")

    assert gql(MY_NOTIFICATIONS).data == {"me": None}


def test_a_notification_of_someone_else_is_not_a_node(customer_gql):
    theirs = notify(UserFactory(), "theirs")

    response = customer_gql(
        "query($id: ID!) { node(id: $id) { ... on Notification { title } } }", {"id": gid(theirs)}
    )

    assert response.data == {"node": None}


# --- unread count and targets -----------------------------------------------------------------

UNREAD = "{ me { unreadNotificationCount notifications { edges { node { kind path target { type id } } } } } }"


def test_the_unread_count_counts_my_unread_notifications_only(customer_gql, customer):
    from django.utils import timezone

    from tests.accounts.factories import UserFactory

    Notification.objects.create(user=customer, kind="GENERAL", title="a")
    Notification.objects.create(user=customer, kind="GENERAL", title="b")
    Notification.objects.create(user=customer, kind="GENERAL", title="c", read_at=timezone.now())
    Notification.objects.create(user=UserFactory(), kind="GENERAL", title="theirs")

    assert customer_gql(UNREAD).data["me"]["unreadNotificationCount"] == 2


def test_a_notification_names_its_target_by_type_and_global_id(customer_gql, customer):
    from strawberry.relay import to_base64

    from tests.orders.factories import place_order

    order = place_order(user=customer)  # notifies the customer

    nodes = [edge["node"] for edge in customer_gql(UNREAD).data["me"]["notifications"]["edges"]]

    assert nodes == [
        {
            "kind": "ORDER_PLACED",
            "path": None,
            "target": {"type": "Order", "id": to_base64("Order", order.pk)},
        }
    ]
