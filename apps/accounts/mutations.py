from typing import Annotated, Union
from uuid import UUID

import strawberry
import strawberry_django
from django.contrib import auth
from django.core.exceptions import ValidationError
from strawberry import relay
from strawberry_django.fields.types import OperationInfo

from api.permissions import IsAuthenticated
from api.types import PublicError, resolve_id
from apps.cart import services as cart_services
from apps.core.errors import CoreErrorCode
from apps.core.ratelimit import enforce_rate_limit

from . import services
from .types import (
    AccountRegisterInput,
    AccountUpdateInput,
    AddressInput,
    AddressType,
    AddressUpdateInput,
    AuthTokenType,
    UserType,
)

UserPayload = Annotated[Union[UserType, OperationInfo], strawberry.union("UserPayload")]  # noqa: UP007
AddressPayload = Annotated[
    Union[AddressType, OperationInfo], strawberry.union("AddressPayload")  # noqa: UP007
]
AuthTokenPayload = Annotated[
    Union[AuthTokenType, OperationInfo], strawberry.union("AuthTokenPayload")  # noqa: UP007
]


MERGE_HELP = "A guest cart to merge into the customer's cart (quantities add up, capped by stock)."


def _request(info: strawberry.Info):
    return info.context.request


def _own_address(info: strawberry.Info, id: relay.GlobalID):
    user = _request(info).user
    return resolve_id(info, id, AddressType, queryset=user.addresses.all())


