import strawberry
import strawberry_django
from strawberry import relay
from strawberry_django.optimizer import optimize

from api.permissions import HasPerm
from api.types import CountableConnection, StablyOrderedField, node_pk

from .models import User
from .types import UserFilter, UserType


@strawberry.type
class AccountQuery:
    @strawberry_django.field(description="The signed-in user, or null when anonymous.")
    def me(self, info: strawberry.Info) -> UserType | None:
        user = info.context.request.user
        return user if user.is_authenticated else None

    users: CountableConnection[UserType] = strawberry_django.connection(
        filters=UserFilter,
        field_cls=StablyOrderedField,
        extensions=[HasPerm("accounts.view_user")],
        description="Staff: accounts, newest first.",
    )

    @strawberry_django.field(
        extensions=[HasPerm("accounts.view_user")], description="Staff: one account."
    )
    def user(self, info: strawberry.Info, id: relay.GlobalID) -> UserType | None:
        pk = node_pk(id, "User")
        if pk is None:
            return None
        return optimize(User.objects.filter(pk=pk), info).first()
