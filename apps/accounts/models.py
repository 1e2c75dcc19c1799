import hashlib

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.core.validators import RegexValidator
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django_countries import countries

from apps.core.models import TimeStampedModel
from apps.core.validation import fold

phone_validator = RegexValidator(
    r"^\+?[0-9 ()\-.]{6,20}$", "Enter a valid phone number.", code="invalid"
)


def validate_country(value: str) -> None:
    from django.core.exceptions import ValidationError

    if value not in countries:
        raise ValidationError(
            "Enter an ISO 3166-1 alpha-2 country code, such as US or FR.", code="invalid"
        )


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **extra) -> "User":
        if not email:
            raise ValueError("An email is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra) -> "User":
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self.create_user(email, password, **extra)

    def get_by_natural_key(self, username: str | None) -> "User":
        # Emails are unique by their folded key, so this finds at most one.
        return self.get(email_key=email_key(username or ""))


def email_key(email: str) -> str:
    """What identifies an account by its email: NFKC-normalised and case-folded."""
    return fold(email)


class User(AbstractBaseUser, PermissionsMixin):
    """A customer or a staff member. The email is the login, stored lower-cased; look-ups,
    rate limits and uniqueness go by its folded key (``email_key``), so that a look-alike
    spelling (a long s for an s) is the same account, never a second one."""

    email = models.EmailField(unique=True)
    email_key = models.CharField(max_length=254, unique=True, editable=False)
    first_name = models.CharField(max_length=150, blank=True)
    last_name = models.CharField(max_length=150, blank=True)
    phone = models.CharField(max_length=32, blank=True, validators=[phone_validator])
    is_staff = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)
    date_joined = models.DateTimeField(default=timezone.now, db_index=True)
    default_shipping_address = models.ForeignKey(
        "accounts.Address", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    default_billing_address = models.ForeignKey(
        "accounts.Address", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        ordering = ["-date_joined"]
        constraints = [
            models.UniqueConstraint(Lower("email"), name="accounts_user_email_ci_unique"),
        ]

    def __str__(self) -> str:
        return self.email

    def clean(self) -> None:
        # Forms (the Django admin) bypass create_user: keep the stored email lower-cased.
        super().clean()
        self.email = type(self).objects.normalize_email(self.email).lower()

    def save(self, *args, **kwargs) -> None:
        self.email_key = email_key(self.email)
        if kwargs.get("update_fields") is not None and "email" in kwargs["update_fields"]:
            kwargs["update_fields"] = {*kwargs["update_fields"], "email_key"}
        super().save(*args, **kwargs)

    def get_full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


class Address(TimeStampedModel):
    """An entry of a user's address book. Orders copy addresses; they never point here."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="addresses")
    full_name = models.CharField(max_length=255)
    line1 = models.CharField(max_length=255)
    line2 = models.CharField(max_length=255, blank=True)
    city = models.CharField(max_length=128)
    region = models.CharField(max_length=128, blank=True)
    postal_code = models.CharField(max_length=32)
    country = models.CharField(max_length=2, validators=[validate_country])
    phone = models.CharField(max_length=32, blank=True, validators=[phone_validator])

    MAX_PER_USER = 30

    class Meta:
        ordering = ["id"]
        verbose_name_plural = "addresses"

    def __str__(self) -> str:
        return f"{self.full_name}, {self.line1}, {self.city} {self.country}"


class AuthTokenQuerySet(models.QuerySet["AuthToken"]):
    def active(self) -> "AuthTokenQuerySet":
        return self.filter(revoked_at__isnull=True, expires_at__gt=timezone.now())


class AuthToken(models.Model):
    """An opaque bearer token. Only its SHA-256 digest is stored."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="auth_tokens")
    key_digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = AuthTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"token {self.key_digest[:8]}… of {self.user_id}"

    @staticmethod
    def digest(key: str) -> str:
        return hashlib.sha256(key.encode()).hexdigest()

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None and self.expires_at > timezone.now()