@strawberry.type
class AccountMutation:
    @strawberry_django.mutation(
        description="Create a customer account, sign it in with a session (as `login` does) and "
        "send the welcome email. Every field at fault is reported at once."
    )
    def account_register(
        self,
        info: strawberry.Info,
        input: AccountRegisterInput,
        cart_token: Annotated[UUID | None, strawberry.argument(description=MERGE_HELP)] = None,
    ) -> UserPayload:
        request = _request(info)
        enforce_rate_limit(request, group="account-register", account=input.email)
        user = services.account_register(
            email=input.email,
            password=input.password,
            first_name=input.first_name or "",
            last_name=input.last_name or "",
        )
        if not hasattr(request, "auth_token"):  # a bearer client signs in with tokenCreate
            auth.login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        cart_services.cart_merge(token=cart_token, user=user)
        return user

    @strawberry_django.mutation(description="Sign in with a session cookie (web frontends).")
    def login(
        self,
        info: strawberry.Info,
        email: str,
        password: str,
        cart_token: Annotated[UUID | None, strawberry.argument(description=MERGE_HELP)] = None,
    ) -> UserPayload:
        request = _request(info)
        enforce_rate_limit(request, group="login", account=email)
        user = services.authenticate_credentials(request=request, email=email, password=password)
        auth.login(request, user)
        cart_services.cart_merge(token=cart_token, user=user)
        return user

    @strawberry_django.mutation(
        handle_django_errors=False, description="End the session. True when a session was ended."
    )
    def logout(self, info: strawberry.Info) -> bool:
        request = _request(info)
        was_signed_in = request.user.is_authenticated and not hasattr(request, "auth_token")
        auth.logout(request)
        return was_signed_in

    @strawberry_django.mutation(description="Create a bearer token (mobile, cross-origin apps).")
    def token_create(
        self,
        info: strawberry.Info,
        email: str,
        password: str,
        cart_token: Annotated[UUID | None, strawberry.argument(description=MERGE_HELP)] = None,
    ) -> AuthTokenPayload:
        request = _request(info)
        enforce_rate_limit(request, group="token-create", account=email)
        user = services.authenticate_credentials(request=request, email=email, password=password)
        token, key = services.token_create(user=user)
        cart_services.cart_merge(token=cart_token, user=user)
        return AuthTokenType.of(token, key)

    @strawberry_django.mutation(
        handle_django_errors=False, description="Revoke the bearer token this request carries."
    )
    def token_revoke(self, info: strawberry.Info) -> bool:
        token = getattr(_request(info), "auth_token", None)
        if token is None:
            return False
        services.token_revoke(token=token)
        return True

    @strawberry_django.mutation(
        handle_django_errors=False,
        description="Email a password reset link. True whether or not the account exists.",
    )
    def password_reset_request(self, info: strawberry.Info, email: str) -> bool:
        try:
            enforce_rate_limit(
                _request(info), group="password-reset", account=email, fail_closed=True
            )
        except ValidationError as error:  # a Boolean field has no payload: a top-level error
            raise PublicError(error.messages[0], code=CoreErrorCode.RATE_LIMITED) from None
        services.password_reset_request(email=email)
        return True

    @strawberry_django.mutation(description="Set a new password from a reset link's uid and token.")
    def password_reset_confirm(
        self, info: strawberry.Info, uid: str, token: str, new_password: str
    ) -> UserPayload:
        enforce_rate_limit(_request(info), group="password-reset-confirm", account=uid)
        return services.password_reset_confirm(uid=uid, token=token, new_password=new_password)

    @strawberry_django.mutation(
        extensions=[IsAuthenticated()],
        description="Change the password; every other bearer token of the account is revoked.",
    )
    def password_change(
        self, info: strawberry.Info, old_password: str, new_password: str
    ) -> UserPayload:
        request = _request(info)
        user = services.password_change(
            user=request.user,
            old_password=old_password,
            new_password=new_password,
            keep_token=getattr(request, "auth_token", None),
        )
        if not hasattr(request, "auth_token"):
            auth.update_session_auth_hash(request, user)
        return user

    @strawberry_django.mutation(extensions=[IsAuthenticated()])
    def account_update(self, info: strawberry.Info, input: AccountUpdateInput) -> UserPayload:
        return services.account_update(
            user=_request(info).user,
            first_name=input.first_name,
            last_name=input.last_name,
            phone=input.phone,
        )

    @strawberry_django.mutation(extensions=[IsAuthenticated()])
    def address_create(
        self,
        info: strawberry.Info,
        input: AddressInput,
        set_default_shipping: bool = False,
        set_default_billing: bool = False,
    ) -> AddressPayload:
        return services.address_create(
            user=_request(info).user,
            data=strawberry.asdict(input),
            set_default_shipping=set_default_shipping,
            set_default_billing=set_default_billing,
        )

    @strawberry_django.mutation(
        extensions=[IsAuthenticated()],
        description="Change an address of yours: the fields in `changes` (or all of them, "
        "with the older `input`).",
    )
    def address_update(
        self,
        info: strawberry.Info,
        id: relay.GlobalID,
        changes: AddressUpdateInput | None = None,
        input: Annotated[
            AddressInput | None,
            strawberry.argument(
                deprecation_reason="Use `changes`: it takes only the fields that change."
            ),
        ] = None,
    ) -> AddressPayload:
        if (changes is None) == (input is None):
            raise ValidationError(
                "Give `changes` (or the older `input`).", code=CoreErrorCode.REQUIRED
            )
        given = strawberry.asdict(changes if changes is not None else input)
        data = {name: value for name, value in given.items() if value is not strawberry.UNSET}
        return services.address_update(address=_own_address(info, id), data=data)

    @strawberry_django.mutation(
        extensions=[IsAuthenticated()],
        description="Make an address of yours your default shipping and/or billing address.",
    )
    def address_set_default(
        self,
        info: strawberry.Info,
        id: relay.GlobalID,
        shipping: bool = False,
        billing: bool = False,
    ) -> AddressPayload:
        return services.address_set_default(
            address=_own_address(info, id), shipping=shipping, billing=billing
        )

    @strawberry_django.mutation(extensions=[IsAuthenticated()])
    def address_delete(self, info: strawberry.Info, id: relay.GlobalID) -> AddressPayload:
        return services.address_delete(address=_own_address(info, id))
