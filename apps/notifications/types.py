import strawberry
import strawberry_django
from django.contrib.contenttypes.models import ContentType
from django.db.models import QuerySet
from strawberry import auto, relay

from apps.core.visibility import visible_to

from .models import Notification

NotificationKindEnum = strawberry.enum(Notification.Kind, name="NotificationKind")


@strawberry.type(name="NotificationTarget", description="What a notification is about.")
class NotificationTarget:
    type: str = strawberry.field(description="The object's GraphQL type, e.g. `Order`.")
    id: relay.GlobalID = strawberry.field(description="Its global id (for `node(id:)`).")


@strawberry_django.type(Notification, name="Notification")
class NotificationType(relay.Node):
    id: relay.NodeID[int]
    title: auto
    body: auto
    read_at: auto
    created_at: auto

    @strawberry_django.field(only=["kind"])
    def kind(self) -> NotificationKindEnum:
        return Notification.Kind(self.kind)

    @strawberry_django.field(only=["target_type", "target_id"])
    def target(self) -> NotificationTarget | None:
        if self.target_type_id is None:
            return None
        # Content types are cached in-process: no query per notification.
        type_name = ContentType.objects.get_for_id(self.target_type_id).model_class().__name__
        return NotificationTarget(type=type_name, id=relay.GlobalID(type_name, str(self.target_id)))

    @strawberry_django.field(
        only=["path"], description="Where a frontend shows it, when the shop knows."
    )
    def path(self) -> str | None:
        return self.path or None

    @classmethod
    def get_queryset(cls, queryset: QuerySet[Notification], info: strawberry.Info, **kwargs):
        # Only ever the user's own, staff included: notifications are private.
        return visible_to(info.context.request.user, queryset, owner="user", perm=None)
