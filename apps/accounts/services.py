"""Every write of the accounts domain: its rules, its transaction, its emails."""

import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import authenticate, password_validation
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.encoding import force_str
from django.utils.http import urlsafe_base64_decode

from apps.core.errors import CoreErrorCode
from apps.core.tasks import enqueue_on_commit
from apps.core.validation import full_clean

from . import tasks
from .errors import AccountErrorCode
from .models import Address, AuthToken, User, email_key

INVALID_CREDENTIALS_MESSAGE = "The email or password is incorrect."


def normalize_email(email: str) -> str:
    email = (email or "").strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        raise ValidationError(
            {"email": ValidationError("Enter a valid email address.", code=CoreErrorCode.INVALID)}
        ) from None
    return email


def _validate_password(password: str, *, user: User, field: str) -> None:
    try:
        password_validation.validate_password(password, user=user)
    except ValidationError as error:
        raise ValidationError(
            {
                field: ValidationError(
                    " ".join(error.messages), code=AccountErrorCode.PASSWORD_TOO_WEAK
                )
            }
        ) from None


def _email_taken() -> ValidationError:
    return ValidationError(
        {
            "email": ValidationError(
                "An account with this email already exists.", code=AccountErrorCode.EMAIL_TAKEN
            )
        }
    )


@transaction.atomic
def account_register(
    *, email: str, password: str, first_name: str = "", last_name: str = ""
) -> User:
    """Create a customer account; every field at fault is reported at once."""
    errors: dict[str, list[ValidationError]] = {}
    try:
        email = normalize_email(email)
    except ValidationError as error:
        errors.update(error.error_dict)
    else:
        if User.objects.filter(email_key=email_key(email)).exists():
            errors.update(_email_taken().error_dict)
    user = User(email=email, first_name=first_name.strip(), last_name=last_name.strip())
    for check in (
        lambda: _validate_password(password, user=user, field="password"),
        lambda: full_clean(user, exclude=["password", *errors]),
    ):
        try:
            check()
        except ValidationError as error:
            errors.update(error.error_dict)
    if errors:
        raise ValidationError(errors)
    user.set_password(password)
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError:  # a concurrent registration won the race
        raise _email_taken() from None
    enqueue_on_commit(tasks.send_welcome_email, user.pk)
    return user


def authenticate_credentials(*, request: HttpRequest | None, email: str, password: str) -> User:
    """The active user with these credentials; one message whatever was wrong."""
    user = authenticate(request, email=(email or "").strip(), password=password)
    if user is None:
        raise ValidationError(
            INVALID_CREDENTIALS_MESSAGE, code=AccountErrorCode.INVALID_CREDENTIALS
        )
    return user


def token_create(*, user: User) -> tuple[AuthToken, str]:
    """A new bearer token for ``user``; the clear key is returned once and never stored."""
    key = secrets.token_urlsafe(32)
    token = AuthToken.objects.create(
        user=user,
        key_digest=AuthToken.digest(key),
        expires_at=timezone.now() + timedelta(hours=settings.AUTH_TOKEN_TTL_HOURS),
    )
    User.objects.filter(pk=user.pk).update(last_login=timezone.now())
    return token, key


def token_authenticate(*, key: str) -> AuthToken | None:
    """The active token with this clear key, with its (active) user, or ``None``."""
    return (
        AuthToken.objects.active()
        .select_related("user")
        .filter(key_digest=AuthToken.digest(key), user__is_active=True)
        .first()
    )


def token_revoke(*, token: AuthToken) -> None:
    AuthToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())


def password_reset_request(*, email: str) -> None:
    """Email a reset link if an active account has this email; say nothing either way.

    The request does the same work whether or not the account exists (it enqueues the job;
    the job looks the account up), so its timing does not tell either.
    """
    enqueue_on_commit(tasks.send_password_reset_email, email_key(email or ""))


def _user_from_uid(uid: str) -> User | None:
    try:
        pk = int(force_str(urlsafe_base64_decode(uid)))
    except (TypeError, ValueError, OverflowError):
        return None
    return User.objects.filter(pk=pk, is_active=True).first()


@transaction.atomic
def password_reset_confirm(*, uid: str, token: str, new_password: str) -> User:
    user = _user_from_uid(uid)
    if user is None or not default_token_generator.check_token(user, token):
        raise ValidationError(
            {
                "token": ValidationError(
                    "This password reset link is invalid or has expired.",
                    code=AccountErrorCode.TOKEN_INVALID,
                )
            }
        )
    _validate_password(new_password, user=user, field="newPassword")
    user.set_password(new_password)
    user.save(update_fields=["password"])
    AuthToken.objects.filter(user=user, revoked_at__isnull=True).update(revoked_at=timezone.now())
    return user


