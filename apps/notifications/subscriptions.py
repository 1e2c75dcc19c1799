from collections.abc import AsyncGenerator

import strawberry

from api.subscriptions import Reader, answers, follow, require

from .models import Notification
from .services import user_group
from .types import NotificationType


def _created(event: dict) -> tuple | None:
    if event["event"] != "notification.created":
        return None
    return (event["payload"]["notification_id"],)


@strawberry.type
class NotificationSubscription:
    @strawberry.subscription(
        description="Your new in-app notifications, as they are written.",
    )
    async def notification_received(
        self, info: strawberry.Info
    ) -> AsyncGenerator[NotificationType, None]:
        await require(info)
        user = info.context.request.user
        async with follow(info, [user_group(user.pk)]) as events:
            async for notification in answers(
                info, events, Reader(NotificationType, Notification), _created
            ):
                yield notification
