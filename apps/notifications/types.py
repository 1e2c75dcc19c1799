import strawberry
import strawberry_django
from django.db.models import QuerySet
from strawberry import auto, relay

from .models import Notification


@strawberry_django.type(Notification, name="Notification")
class NotificationType(relay.Node):
    id: relay.NodeID[int]
    kind: auto
    title: auto
    body: auto
    read_at: auto
    created_at: auto

    @classmethod
    def get_queryset(cls, queryset: QuerySet[Notification], info: strawberry.Info, **kwargs):
        user = info.context.request.user
        if not user.is_authenticated:
            return queryset.none()
        return queryset.filter(user_id=user.pk)
