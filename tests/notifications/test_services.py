from datetime import timedelta

import pytest
from django.utils import timezone

from apps.core import events
from apps.notifications import services
from apps.notifications.models import Notification
from tests.accounts.factories import UserFactory
from tests.orders.factories import place_order


def make_notifications(user, count: int, **kwargs) -> list[Notification]:
    return [
        Notification.objects.create(user=user, kind="GENERAL", title=f"Note {n}", **kwargs)
        for n in range(count)
    ]


def read_states(user) -> list[tuple[str, bool]]:
    return [
        (note.title, note.read_at is not None)
        for note in Notification.objects.filter(user=user).order_by("title")
    ]


# --- notification_create -------------------------------------------------------------------


def test_a_notification_about_an_object_points_at_it_and_is_published_after_commit(
    db, customer, published, django_capture_on_commit_callbacks
):
    order = place_order(user=customer)
    Notification.objects.all().delete()
    published.clear()

    with django_capture_on_commit_callbacks(execute=True):
        notification = services.notification_create(
            user_id=customer.pk,
            kind=Notification.Kind.GENERAL,
            title="Hello",
            body="A word from the shop.",
            target=order,
            path="/orders/1",
        )
        assert published == []  # not before the commit

    stored = Notification.objects.get()
    assert (stored.user_id, stored.kind, stored.title, stored.body, stored.path) == (
        customer.pk,
        "GENERAL",
        "Hello",
        "A word from the shop.",
        "/orders/1",
    )
    assert stored.target == order
    assert published == [
        events.Event(
            type="notification.created",
            groups=(f"user:{customer.pk}",),
            payload={"notification_id": notification.pk, "user_id": customer.pk},
        )
    ]


def test_a_notification_in_a_rolled_back_transaction_is_neither_kept_nor_published(
    db, customer, published, django_capture_on_commit_callbacks
):
    from django.db import transaction

    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        services.notification_create(
            user_id=customer.pk, kind=Notification.Kind.GENERAL, title="Hello"
        )
        raise RuntimeError("the caller fails")

    assert Notification.objects.count() == 0
    assert published == []


def test_a_notification_of_an_unknown_kind_is_refused(db, customer):
    with pytest.raises(ValueError):
        services.notification_create(user_id=customer.pk, kind="NEWS", title="Hello")
    assert Notification.objects.count() == 0


# --- notifications_mark_read ------------------------------------------------------------------


def test_mark_read_marks_the_given_notifications_of_the_user(db, customer):
    first, _, third = make_notifications(customer, 3)
    start = timezone.now()

    count = services.notifications_mark_read(user=customer, ids=[first.pk, third.pk])

    assert count == 2
    assert read_states(customer) == [("Note 0", True), ("Note 1", False), ("Note 2", True)]
    first.refresh_from_db()
    assert start <= first.read_at <= timezone.now()


def test_mark_read_never_touches_another_users_notifications(db, customer):
    other = UserFactory()
    (theirs,) = make_notifications(other, 1)
    make_notifications(customer, 2)

    count = services.notifications_mark_read(user=customer, ids=[theirs.pk, 999999])

    assert count == 0
    assert read_states(other) == [("Note 0", False)]
    assert read_states(customer) == [("Note 0", False), ("Note 1", False)]


def test_mark_read_without_ids_marks_all_of_the_users_notifications(db, customer):
    other = UserFactory()
    make_notifications(other, 2)
    make_notifications(customer, 3)

    assert services.notifications_mark_read(user=customer) == 3

    assert read_states(customer) == [("Note 0", True), ("Note 1", True), ("Note 2", True)]
    assert read_states(other) == [("Note 0", False), ("Note 1", False)]


def test_mark_read_keeps_the_first_read_time(db, customer):
    earlier = timezone.now() - timedelta(days=2)
    (read,) = make_notifications(customer, 1, read_at=earlier)

    assert services.notifications_mark_read(user=customer, ids=[read.pk]) == 0
    assert services.notifications_mark_read(user=customer) == 0

    read.refresh_from_db()
    assert read.read_at == earlier


def test_mark_read_with_no_ids_given_as_a_list_marks_nothing(db, customer):
    make_notifications(customer, 2)

    assert services.notifications_mark_read(user=customer, ids=[]) == 0
    assert read_states(customer) == [("Note 0", False), ("Note 1", False)]
