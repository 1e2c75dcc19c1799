import strawberry
import strawberry_django
from strawberry import relay

from api.permissions import IsAuthenticated
from api.types import PublicError, node_pk
from apps.core.errors import CoreErrorCode

from . import services
from .types import NotificationType


@strawberry.type
class NotificationMutation:
    @strawberry_django.mutation(
        handle_django_errors=False,
        extensions=[IsAuthenticated(fail_silently=False)],
        description="Mark your notifications read: these ids, or all of them. True when done.",
    )
    def notifications_mark_read(
        self, info: strawberry.Info, ids: list[relay.GlobalID] | None = None
    ) -> bool:
        pks = None
        if ids is not None:
            name = NotificationType.__strawberry_definition__.name
            pks = [node_pk(gid, name) for gid in ids]
            if None in pks:
                raise PublicError("Give Notification ids.", code=CoreErrorCode.INVALID)
        services.notifications_mark_read(user=info.context.request.user, ids=pks)
        return True
