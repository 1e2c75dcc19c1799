import strawberry
import strawberry_django

from .types import UserType


@strawberry.type
class AccountQuery:
    @strawberry_django.field(description="The signed-in user, or null when anonymous.")
    def me(self, info: strawberry.Info) -> UserType | None:
        user = info.context.request.user
        return user if user.is_authenticated else None