@transaction.atomic
def password_change(
    *, user: User, old_password: str, new_password: str, keep_token: AuthToken | None = None
) -> User:
    """Change the password and revoke every other bearer token of the user."""
    if not user.check_password(old_password):
        raise ValidationError(
            {
                "oldPassword": ValidationError(
                    INVALID_CREDENTIALS_MESSAGE, code=AccountErrorCode.INVALID_CREDENTIALS
                )
            }
        )
    _validate_password(new_password, user=user, field="newPassword")
    user.set_password(new_password)
    user.save(update_fields=["password"])
    others = AuthToken.objects.filter(user=user, revoked_at__isnull=True)
    if keep_token is not None:
        others = others.exclude(pk=keep_token.pk)
    others.update(revoked_at=timezone.now())
    return user


@transaction.atomic
def account_update(
    *,
    user: User,
    first_name: str | None = None,
    last_name: str | None = None,
    phone: str | None = None,
) -> User:
    changes = {"first_name": first_name, "last_name": last_name, "phone": phone}
    fields = [name for name, value in changes.items() if value is not None]
    for name in fields:
        setattr(user, name, changes[name].strip())
    full_clean(user, exclude=["password", "email"])
    if fields:
        user.save(update_fields=fields)
    return user


ADDRESS_FIELDS = (
    "full_name",
    "line1",
    "line2",
    "city",
    "region",
    "postal_code",
    "country",
    "phone",
)


def _fill_address(address: Address, data: dict, *, prefix: str = "") -> Address:
    for name in ADDRESS_FIELDS:
        value = data.get(name)
        setattr(address, name, (value or "").strip())
    address.country = address.country.upper()
    full_clean(address, exclude=["user"], prefix=prefix)
    return address


def address_snapshot(data: dict, *, field: str | None = None) -> dict:
    """Validate an address given field by field; return the copy an order keeps.

    Errors name ``<field>.<name>`` (e.g. ``shippingAddress.country``) when ``field`` is given.
    """
    address = _fill_address(Address(), data, prefix=f"{field}." if field else "")
    return {name: getattr(address, name) for name in ADDRESS_FIELDS}


@transaction.atomic
def address_create(
    *, user: User, data: dict, set_default_shipping: bool = False, set_default_billing: bool = False
) -> Address:
    user = User.objects.select_for_update().get(pk=user.pk)
    if user.addresses.count() >= Address.MAX_PER_USER:
        raise ValidationError(
            f"An address book holds at most {Address.MAX_PER_USER} addresses.",
            code=AccountErrorCode.TOO_MANY_ADDRESSES,
        )
    address = _fill_address(Address(user=user), data)
    address.save()
    fields = []
    if set_default_shipping or user.default_shipping_address_id is None:
        user.default_shipping_address = address
        fields.append("default_shipping_address")
    if set_default_billing or user.default_billing_address_id is None:
        user.default_billing_address = address
        fields.append("default_billing_address")
    if fields:
        user.save(update_fields=fields)
    return address


@transaction.atomic
def address_update(*, address: Address, data: dict) -> Address:
    """Change the fields given in ``data`` (a field left out keeps its value)."""
    current = {name: getattr(address, name) for name in ADDRESS_FIELDS}
    changes = {name: value for name, value in data.items() if name in ADDRESS_FIELDS}
    address = _fill_address(address, {**current, **changes})
    address.save()
    return address


@transaction.atomic
def address_set_default(
    *, address: Address, shipping: bool = False, billing: bool = False
) -> Address:
    """Make ``address`` its owner's default shipping and/or billing address."""
    if not (shipping or billing):
        raise ValidationError(
            "Say which default to set: shipping, billing or both.", code=CoreErrorCode.REQUIRED
        )
    user = User.objects.select_for_update().get(pk=address.user_id)
    fields = []
    if shipping:
        user.default_shipping_address = address
        fields.append("default_shipping_address")
    if billing:
        user.default_billing_address = address
        fields.append("default_billing_address")
    user.save(update_fields=fields)
    return address


@transaction.atomic
def address_delete(*, address: Address) -> Address:
    pk = address.pk
    address.delete()  # the user's defaults pointing here are set to NULL
    address.pk = pk  # so that the payload still names what was deleted
    return address
