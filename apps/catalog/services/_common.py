"""What the catalog's services share: coded errors, slugs, SKUs and prices checked."""

from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_slug
from django.db import models
from django.utils.text import slugify

from apps.catalog.errors import CatalogErrorCode
from apps.catalog.models import ProductVariant
from apps.core.errors import CoreErrorCode

UNSET: Any = object()  # an argument not given (``None`` may be a value: no parent)


def error(field: str, message: str, code: str) -> ValidationError:
    return ValidationError({field: ValidationError(message, code=code)})


def unique_slug(
    model: type[models.Model], *, wanted: str | None, name: str, exclude_pk: int | None = None
) -> str:
    """The given slug, checked; or one derived from the name, made unique with a suffix."""
    taken = model._default_manager.exclude(pk=exclude_pk)
    if wanted:
        wanted = wanted.strip().lower()
        try:
            validate_slug(wanted)
        except ValidationError:
            raise error(
                "slug", "Use letters, numbers, hyphens and underscores only.", CoreErrorCode.INVALID
            ) from None
        if taken.filter(slug=wanted).exists():
            raise error("slug", "This slug is already used.", CatalogErrorCode.SLUG_TAKEN)
        return wanted
    base = slugify(name)[:120] or "item"
    slug, n = base, 2
    while taken.filter(slug=slug).exists():
        slug, n = f"{base}-{n}", n + 1
    return slug


def check_sku(sku: str, *, field: str, exclude_pk: int | None = None) -> str:
    sku = (sku or "").strip()
    if sku and ProductVariant.objects.exclude(pk=exclude_pk).filter(sku__iexact=sku).exists():
        raise error(field, f"The SKU {sku} is already used.", CatalogErrorCode.SKU_TAKEN)
    return sku


def parse_price(value: Any, *, field: str) -> Decimal:
    try:
        price = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise error(field, "Enter a valid price.", CoreErrorCode.INVALID) from None
    if not price.is_finite() or price <= 0:
        raise error(field, "The price must be greater than zero.", CoreErrorCode.INVALID)
    return price
