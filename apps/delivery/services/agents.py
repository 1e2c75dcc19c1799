"""The shop's couriers: made from an account (or an email, which invites a new one), kept
in the ``Delivery agent`` group, deactivated rather than deleted."""

from django.contrib.auth.models import Group, Permission
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from apps.accounts import services as account_services
from apps.accounts.models import User, email_key, phone_validator
from apps.core.errors import CoreErrorCode
from apps.core.tasks import enqueue_on_commit
from apps.core.validation import clean_text

from .. import tasks
from ..errors import DeliveryErrorCode
from ..models import DeliveryAgent

GROUP_NAME = "Delivery agent"
VEHICLE_MAX_LENGTH = 64


def _error(field: str, message: str, code: str) -> ValidationError:
    return ValidationError({field: ValidationError(message, code=code)})


def _phone(value: str | None) -> str:
    phone = (value or "").strip()
    if not phone:
        raise _error("phone", "Give the number the buyer may call.", CoreErrorCode.REQUIRED)
    try:
        phone_validator(phone)
    except ValidationError:
        raise _error(
            "phone", "Enter a phone number such as +33 6 12 34 56 78.", CoreErrorCode.INVALID
        ) from None
    return phone


def _vehicle(value: str | None) -> str:
    vehicle = clean_text(value, field="vehicle", max_length=VEHICLE_MAX_LENGTH)
    if not vehicle:
        raise _error("vehicle", "Say how they travel (bicycle, van...).", CoreErrorCode.REQUIRED)
    return vehicle


def _user_by_email(email: str, *, first_name: str, last_name: str) -> User:
    """The account with this email, or a new one, invited to choose its password."""
    email = account_services.normalize_email(email)
    user = User.objects.filter(email_key=email_key(email)).first()
    if user is not None:
        return user
    user = User.objects.create_user(
        email,
        password=None,
        first_name=clean_text(first_name, field="firstName", max_length=150),
        last_name=clean_text(last_name, field="lastName", max_length=150),
    )
    # The link sets their password. Not passwordResetRequest: it sends nothing to an account
    # without a password, which this one is.
    enqueue_on_commit(tasks.send_agent_invitation, user.pk)
    return user


@transaction.atomic
def agent_create(
    *,
    user: User | None = None,
    email: str | None = None,
    phone: str,
    vehicle: str,
    first_name: str = "",
    last_name: str = "",
) -> DeliveryAgent:
    """Make ``user`` (or the account of ``email``, created if there is none) a courier."""
    if (user is None) == (not email):
        raise _error("userId", "Give either userId or email.", CoreErrorCode.REQUIRED)
    phone, vehicle = _phone(phone), _vehicle(vehicle)
    field = "userId" if user is not None else "email"
    if user is None:
        user = _user_by_email(email, first_name=first_name, last_name=last_name)
    if not user.is_active:
        raise _error(field, "This account is deactivated.", CoreErrorCode.INVALID)
    try:
        with transaction.atomic():
            agent = DeliveryAgent.objects.create(user=user, phone=phone, vehicle=vehicle)
    except IntegrityError:
        raise _error(
            field, "This user is a delivery agent already.", DeliveryErrorCode.ALREADY_AN_AGENT
        ) from None
    user.groups.add(_agents_group())
    return agent


def _agents_group() -> Group:
    """The ``Delivery agent`` group (migration 0002_roles), with the one permission it needs:
    made again with it if it was deleted, so that a new courier can always deliver."""
    group, created = Group.objects.get_or_create(name=GROUP_NAME)
    if created:
        group.permissions.add(
            Permission.objects.get(content_type__app_label="delivery", codename="deliver")
        )
    return group


@transaction.atomic
def agent_update(
    *,
    agent: DeliveryAgent,
    phone: str | None = None,
    vehicle: str | None = None,
    is_active: bool | None = None,
) -> DeliveryAgent:
    """Change what is given; an inactive agent keeps their deliveries' history but takes no
    new one (and may not act on any)."""
    agent = DeliveryAgent.objects.select_for_update().select_related("user").get(pk=agent.pk)
    if phone is not None:
        agent.phone = _phone(phone)
    if vehicle is not None:
        agent.vehicle = _vehicle(vehicle)
    if is_active is not None:
        agent.is_active = is_active
    agent.save(update_fields=["phone", "vehicle", "is_active", "updated_at"])
    return agent
