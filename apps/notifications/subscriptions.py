from collections.abc import AsyncGenerator

import strawberry

from api.subscriptions import follow, read, require, visible

from .models import Notification
from .services import user_group
from .types import NotificationType


def _notification(info: strawberry.Info, pk: int) -> Notification | None:
    return visible(info, NotificationType, Notification.objects.filter(pk=pk))


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
            async for event in events:
                if event["event"] != "notification.created":
                    continue
                notification = await read(_notification, info, event["payload"]["notification_id"])
                if notification is not None:
                    yield notification
