"""In-app notifications and order emails: created in the order's transaction, sent after commit."""

from django.db import transaction
from django.utils import timezone

from apps.core.tasks import enqueue_on_commit

from . import tasks
from .models import EMAILED_STATUSES, STATUS_MESSAGES, Notification


def notify_order_placed(*, order) -> None:
    if order.user_id:
        Notification.objects.create(
            user_id=order.user_id,
            order=order,
            kind="ORDER_PLACED",
            title="Order received",
            body=f"Thank you! We received order {order.number}.",
        )
    enqueue_on_commit(tasks.send_order_confirmation, order.pk)


def notify_order_status(*, order) -> None:
    status = order.status
    if status not in STATUS_MESSAGES:
        return
    title, body = STATUS_MESSAGES[status]
    if order.user_id:
        Notification.objects.create(
            user_id=order.user_id,
            order=order,
            kind=f"ORDER_{status}",
            title=title,
            body=body.format(number=order.number),
        )
    if status in EMAILED_STATUSES:
        enqueue_on_commit(tasks.send_order_status_email, order.pk, status)


@transaction.atomic
def notifications_mark_read(*, user, ids: list[int] | None = None) -> int:
    """Mark the user's notifications read (only those ``ids`` when given); return how many."""
    unread = Notification.objects.filter(user=user, read_at__isnull=True)
    if ids is not None:
        unread = unread.filter(pk__in=ids)
    return unread.update(read_at=timezone.now())
