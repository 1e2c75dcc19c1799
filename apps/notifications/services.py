"""In-app notifications: written in the caller's transaction, published once it commits.

This app knows no other: the apps whose objects the notifications are about (orders, bookings,
deliveries) write their own titles and bodies and send their own emails.
"""

from django.contrib.contenttypes.models import ContentType
from django.db import models, transaction
from django.utils import timezone

from apps.core.events import Event, publish

from .models import Notification


def user_group(user_id: int) -> str:
    """The events group of everything meant for one user."""
    return f"user:{user_id}"


def notification_create(
    *,
    user_id: int,
    kind: str,
    title: str,
    body: str = "",
    target: models.Model | None = None,
    path: str = "",
) -> Notification:
    """Write a notification for ``user_id`` (in the caller's transaction, if any); its
    subscribers hear of it once that commits."""
    kind = Notification.Kind(kind)  # an unknown kind is a bug: ValueError
    notification = Notification.objects.create(
        user_id=user_id,
        kind=kind,
        title=title[:255],
        body=body,
        target_type=ContentType.objects.get_for_model(target) if target is not None else None,
        target_id=target.pk if target is not None else None,
        path=path[:255],
    )
    publish(
        Event(
            type="notification.created",
            groups=(user_group(user_id),),
            payload={"notification_id": notification.pk, "user_id": user_id},
        )
    )
    return notification


@transaction.atomic
def notifications_mark_read(*, user, ids: list[int] | None = None) -> int:
    """Mark the user's notifications read (only those ``ids`` when given); return how many."""
    unread = Notification.objects.filter(user=user, read_at__isnull=True)
    if ids is not None:
        unread = unread.filter(pk__in=ids)
    return unread.update(read_at=timezone.now())
